#include "ploutos/env/trading_env.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ploutos/core/byte_stream.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/risk/sizing.hpp"

namespace ploutos::env {

TradingEnv::TradingEnv(std::shared_ptr<const MarketData> market, EnvConfig config)
    : market_(std::move(market)),
      config_(std::move(config)),
      cost_model_(config_.costs),
      obs_dim_(market_->n_tickers * market_->n_features + market_->n_tickers + 3),
      positions_(market_->n_tickers) {
  const std::size_t first = std::max(market_->first_bar, config_.window_first);
  const std::size_t last =
      config_.window_last > 0 ? std::min(market_->last_bar, config_.window_last) : market_->last_bar;
  if (last <= first) throw InputError("environment: the market window needs at least two tradable bars");
}

void TradingEnv::reset(std::uint64_t seed, std::span<float> obs) {
  rng_.reseed(seed);
  start_episode(obs);
}

void TradingEnv::reset(std::span<float> obs) {
  start_episode(obs);
}

void TradingEnv::start_episode(std::span<float> obs) {
  const std::size_t first = std::max(market_->first_bar, config_.window_first);
  const std::size_t last =
      config_.window_last > 0 ? std::min(market_->last_bar, config_.window_last) : market_->last_bar;
  const std::size_t span = last - first;  // bars available after the first
  std::size_t offset = 0;
  if (config_.mode == Mode::kTrain) {
    const auto lo = static_cast<std::size_t>(std::max(0, config_.train_start_min));
    const std::size_t hi = std::max(lo, static_cast<std::size_t>(std::max(0, config_.max_steps / 2)));
    offset = lo + static_cast<std::size_t>(rng_.uniform_int(static_cast<std::uint64_t>(hi - lo + 1)));
  } else if (config_.mode == Mode::kEval) {
    offset = static_cast<std::size_t>(std::max(0, config_.train_start_min));
  }
  // Short data: keep at least one step to take.
  if (offset >= span)
    offset = span > 1 ? static_cast<std::size_t>(rng_.uniform_int(static_cast<std::uint64_t>(span))) : 0;
  start_bar_ = bar_ = first + offset;
  steps_ = 0;
  cash_ = equity_ = peak_equity_ = day_start_equity_ = config_.initial_balance;
  trades_today_ = 0;
  current_day_ = market_->new_york_day[bar_];
  wins_ = sells_ = 0;
  win_sum_ = loss_sum_ = 0;
  std::fill(positions_.begin(), positions_.end(), Position{});
  trades_.clear();
  fills_.clear();
  traded_notional_ = total_costs_ = 0;
  equity_curve_.assign(1, equity_);
  info_ = StepInfo{equity_, cash_, 0, 0, 0, 0, 0, 0, bar_};
  write_observation(obs);
}

double TradingEnv::mark_equity(std::size_t bar) const {
  double value = cash_;
  for (std::size_t k = 0; k < positions_.size(); ++k) {
    if (positions_[k].quantity != 0) value += positions_[k].quantity * market_->close[market_->at(bar, k)];
  }
  return value;
}

void TradingEnv::write_observation(std::span<float> obs) const {
  env::write_observation(
      *market_, bar_, [this](std::size_t k) { return positions_[k].quantity; },
      PortfolioState{cash_, equity_, peak_equity_, config_.initial_balance}, obs);
}

void TradingEnv::sell(std::size_t k, double reference_price, std::size_t fill_bar, std::size_t context_bar,
                      double& trade_reward, const char* reason) {
  Position& p = positions_[k];
  const MarketData& m = *market_;
  const std::size_t i = m.at(context_bar, k);  // costs see the market up to the decision, never the fill bar's close
  const costs::Fill fill = cost_model_.fill(costs::Side::kSell, reference_price, p.quantity,
                                            {m.volatility[i], m.volume[i], m.adv[i]}, &rng_);
  const double proceeds = fill.price * fill.quantity - fill.fees;
  cash_ += proceeds;
  const double pnl = proceeds - p.cost_basis;
  trades_.push_back({pnl, p.cost_basis > 0 ? pnl / p.cost_basis : 0.0, fill_bar - p.entry_bar});
  ++sells_;
  if (pnl > 0) {
    ++wins_;
    win_sum_ += pnl;
  } else {
    loss_sum_ -= pnl;
  }
  if (config_.use_trade_rewards && p.cost_basis > 0 && pnl / p.cost_basis > 0.01)
    trade_reward += config_.reward_trade_success;
  info_.costs_paid += fill.cost;
  total_costs_ += fill.cost;
  traded_notional_ += fill.price * fill.quantity;
  if (config_.record_fills) {
    fills_.push_back({fill_bar, context_bar, k, false, fill.quantity, fill.price, fill.fees, pnl, reason});
  }
  ++info_.fills;
  const long last_trade = p.last_trade_step;
  p = Position{};
  p.last_trade_step = last_trade;
}

double TradingEnv::buy_amount(std::size_t k, std::size_t decision_bar) const {
  const MarketData& m = *market_;
  double amount = std::min(cash_ * config_.buy_pct, equity_ * config_.max_position_pct);
  if (config_.sizing == EnvConfig::Sizing::kKelly) {
    const int losses = sells_ - wins_;
    const double f = risk::kelly_fraction(static_cast<std::size_t>(wins_), static_cast<std::size_t>(losses),
                                          wins_ > 0 ? win_sum_ / wins_ : 0.0, losses > 0 ? loss_sum_ / losses : 0.0,
                                          config_.kelly_fraction, config_.max_position_pct);
    if (sells_ >= 20) amount = equity_ * f;
  } else if (config_.sizing == EnvConfig::Sizing::kVolTarget) {
    const double annual_vol =
        m.volatility[m.at(decision_bar, k)] * std::sqrt(data::kSessionsPerYear * m.bars_per_session);
    amount = equity_ * risk::vol_target_weight(config_.vol_target, annual_vol, config_.max_position_pct);
  }
  amount = std::min(amount, cash_);
  double held = 0, gross = 0;
  for (std::size_t j = 0; j < positions_.size(); ++j) {
    const double value = positions_[j].quantity * m.close[m.at(decision_bar, j)];
    gross += value;
    if (j == k) held = value;
  }
  if (config_.cap_total_position) amount = std::min(amount, equity_ * config_.max_position_pct - held);
  return std::min(amount, equity_ * config_.max_gross_exposure - gross);
}

void TradingEnv::execute(std::size_t k, std::int32_t action, std::size_t decision_bar, double& trade_reward) {
  const MarketData& m = *market_;
  Position& p = positions_[k];
  const bool can_trade = m.tradable[m.at(decision_bar, k)] && m.tradable[m.at(bar_, k)];
  const bool day_ok = trades_today_ < config_.max_trades_per_day;
  const bool holding_ok = steps_ - p.last_trade_step >= config_.min_holding_period;
  auto invalid = [&] {
    ++info_.invalid_actions;
    if (config_.use_trade_rewards) trade_reward += config_.reward_invalid_action;
  };
  // Reference price of the fill: the next bar's open (default) or the decision bar's close (seed).
  const std::size_t fill_bar = config_.fill_at_close ? decision_bar : bar_;
  const double reference = config_.fill_at_close ? m.close[m.at(decision_bar, k)] : m.open[m.at(bar_, k)];
  if (action == kBuy) {
    const double decision_price = m.close[m.at(decision_bar, k)];
    const double amount = buy_amount(k, decision_bar);
    const bool breaker = risk::Breakers{config_.breaker_max_drawdown, config_.breaker_daily_loss}.drawdown_tripped(
                             equity_, peak_equity_) ||
                         risk::Breakers{config_.breaker_max_drawdown, config_.breaker_daily_loss}.daily_loss_tripped(
                             equity_, day_start_equity_);
    if (!can_trade || !day_ok || !holding_ok || breaker || amount < 1.1 * decision_price) {
      invalid();
      return;
    }
    const costs::MarketContext context{m.volatility[m.at(decision_bar, k)], m.volume[m.at(decision_bar, k)],
                                       m.adv[m.at(decision_bar, k)]};
    double quantity = amount / (reference * 1.02);  // room for costs so cash never goes negative
    costs::Fill fill = cost_model_.fill(costs::Side::kBuy, reference, quantity, context, &rng_);
    const double spend = fill.price * fill.quantity + fill.fees;
    if (spend > cash_) {
      invalid();
      return;
    }
    cash_ -= spend;
    if (config_.average_entry_price || p.quantity == 0) {
      p.cost_basis += spend;
    } else {
      p.cost_basis = (p.quantity + quantity) * (spend / quantity);  // the seed: entry price overwritten
    }
    if (p.quantity == 0) p.entry_bar = fill_bar;
    p.quantity += quantity;
    p.entry_price = p.cost_basis / p.quantity;
    p.last_trade_step = steps_;
    p.stops = risk::levels_from_entry(p.entry_price, config_.stop_loss_pct, config_.take_profit_pct,
                                      config_.trailing_stop_pct);
    p.stop_state = {};
    ++trades_today_;
    ++info_.fills;
    info_.costs_paid += fill.cost;
    total_costs_ += fill.cost;
    traded_notional_ += fill.price * fill.quantity;
    if (config_.record_fills) {
      fills_.push_back({fill_bar, decision_bar, k, true, fill.quantity, fill.price, fill.fees, 0.0, "decision"});
    }
    if (config_.use_trade_rewards) trade_reward += config_.reward_buy_executed;
  } else if (action == kSell) {
    if (p.quantity <= 0 || !can_trade || !day_ok || !holding_ok) {
      invalid();
      return;
    }
    p.last_trade_step = steps_;
    ++trades_today_;
    sell(k, reference, fill_bar, decision_bar, trade_reward);
  } else if (action != kHold) {
    invalid();
  }
}

float TradingEnv::step(std::span<const std::int32_t> actions, std::span<float> obs, bool& terminated, bool& truncated) {
  const MarketData& m = *market_;
  const std::size_t decision_bar = bar_;
  const double equity_before = equity_;
  info_.fills = info_.invalid_actions = info_.stop_exits = 0;
  info_.costs_paid = 0;
  double trade_reward = 0;
  int active_actions = 0;

  // The decision at bar t is executed on bar t+1 (at its open by default).
  bar_ = decision_bar + 1;
  ++steps_;
  const Day day = m.new_york_day[bar_];
  const bool new_day = config_.seed_day_counter ? steps_ % 78 == 0 : day != current_day_;
  if (new_day) {
    trades_today_ = 0;
    day_start_equity_ = equity_;
  }
  current_day_ = day;

  auto decide = [&] {  // ticker by ticker in list order, as the seed did
    for (std::size_t k = 0; k < positions_.size(); ++k) {
      const std::int32_t a = k < actions.size() ? actions[k] : kHold;
      if (a == kHold) continue;
      ++active_actions;
      execute(k, a, decision_bar, trade_reward);
    }
  };
  auto check_stops = [&] {  // on the new bar, for positions held into it
    for (std::size_t k = 0; k < positions_.size(); ++k) {
      Position& p = positions_[k];
      if (p.quantity <= 0 || !m.tradable[m.at(bar_, k)]) continue;
      const std::size_t i = m.at(bar_, k);
      const risk::StopFill stop = risk::evaluate_long_stops(p.stops, p.stop_state, m.open[i], m.high[i], m.low[i]);
      if (stop.reason != risk::StopReason::kNone) {
        ++info_.stop_exits;
        const char* reason = stop.reason == risk::StopReason::kTakeProfit     ? "take_profit"
                             : stop.reason == risk::StopReason::kTrailingStop ? "trailing_stop"
                                                                              : "stop_loss";
        sell(k, stop.price, bar_, decision_bar, trade_reward, reason);
      }
    }
  };
  // Same-bar fills happen at the decision bar's close, before the new bar; next-open fills share the
  // new bar's open with stop exits, which go first.
  if (config_.fill_at_close) {
    decide();
    check_stops();
  } else {
    check_stops();
    decide();
  }

  equity_ = mark_equity(bar_);
  peak_equity_ = std::max(peak_equity_, equity_);
  equity_curve_.push_back(equity_);
  const double step_return = equity_before > 0 ? equity_ / equity_before - 1 : 0;
  const double drawdown = peak_equity_ > 0 ? 1 - equity_ / peak_equity_ : 0;

  double reward = 100.0 * step_return;
  if (config_.use_drawdown_penalty && drawdown > config_.drawdown_threshold)
    reward -= drawdown * config_.drawdown_penalty_factor;
  if (active_actions > config_.overtrading_free_actions) reward -= config_.penalty_overtrading * active_actions;
  if (step_return > config_.good_return_threshold) reward += config_.good_return_bonus;
  if (sells_ > config_.high_winrate_min_trades &&
      static_cast<double>(wins_) / sells_ > config_.high_winrate_threshold) {
    reward += config_.high_winrate_bonus;
  }
  reward += trade_reward;
  reward = std::clamp(reward * config_.reward_scaling, -config_.reward_clip, config_.reward_clip);

  terminated = equity_ < config_.bankruptcy_fraction * config_.initial_balance || cash_ < 0 ||
               (config_.max_drawdown > 0 && drawdown >= config_.max_drawdown);
  const std::size_t last_bar = config_.window_last > 0 ? std::min(m.last_bar, config_.window_last) : m.last_bar;
  truncated = !terminated && (steps_ >= config_.max_steps || bar_ >= last_bar);
  info_.equity = equity_;
  info_.cash = cash_;
  info_.step_return = step_return;
  info_.drawdown = drawdown;
  info_.bar = bar_;
  write_observation(obs);
  return static_cast<float>(reward);
}

}  // namespace ploutos::env

namespace ploutos::env {
namespace {

// FillRecord::reason points at one of these literals; a state stores its index.
constexpr const char* kFillReasons[] = {"decision", "stop_loss", "take_profit", "trailing_stop"};

std::uint8_t fill_reason_index(const char* reason) {
  for (std::uint8_t i = 0; i < std::size(kFillReasons); ++i) {
    if (std::strcmp(reason, kFillReasons[i]) == 0) return i;
  }
  return 0;
}

}  // namespace

void TradingEnv::save_state(ByteWriter& out) const {
  const Rng::State r = rng_.state();
  for (const auto word : r.words) out.put(word);
  out.put(r.spare_normal);
  out.put<std::uint8_t>(r.has_spare);
  out.put<std::uint64_t>(bar_);
  out.put<std::uint64_t>(start_bar_);
  out.put<std::int32_t>(steps_);
  for (const double v : {cash_, equity_, peak_equity_, day_start_equity_}) out.put(v);
  out.put<std::int32_t>(trades_today_);
  out.put<std::int64_t>(current_day_.time_since_epoch().count());
  out.put<std::int32_t>(wins_);
  out.put<std::int32_t>(sells_);
  out.put(win_sum_);
  out.put(loss_sum_);
  out.put<std::uint64_t>(positions_.size());
  for (const Position& p : positions_) {
    for (const double v : {p.quantity, p.entry_price, p.cost_basis}) out.put(v);
    out.put<std::uint64_t>(p.entry_bar);
    out.put<std::int64_t>(p.last_trade_step);
    for (const double v : {p.stops.stop_loss, p.stops.take_profit, p.stops.trailing_pct, p.stop_state.highest_high})
      out.put(v);
  }
  out.put<std::uint64_t>(trades_.size());
  for (const risk::ClosedTrade& t : trades_) {
    out.put(t.pnl);
    out.put(t.return_pct);
    out.put<std::uint64_t>(t.bars_held);
  }
  out.put<std::uint64_t>(fills_.size());
  for (const FillRecord& f : fills_) {
    out.put<std::uint64_t>(f.bar);
    out.put<std::uint64_t>(f.decision_bar);
    out.put<std::uint64_t>(f.ticker);
    out.put<std::uint8_t>(f.buy);
    for (const double v : {f.quantity, f.price, f.fees, f.pnl}) out.put(v);
    out.put(fill_reason_index(f.reason));
  }
  out.put(traded_notional_);
  out.put(total_costs_);
  out.put(equity_curve_);
  for (const double v : {info_.equity, info_.cash, info_.step_return, info_.drawdown}) out.put(v);
  for (const int v : {info_.fills, info_.invalid_actions, info_.stop_exits}) out.put<std::int32_t>(v);
  out.put(info_.costs_paid);
  out.put<std::uint64_t>(info_.bar);
}

void TradingEnv::restore_state(ByteReader& in) {
  const MarketData& m = *market_;
  auto bar_index = [&] {
    const auto bar = in.get<std::uint64_t>();
    if (bar >= m.n_bars)
      in.fail("bar " + std::to_string(bar) + " of a market of " + std::to_string(m.n_bars) + " bars");
    return static_cast<std::size_t>(bar);
  };
  Rng::State r;
  for (auto& word : r.words) word = in.get<std::uint64_t>();
  r.spare_normal = in.get<double>();
  r.has_spare = in.get<std::uint8_t>() != 0;
  rng_.restore(r);
  bar_ = bar_index();
  start_bar_ = bar_index();
  steps_ = in.get<std::int32_t>();
  for (double* v : {&cash_, &equity_, &peak_equity_, &day_start_equity_}) *v = in.get<double>();
  trades_today_ = in.get<std::int32_t>();
  current_day_ = Day(std::chrono::days(in.get<std::int64_t>()));
  wins_ = in.get<std::int32_t>();
  sells_ = in.get<std::int32_t>();
  win_sum_ = in.get<double>();
  loss_sum_ = in.get<double>();
  if (const auto n = in.get<std::uint64_t>(); n != positions_.size())
    in.fail(std::to_string(n) + " positions for " + std::to_string(positions_.size()) + " tickers");
  for (Position& p : positions_) {
    for (double* v : {&p.quantity, &p.entry_price, &p.cost_basis}) *v = in.get<double>();
    p.entry_bar = bar_index();
    p.last_trade_step = static_cast<long>(in.get<std::int64_t>());
    for (double* v : {&p.stops.stop_loss, &p.stops.take_profit, &p.stops.trailing_pct, &p.stop_state.highest_high})
      *v = in.get<double>();
  }
  // An episode closes at most one trade per ticker and step, and fills at most two (a stop exit,
  // then a buy); the bounds below leave room to spare and only catch a damaged record.
  const auto max_trades = static_cast<std::uint64_t>(m.n_bars) * std::max<std::size_t>(1, m.n_tickers) * 2;
  const auto n_trades = in.get<std::uint64_t>();
  if (n_trades > max_trades) in.fail(std::to_string(n_trades) + " closed trades");
  trades_.resize(n_trades);
  for (risk::ClosedTrade& t : trades_) {
    t.pnl = in.get<double>();
    t.return_pct = in.get<double>();
    t.bars_held = in.get<std::uint64_t>();
  }
  const auto n_fills = in.get<std::uint64_t>();
  if (n_fills > 2 * max_trades) in.fail(std::to_string(n_fills) + " fills");
  fills_.resize(n_fills);
  for (FillRecord& f : fills_) {
    f.bar = bar_index();
    f.decision_bar = bar_index();
    f.ticker = in.get<std::uint64_t>();
    if (f.ticker >= m.n_tickers) in.fail("a fill of ticker " + std::to_string(f.ticker));
    f.buy = in.get<std::uint8_t>() != 0;
    for (double* v : {&f.quantity, &f.price, &f.fees, &f.pnl}) *v = in.get<double>();
    const auto reason = in.get<std::uint8_t>();
    if (reason >= std::size(kFillReasons)) in.fail("fill reason " + std::to_string(reason));
    f.reason = kFillReasons[reason];
  }
  traded_notional_ = in.get<double>();
  total_costs_ = in.get<double>();
  in.get(equity_curve_, m.n_bars + 1);
  for (double* v : {&info_.equity, &info_.cash, &info_.step_return, &info_.drawdown}) *v = in.get<double>();
  for (int* v : {&info_.fills, &info_.invalid_actions, &info_.stop_exits}) *v = in.get<std::int32_t>();
  info_.costs_paid = in.get<double>();
  info_.bar = bar_index();
}

}  // namespace ploutos::env
