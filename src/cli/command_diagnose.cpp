#include "cli.hpp"

namespace ploutos::cli {

void add_diagnose_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string model, out;
    int days = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("diagnose", "Why a model wins or fails: buy-low vs buy-high timing, MAE/MFE, per-ticker P&L");
  cmd->add_option("--model", o->model, "Model file");
  cmd->add_option("--days", o->days, "Window of recent sessions");
  cmd->add_option("--out", o->out, "Report directory");
  cmd->footer("Examples:\n  ploutos diagnose --model data/models/brain_tech.pt --days 90");
  not_implemented(*cmd, globals, "ploutos diagnose (issue #6)", o);
}

}  // namespace ploutos::cli
