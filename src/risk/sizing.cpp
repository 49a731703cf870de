#include "ploutos/risk/sizing.hpp"

#include <algorithm>

namespace ploutos::risk {

double kelly_fraction(std::size_t wins, std::size_t losses, double average_win, double average_loss, double fraction,
                      double cap, std::size_t min_trades) {
  const std::size_t n = wins + losses;
  if (n < min_trades || average_win <= 0 || average_loss <= 0) return 0.0;
  const double w = static_cast<double>(wins) / static_cast<double>(n);
  const double r = average_win / average_loss;
  const double full = w - (1 - w) / r;
  return std::clamp(fraction * full, 0.0, cap);
}

double vol_target_weight(double target_annual_vol, double asset_annual_vol, double cap) {
  if (asset_annual_vol <= 0) return 0.0;
  return std::clamp(target_annual_vol / asset_annual_vol, 0.0, cap);
}

}  // namespace ploutos::risk
