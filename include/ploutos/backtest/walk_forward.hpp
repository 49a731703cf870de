#pragma once
// Walk-forward validation: K consecutive test windows at the end of the data; for each, a fresh agent
// per seed trained on the years before it only, with a gap of purge + embargo sessions between the
// training window's last bar and the test window's first, then evaluated out of sample through the
// backtest engine. Each (fold, seed) is saved as it finishes, so a rerun resumes. docs/backtest.md.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ploutos/backtest/backtest.hpp"
#include "ploutos/risk/metrics.hpp"

namespace ploutos::backtest {

struct WalkForwardSpec {
  int folds = 3;
  double train_years = 3;
  int test_months = 6;
  int purge_days = 5;    // sessions dropped after training: the reward horizon and episode ends
  int embargo_days = 5;  // further sessions dropped: serial correlation across the boundary
  int seeds = 3;
  std::int64_t timesteps = 0;  // per fold and seed; 0: training.total_timesteps
  int threads = 0;             // each training's; with jobs > 1 every training runs on one thread
  // Trainings side by side. A run's numbers do not depend on it: jobs > 1 gives the runs of
  // jobs 1 with threads 1.
  int jobs = 1;
  std::string out_dir = "reports/walk_forward";
  bool progress = true;
  // Set by SIGINT/SIGTERM: the training under way stops and is dropped, the finished runs stay in
  // out_dir/folds/ for the next run of the same walk-forward.
  const std::atomic<bool>* stop = nullptr;
};

struct FoldWindow {
  int fold = 0;
  std::size_t train_first = 0, train_last = 0;  // market bars, inclusive
  std::size_t test_first = 0, test_last = 0;
};

// The folds, oldest first. Throws InputError when the data cannot hold them (naming what is short).
std::vector<FoldWindow> plan_folds(const env::MarketData& market, const WalkForwardSpec& spec);

struct FoldRun {
  int fold = 0, seed = 0;
  std::uint64_t training_seed = 0;
  risk::Metrics agent, buy_and_hold;
  double costs = 0;
  std::vector<double> equity;  // the agent's, per test bar
  std::vector<double> buy_and_hold_equity;
  bool resumed = false;  // loaded from a previous run's file
};

struct Summary {
  double mean = 0, std = 0;  // sample standard deviation (n - 1)
};
Summary summarize(const std::vector<double>& values);

struct WalkForwardResult {
  WalkForwardSpec spec;
  std::vector<FoldWindow> windows;
  std::vector<FoldRun> runs;
  std::vector<Instant> time;  // market times (for reports)
  // Over all (fold, seed) runs: mean and sample standard deviation of the out-of-sample metrics.
  Summary total_return, sharpe, sortino, max_drawdown, win_rate, trades;
  double share_of_folds_beating_buy_and_hold = 0;  // fold mean over seeds vs buy-and-hold
  std::vector<double> oos_equity;                  // seeds averaged per fold, folds chained, starting at 1
  std::vector<double> oos_buy_and_hold;
  risk::DeflatedSharpe deflated;  // of the chained returns, trials = folds x seeds
  bool interrupted = false;  // stopped before every run finished: `runs` holds those that did, nothing is summarised
};

// `config` is the effective config (training.seed is the master seed); `market` the whole data.
WalkForwardResult run_walk_forward(const config::Config& config, const env::LoadedMarket& market,
                                   const WalkForwardSpec& spec);

std::string walk_forward_json(const WalkForwardResult& result);
std::string walk_forward_table(const WalkForwardResult& result);
// Self-contained page: the chained out-of-sample equity against buy-and-hold, and the fold table.
std::string walk_forward_html(const WalkForwardResult& result);

}  // namespace ploutos::backtest
