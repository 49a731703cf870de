#include <gtest/gtest.h>

#include <cmath>

#include "ploutos/core/rng.hpp"
#include "ploutos/costs/cost_model.hpp"

using namespace ploutos;
using namespace ploutos::costs;

TEST(CostModel, StandardModelAddsHalfSpreadSlippageImpactAndFees) {
  CostParams p;
  p.spread_bps = 4;
  p.slippage_model = "fixed";
  p.slippage_bps = 5;
  p.impact_coefficient = 0.1;
  p.commission_per_share = 0.005;
  p.commission_min = 1.0;
  const CostModel model(p);
  const MarketContext m{0.02, 1e6, 1e6};
  const Fill buy = model.fill(Side::kBuy, 100.0, 10000, m);
  const double f = 0.0002 + 0.0005 + 0.1 * 0.02 * std::sqrt(0.01);
  EXPECT_NEAR(buy.price, 100.0 * (1 + f), 1e-12);
  const double notional = buy.price * 10000;
  EXPECT_NEAR(buy.fees, 50.0 + notional * p.finra_taf, 1e-9);  // no SEC fee on a buy
  const Fill sell = model.fill(Side::kSell, 100.0, 10000, m);
  EXPECT_NEAR(sell.price, 100.0 * (1 - f), 1e-12);
  EXPECT_NEAR(sell.fees, 50.0 + sell.price * 10000 * (p.finra_taf + p.sec_fee), 1e-9);
  EXPECT_NEAR(buy.cost, (buy.price - 100) * 10000 + buy.fees, 1e-9);
  // Minimum commission.
  EXPECT_NEAR(model.fees(Side::kBuy, 100, 10) - 100 * 10 * p.finra_taf, 1.0, 1e-12);
}

TEST(CostModel, SeedPresetMatchesItsFormula) {
  CostParams p;
  p.model = "seed";
  p.spread_bps = 2;
  p.seed_impact_factor = 0.0001;
  const CostModel model(p);
  const MarketContext m{0.025, 4e6, 0};
  const Fill buy = model.fill(Side::kBuy, 50.0, 1e6, m);
  const double slippage = 0.0005 + 0.0045 * 0.5;
  const double impact = 0.0001 * std::sqrt(0.25);
  EXPECT_NEAR(buy.price, 50.0 * (1 + slippage + impact) * 1.0002, 1e-12);
  EXPECT_NEAR(buy.fees, buy.price * 1e6 * (p.sec_fee + p.finra_taf), 1e-6);
}

TEST(CostModel, CostsRiseMonotonicallyWithSizeAndVolatility) {
  for (const char* model_name : {"standard", "seed"}) {
    CostParams p;
    p.model = model_name;
    const CostModel model(p);
    double previous = 0;
    for (double qty = 100; qty <= 1e7; qty *= 3) {
      const double per_share = model.fill(Side::kBuy, 100, qty, {0.02, 1e6, 1e6}).cost / qty;
      EXPECT_GE(per_share, previous) << model_name << " qty " << qty;
      previous = per_share;
    }
    previous = 0;
    for (double vol = 0; vol <= 0.1; vol += 0.005) {
      const double cost = model.fill(Side::kSell, 100, 1e5, {vol, 1e6, 1e6}).cost;
      EXPECT_GE(cost, previous) << model_name << " vol " << vol;
      previous = cost;
    }
  }
}

TEST(CostModel, LatencyIsSeededAndAlwaysAdverse) {
  CostParams p;
  p.latency_sd = 0.0002;
  const CostModel model(p);
  Rng a(5), b(5);
  for (int i = 0; i < 100; ++i) {
    const Fill fa = model.fill(Side::kBuy, 100, 10, {0.01, 1e6, 1e6}, &a);
    const Fill fb = model.fill(Side::kBuy, 100, 10, {0.01, 1e6, 1e6}, &b);
    EXPECT_EQ(fa.price, fb.price);
    EXPECT_GE(fa.price, model.fill(Side::kBuy, 100, 10, {0.01, 1e6, 1e6}).price);
  }
}
