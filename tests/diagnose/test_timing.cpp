#include <gtest/gtest.h>

#include "../env/market_fixture.hpp"
#include "ploutos/diagnose/timing.hpp"

using namespace ploutos;

TEST(Diagnose, BuysBeforeARiseAreLowAndBuysBeforeAFallAreHigh) {
  // Bars 0..19 rise 1% a bar, bars 20..39 fall 1% a bar.
  auto m = test::flat_market(1, 40, 100.0);
  double p = 100;
  for (std::size_t t = 0; t < 40; ++t) {
    const double next = t < 20 ? p * 1.01 : p * 0.99;
    test::set_bar(m, t, 0, p, std::max(p, next), std::min(p, next), next);
    p = next;
  }
  backtest::StrategyResult run;
  run.fills = {{3, 2, 0, true, 1, m.open[3], 0, 0, "decision"},       // rise ahead: low
               {22, 21, 0, true, 1, m.open[22], 0, 0, "decision"},    // fall ahead: high
               {24, 23, 0, false, 1, m.open[24], 0, -5, "decision"},  // fall ahead: sold high
               {36, 35, 0, true, 1, m.open[36], 0, 0, "decision"}};   // too close to the end: not judged
  run.buys = 3;
  run.sells = 1;
  const auto r = diagnose::analyze_timing(m, run);
  EXPECT_EQ(r.buys, 3u);
  EXPECT_EQ(r.judged_buys, 2u);
  EXPECT_EQ(r.buys_low, 1u);
  EXPECT_DOUBLE_EQ(r.buy_quality, 0.5);
  EXPECT_EQ(r.sells_high, 1u);
  EXPECT_DOUBLE_EQ(r.sell_quality, 1.0);
  EXPECT_EQ(r.unclassified, 1u);
  EXPECT_EQ(r.per_ticker[0].closed, 1u);
  EXPECT_DOUBLE_EQ(r.per_ticker[0].pnl, -5.0);
  EXPECT_NE(diagnose::to_json(r).find("\"buy_quality\": 0.5"), std::string::npos);
}

TEST(Diagnose, RoundTripsMeasureAdverseAndFavourableExcursions) {
  auto m = test::flat_market(1, 10, 100.0);
  test::set_bar(m, 2, 0, 100, 104, 97, 101);  // held bars: low 97, high 110
  test::set_bar(m, 3, 0, 101, 110, 99, 105);
  test::set_bar(m, 4, 0, 105, 106, 102, 103);
  backtest::StrategyResult run;
  run.fills = {{2, 1, 0, true, 10, 100.0, 0, 0, "decision"}, {4, 3, 0, false, 10, 103.0, 0, 30, "decision"}};
  const auto r = diagnose::analyze_timing(m, run);
  EXPECT_EQ(r.round_trips, 1u);
  EXPECT_NEAR(r.mean_mae, -0.03, 1e-12);
  EXPECT_NEAR(r.mean_mfe, 0.10, 1e-12);
  EXPECT_NEAR(r.mean_exit_return, 0.03, 1e-12);
}
