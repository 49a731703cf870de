#pragma once
// The seed's autonomous pipeline (autonomous_config.yaml), honest about what it may see: the last
// `validation.test_days` sessions are held out for the acceptance test and nothing before it looks
// at them. Before that, in order: the market regime of a reference ticker, the selection of the
// most liquid candidates, a seeded random search of PPO hyper-parameters (each trial trained before
// a validation window of the same length as the test and scored on it), the final training on
// everything before the test window, and the acceptance test: out-of-sample Sharpe after costs at
// least `validation.min_sharpe`. docs/autonomous.md.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ploutos/config/config.hpp"
#include "ploutos/core/time.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/risk/metrics.hpp"

namespace ploutos::backtest {

struct Regime {
  std::string ticker;
  std::string as_of;  // the last session it saw
  int sessions = 0;   // sessions it measured (fewer than asked when the data is short)
  double total_return = 0;
  double volatility = 0;    // annualised, from session closes
  double close_vs_sma = 0;  // the last close against the mean close of the window, - 1
  std::string trend;        // bull | bear | sideways
  bool high_volatility = false;
};

// The regime of one ticker over the `sessions` sessions up to and including `as_of`'s:
// bull when the window's return is above +5% and the last close above the window's mean close,
// bear when below -5% and under the mean, sideways otherwise; high volatility above 25% a year.
Regime measure_regime(const data::BarSeries& series, int sessions, Instant as_of);

struct CandidateAsset {
  std::string ticker;
  double mean_volume = 0;         // shares a session over the lookback
  double mean_dollar_volume = 0;  // close x volume a session
  bool selected = false;
  std::string reason;  // why it was or was not selected
};

// The `selection.n_assets` candidates with the largest mean dollar volume among those whose mean
// volume (shares a session, over `sessions` sessions up to `as_of`) reaches `selection.min_volume`;
// the result keeps the candidates' order. InputError when none qualifies.
std::vector<CandidateAsset> select_assets(const std::vector<data::BarSeries>& candidates,
                                          const config::SelectionConfig& selection, int sessions, Instant as_of);

struct SearchTrial {
  int number = 0;  // 1 is the config's own values
  double learning_rate = 0, gamma = 0, gae_lambda = 0, clip_range = 0, ent_coef = 0;
  double validation_sharpe = 0, validation_return = 0;
  bool resumed = false;  // read from an earlier run's trial file instead of trained again
};

// Trial `number`'s hyper-parameters: number 1 is `ppo` as configured; the others are drawn from the
// stream of `seed` (learning rate and entropy coefficient log-uniform, the rest uniform).
SearchTrial search_trial(const config::PpoConfig& ppo, std::uint64_t seed, int number);

struct AutonomousSpec {
  std::string data_dir;              // as --data ("synthetic" forces the built-in market)
  std::int64_t timesteps = 0;        // final training; 0: training.total_timesteps
  std::int64_t trial_timesteps = 0;  // 0: autonomous.search.trial_timesteps, else timesteps / trials
  int trials = 0;                    // 0: autonomous.search.n_trials
  int threads = 0;
  std::string output;      // the accepted model; empty: training.output
  std::string report_dir;  // autonomous.json, each finished trial (trial_N.json) and the trainings' metrics
  bool progress = true;
  // Set by SIGINT/SIGTERM: the training in flight stops at its next update and the pipeline returns
  // `interrupted`. Finished trials are kept in report_dir, so the same command continues the search.
  const std::atomic<bool>* stop = nullptr;
};

struct Window {
  std::string first, last;  // bar times
  std::size_t bars = 0;
};

struct AutonomousResult {
  Regime regime;  // at the start of the acceptance test: what the pipeline knew when it chose
  std::vector<CandidateAsset> candidates;
  std::vector<std::string> tickers;  // selected
  Window training, validation, test;
  std::vector<SearchTrial> trials;  // empty when the search is off
  SearchTrial chosen;               // the hyper-parameters of the final model
  std::int64_t timesteps = 0, trial_timesteps = 0;
  risk::Metrics test_agent, test_buy_and_hold;
  double test_costs = 0;
  // 95% moving-block bootstrap interval of the test Sharpe: how little a short test window tells.
  double test_sharpe_ci_low = 0, test_sharpe_ci_high = 0;
  double min_sharpe = 0;
  bool accepted = false;
  bool interrupted = false;  // stopped by `stop`: no final model, no verdict
  std::string model_path;    // the accepted model, or NAME.rejected.pt beside where it would be
};

// Runs the whole pipeline on the effective `config` (data.tickers are the candidates).
AutonomousResult run_autonomous(const config::Config& config, const AutonomousSpec& spec);

std::string autonomous_json(const AutonomousResult& result);
std::string autonomous_text(const AutonomousResult& result);

}  // namespace ploutos::backtest
