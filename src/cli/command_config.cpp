#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"

namespace ploutos::cli {

void add_config_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("config", "Show, check and list configuration files");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n"
      "  ploutos config show --config v6_better_timing.yaml\n"
      "  ploutos config show --config quickstart --json\n"
      "  ploutos config validate config/*.yaml\n"
      "  ploutos config list");

  auto* show = cmd->add_subcommand(
      "show", "Print the effective config (file values over built-in defaults) as YAML, or JSON with --json");
  auto comments = std::make_shared<bool>(false);
  show->add_flag("--comments", *comments, "Explain each key in a YAML comment");
  show->footer(
      "Examples:\n  ploutos config show\n  ploutos config show --config v6_better_timing.yaml --comments\n  ploutos "
      "--json config show --config quickstart");
  show->callback([&globals, comments] {
    globals.action = [&globals, comments]() -> int {
      const auto config = load_effective_config(globals);
      std::cout << (globals.json ? config::to_json(config) + "\n" : config::to_yaml(config, *comments));
      return 0;
    };
  });

  auto* check = cmd->add_subcommand(
      "validate",
      "Load and validate config files: every problem of every file as file:line: key: problem; exit 2 if any");
  auto files = std::make_shared<std::vector<std::string>>();
  check->add_option("files", *files, "Config files (paths or bare names as for --config)")->required();
  check->footer("Examples:\n  ploutos config validate config/*.yaml\n  ploutos config validate quickstart");
  check->callback([&globals, files] {
    globals.action = [files]() -> int {
      int code = kExitOk;
      for (const auto& name : *files) {
        try {
          const auto path = config::resolve_config_path(name);
          config::load_config_file(path);
          std::cout << path.string() << ": ok\n";
        } catch (const ConfigError& e) {
          for (const auto& problem : e.problems()) std::cerr << problem << "\n";
          code = kExitUsage;
        } catch (const Error& e) {  // a file that cannot be found or read
          std::cerr << e.what() << "\n";
          code = kExitUsage;
        }
      }
      return code;
    };
  });

  auto* list = cmd->add_subcommand("list", "List the config files found in the config directories");
  list->callback([&globals] {
    globals.action = [&globals]() -> int {
      std::vector<std::string> names;
      std::string where;
      for (const auto& dir : config::config_search_dirs()) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) continue;
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
          const auto ext = entry.path().extension();
          if (ext == ".yaml" || ext == ".yml") names.push_back(entry.path().filename().string());
        }
        where = dir.lexically_normal().string();
        break;
      }
      std::sort(names.begin(), names.end());
      if (globals.json) {
        std::cout << json_text(nlohmann::json{{"dir", where}, {"configs", names}}, 2) << "\n";
      } else {
        std::cout << (where.empty() ? "no config directory found" : where + ":") << "\n";
        for (const auto& n : names) std::cout << "  " << n << "\n";
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
