#include "ploutos/env/from_config.hpp"

namespace ploutos::env {

costs::CostParams cost_params_from(const config::CostsConfig& c) {
  costs::CostParams p;
  p.model = c.model;
  p.commission = c.commission;
  p.commission_per_share = c.commission_per_share;
  p.commission_min = c.commission_min;
  p.sec_fee = c.sec_fee;
  p.finra_taf = c.finra_taf;
  p.spread_bps = c.spread_bps;
  p.slippage_model = c.slippage_model;
  p.slippage_bps = c.slippage_bps;
  p.min_slippage = c.min_slippage;
  p.max_slippage = c.max_slippage;
  p.impact_coefficient = c.impact_coefficient;
  p.seed_impact_factor = c.market_impact_factor;
  p.latency_sd = c.latency_sd;
  return p;
}

EnvConfig env_config_from(const config::Config& config, Mode mode) {
  const auto& e = config.environment;
  const auto& r = config.risk;
  EnvConfig c;
  c.mode = mode;
  c.initial_balance = e.initial_balance;
  c.max_steps = e.max_steps;
  c.buy_pct = e.buy_pct;
  c.max_position_pct = e.max_position_pct;
  c.max_trades_per_day = e.max_trades_per_day;
  c.min_holding_period = e.min_holding_period;
  c.train_start_min = e.train_start_min;
  c.reward_scaling = e.reward_scaling;
  c.use_drawdown_penalty = e.use_drawdown_penalty;
  c.drawdown_threshold = e.drawdown_penalty_threshold;
  c.drawdown_penalty_factor = e.drawdown_penalty_factor;
  c.penalty_overtrading = e.penalty_overtrading;
  c.good_return_bonus = e.reward_good_return_bonus;
  c.good_return_threshold = e.good_return_threshold;
  c.high_winrate_bonus = e.reward_high_winrate_bonus;
  c.high_winrate_threshold = e.high_winrate_threshold;
  c.reward_clip = e.reward_clip;
  c.use_trade_rewards = e.use_trade_rewards;
  c.reward_trade_success = e.reward_trade_success;
  c.fill_at_close = e.fill == "close";
  c.average_entry_price = e.average_entry_price;
  c.cap_total_position = e.cap_total_position;
  c.seed_day_counter = e.day_counter == "seed78";
  c.bankruptcy_fraction = e.bankruptcy_fraction;
  c.max_drawdown = e.max_drawdown_end;
  c.sizing = r.sizing == "kelly"        ? EnvConfig::Sizing::kKelly
             : r.sizing == "vol_target" ? EnvConfig::Sizing::kVolTarget
                                        : EnvConfig::Sizing::kFixedFraction;
  c.kelly_fraction = r.kelly_fraction;
  c.vol_target = r.vol_target;
  c.max_gross_exposure = r.max_gross_exposure;
  c.breaker_max_drawdown = r.max_drawdown;
  c.breaker_daily_loss = r.daily_loss_limit;
  c.stop_loss_pct = r.stop_loss_pct;
  c.take_profit_pct = r.take_profit_pct;
  c.trailing_stop_pct = r.trailing_stop_pct;
  c.costs = cost_params_from(config.costs);
  return c;
}

}  // namespace ploutos::env
