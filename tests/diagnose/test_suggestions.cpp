// Round trips from fills (hand-computed) and the losing-trade suggestions they trigger.
#include <gtest/gtest.h>

#include "ploutos/diagnose/suggestions.hpp"

namespace ploutos::diagnose {
namespace {

TEST(RoundTrips, AfterCostPnlAndPartialExitsByHand) {
  const std::vector<FillEvent> fills = {
      {"A", true, 10, 100, 1, 0, "decision"}, {"A", false, 10, 90, 1, 1, "stop_loss"},
      {"B", true, 10, 100, 0, 2, "decision"}, {"B", false, 4, 110, 0, 5, "decision"},
      {"B", false, 6, 120, 0, 7, "decision"}, {"C", true, 5, 50, 0, 8, "decision"},  // still open
  };
  const auto trips = round_trips(fills);
  ASSERT_EQ(trips.size(), 2u);
  EXPECT_DOUBLE_EQ(trips[0].pnl, 900 - 1 - 1001);  // proceeds - fee - cost basis with the buy fee
  EXPECT_DOUBLE_EQ(trips[0].return_pct, -102.0 / 1001.0);
  EXPECT_EQ(trips[0].bars_held, 1u);
  EXPECT_EQ(trips[0].exit_reason, "stop_loss");
  EXPECT_DOUBLE_EQ(trips[1].pnl, 440 + 720 - 1000);
  EXPECT_DOUBLE_EQ(trips[1].exit_price, 116);
  EXPECT_EQ(trips[1].bars_held, 5u);
}

TEST(Suggestions, LossesWithoutAStopAndQuickLosersGetConcreteChanges) {
  std::vector<RoundTrip> trips;
  for (int i = 0; i < 6; ++i) trips.push_back({"A", 100, 95, 10, -50.0 - i, -0.05 - 0.001 * i, 0.1, 1, "decision"});
  trips.push_back({"B", 100, 101, 10, 10, 0.01, 0.1, 5, "decision"});
  const auto s = losing_trade_suggestions(trips, {0, 0, 2, 10});
  auto has = [&](const std::string& key) {
    for (const auto& x : s) {
      if (x.key == key) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("risk.stop_loss_pct"));
  EXPECT_TRUE(has("environment.min_holding_period"));
  EXPECT_TRUE(has("(analysis)")) << "a 14% win rate points to diagnose";
  for (const auto& x : s) {
    if (x.key == "risk.stop_loss_pct") {
      EXPECT_EQ(x.value.substr(0, 4), "0.05") << "the median losing trade's loss";
    }
  }
  EXPECT_TRUE(losing_trade_suggestions({trips.begin(), trips.begin() + 4}, {}).empty()) << "too few trades to judge";
}

TEST(Suggestions, ALongerHoldingPeriodNeedsAtLeastThreeQuickLosers) {
  auto suggests_holding = [](int quick_losers) {
    std::vector<RoundTrip> trips;
    for (int i = 0; i < 5; ++i) trips.push_back({"W", 100, 110, 10, 100, 0.1, 0.1, 5, "decision"});
    for (int i = 0; i < quick_losers; ++i) trips.push_back({"L", 100, 99, 10, -10, -0.01, 0.1, 1, "decision"});
    for (const auto& x : losing_trade_suggestions(trips, {0.05, 0, 2, 10})) {
      if (x.key == "environment.min_holding_period") return true;
    }
    return false;
  };
  EXPECT_FALSE(suggests_holding(1)) << "1 of 1 losers closed quickly is no evidence";
  EXPECT_FALSE(suggests_holding(2));
  EXPECT_TRUE(suggests_holding(3));
}

}  // namespace
}  // namespace ploutos::diagnose
