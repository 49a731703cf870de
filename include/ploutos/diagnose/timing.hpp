#pragma once
// Why an agent wins or fails, above all its buy timing (the seed's agent bought high 85% of the
// time). Definitions as the seed's analyze_why_fails_v6 (shared/seed-spec.md, section 5), applied
// to after-cost fill prices.
#include <map>
#include <string>
#include <vector>

#include "ploutos/backtest/backtest.hpp"
#include "ploutos/diagnose/suggestions.hpp"
#include "ploutos/env/market.hpp"

namespace ploutos::diagnose {

struct TickerTiming {
  std::string ticker;
  std::size_t buys = 0, buys_low = 0, sells = 0, sells_high = 0, closed = 0, wins = 0;
  double pnl = 0;
};

struct ActionCounts {
  std::size_t hold = 0, buy = 0, sell = 0;
};

// A feature's mean at good (buy-low) and bad (buy-high) entries of the ticker bought, and the
// standardised difference (good - bad) / pooled standard deviation.
struct FeatureDifference {
  std::string feature;
  double mean_good = 0, mean_bad = 0, effect = 0;
};

struct TimingReport {
  std::size_t horizon = 10;                    // bars after the decision whose mean close judges it
  std::string decision_precision = "float32";  // how the agent computed its decisions
  double threshold = 0.01;                     // a buy is "low" when that mean is above fill x (1 + threshold)
  std::size_t buys = 0, buys_low = 0, sells = 0, sells_high = 0, unclassified = 0;
  std::size_t judged_buys = 0, judged_sells = 0;  // fills with `horizon` bars of data after their decision
  double buy_quality = 0;                         // buys_low / classified buys
  double sell_quality = 0;                        // sells_high / classified sells
  double mean_entry_percentile =
      0;  // where buys filled within the 20 bars' low..high before the decision (0 low, 1 high)
  // Where buys filled within the low..high of the `horizon` bars before and after the decision
  // (hindsight: 0 bought at the local low, 1 at the local high).
  double mean_entry_position = 0;
  std::size_t holds = 0, buy_decisions = 0, sell_decisions = 0;
  // Round trips (first buy from flat .. the sell that closes), against the average entry price:
  // maximum adverse and favourable excursion over the bars held (lows and highs), and the return taken.
  std::size_t round_trips = 0;
  double mean_mae = 0;           // mean of min(low) / entry - 1 (<= 0)
  double mean_mfe = 0;           // mean of max(high) / entry - 1 (>= 0)
  double mean_exit_return = 0;   // mean of exit fill / entry - 1
  double mean_holding_bars = 0;  // bars from the first buy to the closing sell
  std::string verdict;
  std::vector<TickerTiming> per_ticker;
  // Costs paid over all fills, the net P&L (after costs) of the closed round trips, and the share
  // of costs: costs / (costs + |closed_pnl|).
  double costs = 0;
  double closed_pnl = 0;
  double cost_share = 0;
  std::vector<Suggestion> suggestions;  // the losing-trade analysis (suggestions.hpp)
  // Decisions per ticker and market regime (bull/bear/sideways: the benchmark's return over the 63
  // bars up to the decision, beyond +-5%; causal).
  std::vector<std::pair<std::string, std::map<std::string, ActionCounts>>> actions_by_regime;
  std::vector<FeatureDifference> feature_differences;  // the 10 largest |effect|, largest first
  std::vector<double> entry_percentiles;               // per buy, for the histogram
  backtest::SeenByModel seen;                          // what of the window the model trained on (set by the caller)
};

// The regime at `bar` from the benchmark's (or the equal-weight index's) trailing return.
std::string trailing_regime(const env::MarketData& market, std::size_t bar, const std::string& benchmark,
                            std::size_t lookback = 63, double threshold = 0.05);

TimingReport analyze_timing(const env::MarketData& market, const backtest::StrategyResult& run,
                            std::size_t horizon = 10, double threshold = 0.01, const CurrentSettings& settings = {},
                            const std::string& benchmark = "SPY");

// The strategy's fills as the suggestion engine's events (ticker names from the market).
std::vector<FillEvent> fill_events(const env::MarketData& market, const backtest::StrategyResult& run);

std::string to_json(const TimingReport& report);
std::string to_text(const TimingReport& report);
// Self-contained page (inline SVG): buy timing per ticker, entry percentiles, feature differences,
// actions by regime, suggestions.
std::string to_html(const TimingReport& report);

}  // namespace ploutos::diagnose
