#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

#include "cli.hpp"
#include "ploutos/core/time.hpp"
#include "ploutos/rl/ppo.hpp"

namespace ploutos::cli {

void add_model_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("model", "Inspect model files");
  cmd->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto* info =
      cmd->add_subcommand("info", "Print a model's manifest (feature set, tickers, config, data hash, metrics)");
  info->add_option("path", *path, "Model file")->required();
  info->footer(
      "Examples:\n  ploutos model info data/models/brain_tech.pt\n  ploutos model info data/models/brain_tech.pt "
      "--json");
  info->callback([&globals, path] {
    globals.action = [&globals, path]() -> int {
      const auto manifest = nlohmann::ordered_json::parse(rl::read_manifest(*path));
      if (globals.json) {
        std::cout << manifest.dump(2) << "\n";
        return 0;
      }
      std::cout << *path << "\n"
                << "  format        " << manifest.value("format_version", 0) << " (ploutos "
                << manifest.value("ploutos_version", "?") << ", git " << manifest.value("git_revision", "?") << ")\n"
                << "  feature set   " << manifest.value("feature_set", "?") << " (" << manifest["features"].size()
                << " features)\n"
                << "  tickers       ";
      const char* separator = "";
      for (const auto& t : manifest["tickers"]) std::cout << std::exchange(separator, " ") << t.get<std::string>();
      std::cout << "\n  obs_dim       " << manifest.value("obs_dim", 0) << "\n"
                << "  data          " << manifest.value("data_range", "?") << " (hash "
                << manifest.value("data_hash", "?") << ", " << manifest.value("data_source", "?") << ")\n";
      // The bars the model saw: backtests over them are in-sample.
      struct Window {
        const char *key, *label, *note;
      };
      for (const Window& window : {Window{"training_window", "  trained on    ", ""},
                                   Window{"selection_window", "  chosen on     ", ", validation"}}) {
        const auto& w = manifest.value(window.key, nlohmann::json());
        if (!w.is_object()) continue;
        std::cout << window.label << bar_time_text(w.value("first", "?")) << " .. "
                  << bar_time_text(w.value("last", "?")) << " (" << w.value("bars", 0) << " bars" << window.note
                  << ")\n";
      }
      std::cout << "  seed          " << manifest["seed"] << ", " << manifest.value("timesteps", 0) << " timesteps\n"
                << "  metrics\n";
      for (const auto& [key, value] : manifest["metrics"].items()) {
        if (value.is_number_float()) {
          std::printf("    %-22s %.6g\n", key.c_str(), value.get<double>());
        } else {
          std::printf("    %-22s %s\n", key.c_str(), value.dump().c_str());
        }
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
