#pragma once
// Position sizing and breakers.
#include <cstddef>

namespace ploutos::risk {

// Capped fractional Kelly from win/loss statistics: f* = W - (1 - W) / R with R = avg win / avg
// loss; returns fraction * f*, clipped to [0, cap]. 0 with fewer than `min_trades` trades.
double kelly_fraction(std::size_t wins, std::size_t losses, double average_win, double average_loss, double fraction,
                      double cap, std::size_t min_trades = 20);

// Volatility targeting: the weight that gives `target_annual_vol` for an asset with
// `asset_annual_vol`, capped at `cap`.
double vol_target_weight(double target_annual_vol, double asset_annual_vol, double cap);

// Drawdown and daily-loss breakers: true when trading must stop.
struct Breakers {
  double max_drawdown = 0;      // fraction of peak equity; 0 = off
  double daily_loss_limit = 0;  // fraction of the day's starting equity; 0 = off
  bool drawdown_tripped(double equity, double peak) const {
    return max_drawdown > 0 && equity <= peak * (1 - max_drawdown);
  }
  bool daily_loss_tripped(double equity, double day_start) const {
    return daily_loss_limit > 0 && equity <= day_start * (1 - daily_loss_limit);
  }
};

}  // namespace ploutos::risk
