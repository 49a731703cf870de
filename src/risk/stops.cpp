#include "ploutos/risk/stops.hpp"

#include <algorithm>

namespace ploutos::risk {

StopLevels levels_from_entry(double entry_price, double stop_loss_pct, double take_profit_pct, double trailing_pct) {
  return {stop_loss_pct > 0 ? entry_price * (1 - stop_loss_pct) : 0.0,
          take_profit_pct > 0 ? entry_price * (1 + take_profit_pct) : 0.0, trailing_pct};
}

StopFill evaluate_long_stops(const StopLevels& levels, StopState& state, double open, double high, double low) {
  // The effective stop is the higher of the fixed stop and the trailing one.
  double stop = levels.stop_loss;
  StopReason stop_reason = StopReason::kStopLoss;
  if (levels.trailing_pct > 0 && state.highest_high > 0) {
    const double trail = state.highest_high * (1 - levels.trailing_pct);
    if (trail > stop) {
      stop = trail;
      stop_reason = StopReason::kTrailingStop;
    }
  }
  StopFill fill;
  if (stop > 0 && open <= stop) {
    fill = {stop_reason, open};  // gapped through the stop
  } else if (levels.take_profit > 0 && open >= levels.take_profit) {
    fill = {StopReason::kTakeProfit, open};  // gapped through the target
  } else if (stop > 0 && low <= stop) {
    fill = {stop_reason, stop};  // touched (also when the target was touched too: stop first)
  } else if (levels.take_profit > 0 && high >= levels.take_profit) {
    fill = {StopReason::kTakeProfit, levels.take_profit};
  }
  state.highest_high = std::max(state.highest_high, high);
  return fill;
}

}  // namespace ploutos::risk
