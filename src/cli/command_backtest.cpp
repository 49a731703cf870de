#include "cli.hpp"

namespace ploutos::cli {

void add_backtest_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string model, start, end, tickers, data, fill, costs, out;
    int days = 0, folds = 0, seeds = 0, purge_days = 0, embargo_days = 0, test_months = 0;
    double train_years = 0;
    bool walk_forward = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("backtest", "After-cost evaluation of a model against baselines; walk-forward validation");
  cmd->add_option("--model", o->model, "Model file, e.g. data/models/brain_tech.pt");
  cmd->add_option("--days", o->days, "Evaluate the last N sessions");
  cmd->add_option("--start", o->start, "First day of the window (YYYY-MM-DD)");
  cmd->add_option("--end", o->end, "Last day of the window (YYYY-MM-DD)");
  cmd->add_option("--tickers", o->tickers, "Comma-separated tickers (default: the model's)");
  cmd->add_option("--data", o->data, "Market-data directory");
  cmd->add_option("--fill", o->fill, "next_open (default) or close (optimistic, marked in every output)");
  cmd->add_option("--costs", o->costs, "Config file whose costs section replaces the model's");
  cmd->add_option("--out", o->out, "Report directory: summary.json, equity.csv, trades.csv, report.html");
  cmd->add_flag("--walk-forward", o->walk_forward, "Retrain per fold and seed, evaluate out of sample");
  cmd->add_option("--folds", o->folds, "Walk-forward folds");
  cmd->add_option("--train-years", o->train_years, "Training window per fold");
  cmd->add_option("--test-months", o->test_months, "Test window per fold");
  cmd->add_option("--purge-days", o->purge_days, "Gap removed between training and test");
  cmd->add_option("--embargo-days", o->embargo_days, "Gap after each test window");
  cmd->add_option("--seeds", o->seeds, "Seeds per fold");
  cmd->footer(
      "Examples:\n"
      "  ploutos backtest --model data/models/brain_tech.pt --days 90\n"
      "  ploutos backtest --walk-forward --config v6_better_timing.yaml --folds 5 --seeds 3");
  not_implemented(*cmd, globals, "ploutos backtest (issue #6)", o);
}

}  // namespace ploutos::cli
