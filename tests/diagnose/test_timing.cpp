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
  run.fills = {{2, 1, 0, true, 10, 100.0, 1, 0, "decision"}, {4, 3, 0, false, 10, 103.0, 1, 28, "decision"}};
  run.costs = 12;  // fees and what spread and slippage took from the fill prices
  const auto r = diagnose::analyze_timing(m, run);
  EXPECT_EQ(r.round_trips, 1u);
  EXPECT_DOUBLE_EQ(r.closed_pnl, 28.0) << "1030 - 1 - (1000 + 1)";
  EXPECT_DOUBLE_EQ(r.cost_share, 12.0 / 40.0);
  EXPECT_NE(diagnose::to_text(r).find("costs 12.00 USD over all fills; closed round trips +28.00 USD after costs "
                                      "(cost share 30.0%)"),
            std::string::npos)
      << diagnose::to_text(r);
  EXPECT_NEAR(r.mean_mae, -0.03, 1e-12);
  EXPECT_NEAR(r.mean_mfe, 0.10, 1e-12);
  EXPECT_NEAR(r.mean_exit_return, 0.03, 1e-12);
  EXPECT_DOUBLE_EQ(r.mean_holding_bars, 2.0);
}

TEST(Diagnose, TheFeatureThatMarksGoodEntriesComesFirstAndActionsAreCountedPerRegime) {
  // Alternating 10-bar rises and falls; feature 1 is 1 at the start of a rise and 0 at the start
  // of a fall, feature 0 is noise-free bar time (equal at good and bad entries on average).
  auto m = test::flat_market(1, 200, 100.0);
  m.feature_names = {"time", "planted", "zero"};
  double p = 100;
  for (std::size_t t = 0; t < 200; ++t) {
    const bool rising = (t / 10) % 2 == 0;
    const double next = rising ? p * 1.01 : p * 0.99;
    test::set_bar(m, t, 0, p, std::max(p, next), std::min(p, next), next);
    m.features[m.at(t, 0) * 3 + 1] = rising ? 1.0f : 0.0f;
    p = next;
  }
  backtest::StrategyResult run;
  for (std::size_t start = 0; start + 30 < 200; start += 10) {
    // decide at the first bar of each segment, fill at the next open
    run.fills.push_back({start + 1, start, 0, true, 1, m.open[start + 1], 0, 0, "decision"});
    run.fills.push_back({start + 3, start + 2, 0, false, 1, m.open[start + 3], 0, 0, "decision"});
  }
  for (std::size_t t = 0; t < 190; ++t) {
    run.decision_bars.push_back(t);
    run.decisions.push_back(static_cast<std::int8_t>(t % 3));
  }
  const auto r = diagnose::analyze_timing(m, run);
  ASSERT_FALSE(r.feature_differences.empty());
  EXPECT_EQ(r.feature_differences.front().feature, "planted");
  EXPECT_DOUBLE_EQ(r.feature_differences.front().mean_good, 1.0);
  EXPECT_DOUBLE_EQ(r.feature_differences.front().mean_bad, 0.0);
  std::size_t counted = 0;
  ASSERT_EQ(r.actions_by_regime.size(), 1u);
  for (const auto& [regime, c] : r.actions_by_regime[0].second) counted += c.hold + c.buy + c.sell;
  EXPECT_EQ(counted, 190u) << "every decision lands in one regime";
}

TEST(Diagnose, EntryPositionWithinTheBarsBeforeAndAfter) {
  // A V: falling 1% a bar to bar 20, rising after; a buy filled at bar 21's open sits near the low.
  auto m = test::flat_market(1, 60, 100.0);
  double p = 100;
  for (std::size_t t = 0; t < 60; ++t) {
    const double next = t < 20 ? p * 0.99 : p * 1.01;
    test::set_bar(m, t, 0, p, std::max(p, next), std::min(p, next), next);
    p = next;
  }
  backtest::StrategyResult bottom;
  bottom.fills = {{21, 20, 0, true, 1, m.open[21], 0, 0, "decision"}};
  const auto low = diagnose::analyze_timing(m, bottom);
  EXPECT_LT(low.mean_entry_position, 0.1);  // (82.6 - 81.8) / (91.3 - 81.8)
  backtest::StrategyResult late;
  late.fills = {{41, 40, 0, true, 1, m.open[41], 0, 0, "decision"}};  // in the rise: the top of its window
  EXPECT_GT(diagnose::analyze_timing(m, late).mean_entry_position, 0.4);
}
