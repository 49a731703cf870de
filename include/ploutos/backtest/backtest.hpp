#pragma once
// Backtests: a decision function (the trained agent or a baseline) stepped through the same
// environment, cost model and fill rules over a window of the market, with after-cost metrics.
// Baselines run through the same engine and costs. Outputs: summary.json, equity.csv, trades.csv.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ploutos/agent/agent.hpp"
#include "ploutos/config/config.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/env/trading_env.hpp"
#include "ploutos/risk/metrics.hpp"
#include "ploutos/rl/decision_precision.hpp"

namespace ploutos::backtest {

using Decide = std::function<void(std::span<const float> obs, std::span<std::int32_t> actions)>;

// A model with the config it was trained with (from its manifest) and that config's market,
// checked for compatibility. `data` overrides the data location ("synthetic" for the built-in
// market); `adjust` edits the config before the market is loaded (--costs, --fill); `precision`
// is how the agent computes its decisions (--decision-precision).
struct ModelWithMarket {
  std::unique_ptr<agent::Agent> agent;
  config::Config config;  // the model's config after `adjust`
  env::LoadedMarket market;
};
ModelWithMarket load_model_with_market(const std::string& model_path, const std::string& data,
                                       const std::function<void(config::Config&)>& adjust = {},
                                       rl::DecisionPrecision precision = rl::DecisionPrecision::kFloat32);

// Bars a year for annualising: 252 sessions times the market's bars a session (1 daily, 7 hourly,
// 2 four-hourly).
double periods_per_year(const env::MarketData& market);

// The window of the last `sessions` trading days (`--days`, backtest.days): [first, last], where
// `last` is the last tradable bar and `first` the last bar of the session `sessions` sessions
// before last's, the bar the first decision is made on. Daily bars: last - sessions. Hourly bars:
// every bar of the last `sessions` sessions. All tradable bars when the market has fewer sessions.
std::pair<std::size_t, std::size_t> last_sessions(const env::MarketData& market, std::size_t sessions);
// The same window ending at bar `last` instead of the last tradable bar: its first bar.
std::size_t sessions_before(const env::MarketData& market, std::size_t last, std::size_t sessions);

struct StrategyResult {
  std::string name;
  risk::Metrics metrics;
  double costs = 0;            // USD paid to the cost model
  std::vector<double> equity;  // per bar of the window, from the first bar
  std::vector<env::FillRecord> fills;
  double activity = 0;                         // share of (ticker, step) decisions that were not HOLD
  std::size_t holds = 0, buys = 0, sells = 0;  // decisions taken (valid or not)
  std::vector<std::size_t> decision_bars;      // the bar of each step's decision
  std::vector<std::int8_t> decisions;          // [step][ticker] actions as decided
};

// What of a backtest window the model saw before, by bar time, from its manifest: the bars its
// training episodes used (`training_window`) and the validation bars whose evaluations chose it
// (`selection_window`, NAME.best.pt only). A window it saw is in-sample, and the report says so.
struct SeenByModel {
  bool known = false;              // the manifest records its windows (models from before 2026-12 did not)
  std::size_t window_bars = 0;     // bars whose moves the window earns: all but its first decision bar
  std::size_t trained_bars = 0;    // of them, inside the training window
  std::size_t selection_bars = 0;  // of them, inside the selection window
  std::string training_first, training_last;
  std::string model_data_source, data_source;  // the same dates of other data are other bars
};
SeenByModel seen_by_model(const std::string& manifest, const env::MarketData& market, const std::string& data_source,
                          std::size_t first, std::size_t last);
// One line for the user when the window is not wholly out of sample; "" when it is.
std::string seen_by_model_warning(const SeenByModel& seen);

struct BacktestResult {
  std::vector<std::string> tickers;
  std::vector<Instant> time;  // the window's bars
  std::size_t first_bar = 0;  // market bar of time[0]
  bool daily = true;
  bool optimistic = false;                     // fills at the decision bar's close
  std::string engine = "env";                  // env (the training environment) or broker (trader + SimBroker)
  std::string decision_precision = "float32";  // how the agent computed its decisions
  // Other than float32: the agent's ticker decisions compared with its float32 policy's, and how
  // many were the same (agent::Agent::compare_with_float32).
  agent::DecisionAgreement agreement_with_float32;
  StrategyResult agent;
  std::vector<StrategyResult> baselines;
  std::vector<std::vector<double>> close;  // [ticker][window bar], for the price charts
  SeenByModel seen;                        // set by the caller that knows the model
};

// Bars [first, last] of the market; features warm up on the bars before `first`.
// `env_seed` seeds the environment's own stream (the cost model's latency draws).
StrategyResult run_strategy(const std::shared_ptr<const env::MarketData>& market, env::EnvConfig config,
                            std::size_t first, std::size_t last, const std::string& name, const Decide& decide,
                            std::uint64_t env_seed = 0);

// The agent and the baselines: equal-weight buy-and-hold of the tickers, SPY buy-and-hold (when SPY
// is one of them) and a seeded random agent trading as often as the agent did.
// `agent_result`: the agent already run by another engine (the trader and SimBroker, `--engine
// broker`); the baselines then still run through the environment.
BacktestResult run_backtest(const std::shared_ptr<const env::MarketData>& market, const env::EnvConfig& config,
                            std::size_t first, std::size_t last, const Decide& agent, std::uint64_t seed,
                            const StrategyResult* agent_result = nullptr);

// The summary (keys: total_return, annual_return, volatility, sharpe, sortino, calmar, max_drawdown,
// max_drawdown_duration, win_rate, profit_factor, expectancy, turnover, trades, costs, ..., baselines).
std::string summary_json(const BacktestResult& result);
// summary.json, equity.csv, trades.csv into `dir` (atomically each).
void write_outputs(const BacktestResult& result, const std::string& dir);
// A readable table for the terminal.
std::string summary_table(const BacktestResult& result);
// One self-contained HTML page (inline SVG, no scripts, nothing fetched): equity of the agent and
// the baselines, the agent's drawdown, P&L per ticker, and each ticker's price with buy/sell marks.
std::string report_html(const BacktestResult& result);

}  // namespace ploutos::backtest
