#pragma once
// TradingEnv V6 "better timing": the seed's multi-ticker environment (shared/seed-spec.md, section 2)
// rebuilt with its weaknesses fixed behind switches. docs/environment.md has the observation layout,
// every reward term and the execution contract.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ploutos/core/rng.hpp"
#include "ploutos/costs/cost_model.hpp"
#include "ploutos/env/market.hpp"
#include "ploutos/risk/metrics.hpp"
#include "ploutos/risk/stops.hpp"

namespace ploutos {
class ByteWriter;
class ByteReader;
}  // namespace ploutos

namespace ploutos::env {

enum Action : std::int32_t { kHold = 0, kBuy = 1, kSell = 2 };
enum class Mode { kTrain, kEval, kBacktest };

struct EnvConfig {
  Mode mode = Mode::kTrain;
  // Bars episodes may use (0 = the market's first/last tradable bar): train/validation splits.
  std::size_t window_first = 0;
  std::size_t window_last = 0;
  double initial_balance = 100000;
  int max_steps = 2500;
  double buy_pct = 0.20;
  double max_position_pct = 0.25;
  int max_trades_per_day = 10;
  int min_holding_period = 2;
  int train_start_min = 100;  // train episodes start at a random offset in [this, max_steps / 2]

  // Reward (seed coefficients as defaults).
  double reward_scaling = 1.5;
  bool use_drawdown_penalty = true;
  double drawdown_threshold = 0.15;
  double drawdown_penalty_factor = 3.0;
  double penalty_overtrading = 0.005;
  int overtrading_free_actions = 2;
  double good_return_bonus = 0.3;
  double good_return_threshold = 0.01;  // step return above 1%
  double high_winrate_bonus = 0.2;
  double high_winrate_threshold = 0.6;
  int high_winrate_min_trades = 10;
  double reward_clip = 10.0;
  // Per-trade terms: computed by the seed but never added (seed: false).
  bool use_trade_rewards = false;
  double reward_buy_executed = 0.1;
  double reward_invalid_action = -0.01;
  double reward_trade_success = 0.5;  // a sell with a profit above 1%

  // Execution and the seed's behaviours, each switchable.
  bool fill_at_close = false;        // true: the seed's same-bar fill at the decision bar's close (optimistic)
  bool average_entry_price = true;   // false: the seed overwrote the entry price on a second buy
  bool cap_total_position = true;    // false: the seed capped each buy, not the position
  bool seed_day_counter = false;     // true: a "day" every 78 steps (the seed); false: NYSE sessions
  double bankruptcy_fraction = 0.5;  // equity below this share of the initial balance ends the episode
  double max_drawdown = 0.0;         // > 0: drawdown from the peak ends the episode

  // Sizing of a BUY: fixed_fraction (buy_pct of cash, the seed), kelly (capped fractional Kelly from
  // this episode's closed trades; buy_pct until 20 trades), vol_target (weight = target / the
  // ticker's annualised volatility); always capped by max_position_pct and max_gross_exposure.
  enum class Sizing { kFixedFraction, kKelly, kVolTarget } sizing = Sizing::kFixedFraction;
  double kelly_fraction = 0.5;
  double vol_target = 0.15;
  double max_gross_exposure = 1.0;
  // Breakers (0 = off): new BUYs are refused after this drawdown from the peak, or this loss within a day.
  double breaker_max_drawdown = 0.0;
  double breaker_daily_loss = 0.0;

  // Stops (0 = off), evaluated on each bar's open/high/low (risk/stops.hpp).
  double stop_loss_pct = 0.0;
  double take_profit_pct = 0.0;
  double trailing_stop_pct = 0.0;

  costs::CostParams costs;
  bool record_fills = false;  // keep every fill (backtests, diagnostics); off in training
};

// One executed order, as recorded with EnvConfig::record_fills.
struct FillRecord {
  std::size_t bar = 0;           // the bar whose price filled it
  std::size_t decision_bar = 0;  // the bar whose observation decided it (== bar for stop exits)
  std::size_t ticker = 0;
  bool buy = true;
  double quantity = 0;
  double price = 0;  // per share after costs
  double fees = 0;
  double pnl = 0;                   // sells: proceeds - cost basis
  const char* reason = "decision";  // decision | stop_loss | take_profit | trailing_stop
};

struct StepInfo {
  double equity = 0;
  double cash = 0;
  double step_return = 0;
  double drawdown = 0;
  int fills = 0;  // orders filled this step (stops included)
  int invalid_actions = 0;
  int stop_exits = 0;
  double costs_paid = 0;  // USD this step
  std::size_t bar = 0;    // the bar the observation now shows
};

// What the observation shows of a portfolio besides its positions.
struct PortfolioState {
  double cash = 0;
  double equity = 0;
  double peak_equity = 0;
  double initial_balance = 1;
};

// Features of `bar` for every ticker, then position weights, cash share, return since the start and
// drawdown from the peak (docs/environment.md); `quantity_of(k)` gives the shares held of ticker k.
// The environment and the live Agent both build observations here, so trading sees what training saw.
template <class QuantityOf>
void write_observation(const MarketData& m, std::size_t bar, QuantityOf&& quantity_of, const PortfolioState& p,
                       std::span<float> obs) {
  const std::size_t nf = m.n_tickers * m.n_features;
  std::memcpy(obs.data(), m.features.data() + bar * nf, nf * sizeof(float));
  const double equity = p.equity > 0 ? p.equity : 1e-9;
  for (std::size_t k = 0; k < m.n_tickers; ++k) {
    const double value = quantity_of(k) * m.close[m.at(bar, k)];
    obs[nf + k] = static_cast<float>(std::clamp(value / equity, 0.0, 1.0));
  }
  obs[nf + m.n_tickers] = static_cast<float>(std::clamp(p.cash / equity, 0.0, 1.0));
  obs[nf + m.n_tickers + 1] = static_cast<float>(std::clamp(p.equity / p.initial_balance - 1.0, -1.0, 5.0));
  obs[nf + m.n_tickers + 2] =
      static_cast<float>(std::clamp(p.peak_equity > 0 ? 1.0 - p.equity / p.peak_equity : 0.0, 0.0, 1.0));
}

class TradingEnv {
 public:
  TradingEnv(std::shared_ptr<const MarketData> market, EnvConfig config);

  std::size_t obs_dim() const { return obs_dim_; }
  std::size_t n_tickers() const { return market_->n_tickers; }

  // Starts an episode; writes the first observation into `obs` (obs_dim floats).
  void reset(std::uint64_t seed, std::span<float> obs);
  // Continues with this env's own stream (VecEnv auto-reset).
  void reset(std::span<float> obs);
  // One decision per ticker (0 HOLD, 1 BUY, 2 SELL). Writes the next observation; returns the reward.
  float step(std::span<const std::int32_t> actions, std::span<float> obs, bool& terminated, bool& truncated);

  const StepInfo& info() const { return info_; }
  const std::vector<risk::ClosedTrade>& closed_trades() const { return trades_; }
  const std::vector<FillRecord>& fills() const { return fills_; }
  double traded_notional() const { return traded_notional_; }
  double total_costs() const { return total_costs_; }
  const std::vector<double>& equity_curve() const { return equity_curve_; }
  std::size_t bar() const { return bar_; }
  double position_quantity(std::size_t ticker) const { return positions_[ticker].quantity; }
  double cash() const { return cash_; }
  // True when fills use the decision bar's close: results are optimistic and must be marked so.
  bool optimistic() const { return config_.fill_at_close; }

  // Everything an episode has changed (portfolio, counters, trades, the random stream), so that a
  // resumed training continues it. The market and the config are not in it: restore into an env
  // built from the same ones. A state that does not fit this env throws InputError.
  void save_state(ByteWriter& out) const;
  void restore_state(ByteReader& in);

 private:
  struct Position {
    double quantity = 0;
    double entry_price = 0;  // per share, fees included
    double cost_basis = 0;   // USD, fees included
    std::size_t entry_bar = 0;
    long last_trade_step = -1000000;
    risk::StopLevels stops;
    risk::StopState stop_state;
  };

  void start_episode(std::span<float> obs);
  void write_observation(std::span<float> obs) const;
  double mark_equity(std::size_t bar) const;
  double buy_amount(std::size_t ticker, std::size_t decision_bar) const;
  void execute(std::size_t ticker, std::int32_t action, std::size_t decision_bar, double& trade_reward);
  void sell(std::size_t ticker, double reference_price, std::size_t fill_bar, std::size_t context_bar,
            double& trade_reward, const char* reason = "decision");

  std::shared_ptr<const MarketData> market_;
  EnvConfig config_;
  costs::CostModel cost_model_;
  std::size_t obs_dim_;
  Rng rng_;

  std::size_t bar_ = 0;
  std::size_t start_bar_ = 0;
  int steps_ = 0;
  double cash_ = 0;
  double equity_ = 0;
  double peak_equity_ = 0;
  double day_start_equity_ = 0;
  int trades_today_ = 0;
  Day current_day_{};
  int wins_ = 0;
  int sells_ = 0;
  double win_sum_ = 0, loss_sum_ = 0;
  std::vector<Position> positions_;
  std::vector<risk::ClosedTrade> trades_;
  std::vector<FillRecord> fills_;
  double traded_notional_ = 0;
  double total_costs_ = 0;
  std::vector<double> equity_curve_;
  StepInfo info_;
};

}  // namespace ploutos::env
