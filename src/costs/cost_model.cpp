#include "ploutos/costs/cost_model.hpp"

#include <algorithm>
#include <cmath>

#include "ploutos/core/rng.hpp"

namespace ploutos::costs {

double CostModel::price_impact_fraction(double quantity, const MarketContext& m, Rng* latency_rng) const {
  double slippage = 0.0;
  if (p_.slippage_model == "realistic") {
    slippage = p_.min_slippage + (p_.max_slippage - p_.min_slippage) * std::clamp(m.volatility / 0.05, 0.0, 1.0);
  } else if (p_.slippage_model == "fixed") {
    slippage = p_.slippage_bps / 1e4;
  }
  double impact = 0.0;
  if (p_.model == "seed") {
    if (m.bar_volume > 0)
      impact = std::min(p_.seed_impact_factor * std::sqrt(quantity / m.bar_volume), p_.max_slippage);
  } else if (m.adv > 0) {
    impact = p_.impact_coefficient * m.volatility * std::sqrt(quantity / m.adv);
  }
  const double latency =
      p_.latency_sd > 0 && latency_rng != nullptr ? std::abs(latency_rng->normal(0.0, p_.latency_sd)) : 0.0;
  const double half_spread = p_.model == "seed" ? 0.0 : p_.spread_bps / 2e4;  // the seed's spread is applied separately
  return half_spread + slippage + impact + latency;
}

double CostModel::fees(Side side, double fill_price, double quantity) const {
  const double notional = fill_price * quantity;
  double commission = notional * p_.commission + quantity * p_.commission_per_share;
  if (commission > 0) commission = std::max(commission, p_.commission_min);
  const bool sec_applies = p_.model == "seed" || side == Side::kSell;
  return commission + (sec_applies ? notional * p_.sec_fee : 0.0) + notional * p_.finra_taf;
}

Fill CostModel::fill(Side side, double reference_price, double quantity, const MarketContext& m,
                     Rng* latency_rng) const {
  const double f = price_impact_fraction(quantity, m, latency_rng);
  const double sign = side == Side::kBuy ? 1.0 : -1.0;
  Fill out;
  out.quantity = quantity;
  out.price = reference_price * (1 + sign * f);
  // The seed multiplied its slipped price by (1 +/- spread_bps / 10,000) on every trade.
  if (p_.model == "seed") out.price *= 1 + sign * p_.spread_bps / 1e4;
  out.fees = fees(side, out.price, quantity);
  out.cost = std::abs(out.price - reference_price) * quantity + out.fees;
  return out;
}

}  // namespace ploutos::costs
