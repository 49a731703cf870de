#pragma once
// The transaction-cost model, used identically by the environment, backtests and SimBroker.
// A fill's price moves against the trader by half the spread, slippage, market impact and latency;
// fees (commission, SEC fee, FINRA TAF) are charged on top. Formulas: docs/environment.md.
#include <cstdint>
#include <string>

namespace ploutos {
class Rng;
}

namespace ploutos::costs {

enum class Side : std::uint8_t { kBuy, kSell };

struct CostParams {
  std::string model = "standard";            // standard | seed (the seed's V6 pricing)
  double commission = 0.0;                   // fraction of notional
  double commission_per_share = 0.0;         // USD
  double commission_min = 0.0;               // USD per order, when any commission applies
  double sec_fee = 0.0000221;                // fraction of notional: sells only (standard), every trade (seed)
  double finra_taf = 0.000145;               // fraction of notional, every trade
  double spread_bps = 2.0;                   // full quoted spread; standard pays half of it, the seed all of it
  std::string slippage_model = "realistic";  // realistic | fixed | none
  double slippage_bps = 5.0;                 // fixed slippage
  double min_slippage = 0.0005;              // realistic: min + (max - min) * clip(sigma / 0.05, 0, 1)
  double max_slippage = 0.005;
  double impact_coefficient = 0.1;     // standard: k in k * sigma * sqrt(quantity / ADV)
  double seed_impact_factor = 0.0001;  // seed: factor * sqrt(quantity / bar volume), capped at max_slippage
  double latency_sd = 0.0;             // adverse |N(0, sd)| fraction from the caller's stream (seed: 0.0002)
};

// What the market looked like when the order was filled.
struct MarketContext {
  double volatility = 0.0;  // stdev of the last 20 bar returns
  double bar_volume = 0.0;  // volume of the fill bar (seed impact)
  double adv = 0.0;         // average volume per bar (standard impact); 0 disables impact
};

struct Fill {
  double price = 0.0;     // per share, after spread, slippage, impact and latency
  double quantity = 0.0;  // shares (fractional allowed)
  double fees = 0.0;      // USD: commission + regulatory
  double cost = 0.0;      // USD: total cost against the reference price, fees included
};

class CostModel {
 public:
  CostModel() = default;
  explicit CostModel(CostParams params) : p_(std::move(params)) {}
  const CostParams& params() const { return p_; }

  // Fraction of the reference price paid (buy) or given up (sell), excluding fees.
  double price_impact_fraction(double quantity, const MarketContext& m, Rng* latency_rng) const;
  Fill fill(Side side, double reference_price, double quantity, const MarketContext& m,
            Rng* latency_rng = nullptr) const;
  double fees(Side side, double fill_price, double quantity) const;

 private:
  CostParams p_;
};

}  // namespace ploutos::costs
