#pragma once
// How far a backtest result can be trusted (the seed's backtest_reliability, extended): the same
// model over detected bull, bear and sideways windows; over seeds of the stochastic parts (the
// policy's sampled actions and the cost model's latency draws); a block-bootstrap confidence
// interval of the Sharpe ratio; and the result with one more bar of execution delay. An edge that
// does not survive one bar of delay is flagged as suspicious. docs/backtest.md.
#include <functional>
#include <string>
#include <vector>

#include "ploutos/backtest/backtest.hpp"
#include "ploutos/backtest/walk_forward.hpp"

namespace ploutos::backtest {

struct ReliabilitySpec {
  std::size_t first = 0, last = 0;   // the main window (market bars)
  std::size_t regime_sessions = 63;  // length of a regime window (about three months), in sessions
  double trend_threshold = 0.05;     // benchmark return over a window: above +5% bull, below -5% bear
  std::size_t windows_per_regime = 2;
  std::string benchmark = "SPY";  // equal-weight of all tickers when absent
  int seeds = 5;
  double latency_sd = 0.0002;  // at least this latency noise in the seeded runs (the seed's value)
  int bootstrap_samples = 2000;
  std::size_t bootstrap_block = 5;
  std::uint64_t seed = 42;
};

struct RegimeWindow {
  std::string regime;  // bull | bear | sideways
  std::size_t first = 0, last = 0;
  double benchmark_return = 0;
  risk::Metrics agent, buy_and_hold;
};

struct ReliabilityResult {
  risk::Metrics base;  // the main window, deterministic policy
  std::vector<RegimeWindow> regimes;
  std::vector<double> seed_sharpes, seed_returns;
  Summary sharpe_over_seeds, return_over_seeds;
  double sharpe_ci_low = 0, sharpe_ci_high = 0;  // 95%, moving-block bootstrap of bar returns
  risk::Metrics delayed;                         // decisions executed one bar later
  bool suspicious = false;
  std::string verdict;
};

using Sampler = std::function<void(std::span<const float> obs, std::span<std::int32_t> actions, Rng& rng)>;

ReliabilityResult run_reliability(const std::shared_ptr<const env::MarketData>& market, const env::EnvConfig& config,
                                  const Decide& decide, const Sampler& sample, const ReliabilitySpec& spec);

// The bars of the market split into consecutive windows of `bars` from the end, each labelled by
// the benchmark's return over it.
std::vector<RegimeWindow> detect_regimes(const env::MarketData& market, std::size_t bars, double threshold,
                                         const std::string& benchmark);

// 2.5% and 97.5% quantiles of the annualised Sharpe ratio over moving-block bootstrap resamples.
std::pair<double, double> bootstrap_sharpe_ci(const std::vector<double>& equity, int samples, std::size_t block,
                                              double periods_per_year, std::uint64_t seed);

// Decisions taken on bar t executed one bar later than the fill rule says (HOLD on the first bar).
Decide delayed_by_one_bar(Decide decide, std::size_t n_tickers);

std::string reliability_json(const ReliabilityResult& result, const env::MarketData& market);
std::string reliability_text(const ReliabilityResult& result, const env::MarketData& market);

}  // namespace ploutos::backtest
