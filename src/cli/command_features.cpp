#include "cli.hpp"

namespace ploutos::cli {

void add_features_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("features", "Feature engine: export feature matrices, list features");
  cmd->require_subcommand(1);
  struct Options {
    std::string tickers, out, feature_set;
  };
  auto o = std::make_shared<Options>();
  auto* exp = cmd->add_subcommand("export", "Write the causal feature matrix per ticker as CSV");
  exp->add_option("--tickers", o->tickers, "Comma-separated tickers (default: data.tickers)");
  exp->add_option("--feature-set", o->feature_set, "v2 or seed_v2");
  exp->add_option("--out", o->out, "Output directory");
  exp->footer("Examples:\n  ploutos features export --config quickstart --out data/features");
  not_implemented(*exp, globals, "ploutos features export (issue #4)", o);
}

}  // namespace ploutos::cli
