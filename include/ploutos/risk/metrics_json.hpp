#pragma once
// The metrics as JSON, one spelling for every output that reports them (backtests, journals).
#include <cmath>
#include <nlohmann/json.hpp>

#include "ploutos/risk/metrics.hpp"

namespace ploutos::risk {

inline nlohmann::ordered_json metrics_to_json(const Metrics& m) {
  return {{"total_return", m.total_return},
          {"annual_return", m.annual_return},
          {"volatility", m.volatility},
          {"sharpe", m.sharpe},
          {"sortino", m.sortino},
          {"calmar", m.calmar},
          {"max_drawdown", m.max_drawdown},
          {"max_drawdown_duration", m.max_drawdown_duration},
          {"win_rate", m.win_rate},
          // +inf (no losing trade) has no JSON number: null.
          {"profit_factor",
           std::isfinite(m.profit_factor) ? nlohmann::ordered_json(m.profit_factor) : nlohmann::ordered_json(nullptr)},
          {"expectancy", m.expectancy},
          {"turnover", m.turnover},
          {"trades", m.trades},
          {"avg_holding_period", m.avg_holding_bars},
          {"exposure", m.exposure}};
}

}  // namespace ploutos::risk
