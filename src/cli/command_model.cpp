#include "cli.hpp"

namespace ploutos::cli {

void add_model_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("model", "Inspect model files");
  cmd->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto* info = cmd->add_subcommand("info", "Print a model's manifest (feature set, tickers, config, data hash, metrics)");
  info->add_option("path", *path, "Model file")->required();
  info->footer("Examples:\n  ploutos model info data/models/brain_tech.pt --json");
  not_implemented(*info, globals, "ploutos model info (issue #8)", path);
}

}  // namespace ploutos::cli
