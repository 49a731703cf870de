#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ploutos/risk/metrics.hpp"
#include "ploutos/risk/metrics_json.hpp"
#include "ploutos/risk/sizing.hpp"
#include "ploutos/risk/stops.hpp"

using namespace ploutos::risk;

TEST(Stops, AGapThroughTheStopFillsAtTheOpen) {
  StopState state;
  const auto levels = levels_from_entry(100, 0.05, 0.10, 0);
  const auto fill = evaluate_long_stops(levels, state, 90, 92, 88);
  EXPECT_EQ(fill.reason, StopReason::kStopLoss);
  EXPECT_EQ(fill.price, 90);  // not 95
}

TEST(Stops, TouchedLevelsFillAtTheLevelAndBothTouchedMeansStop) {
  const auto levels = levels_from_entry(100, 0.05, 0.10, 0);
  StopState s1, s2, s3, s4;
  EXPECT_EQ(evaluate_long_stops(levels, s1, 99, 101, 94).price, 95);
  EXPECT_EQ(evaluate_long_stops(levels, s2, 101, 111, 99).reason, StopReason::kTakeProfit);
  EXPECT_EQ(evaluate_long_stops(levels, s3, 101, 111, 99).price, 110.00000000000001);
  const auto both = evaluate_long_stops(levels, s4, 100, 112, 94);
  EXPECT_EQ(both.reason, StopReason::kStopLoss);
  EXPECT_EQ(both.price, 95);
  StopState s5;
  const auto gap_up = evaluate_long_stops(levels, s5, 115, 116, 114);
  EXPECT_EQ(gap_up.reason, StopReason::kTakeProfit);
  EXPECT_EQ(gap_up.price, 115);
}

TEST(Stops, TrailingStopFollowsTheHighSeenBefore) {
  const auto levels = levels_from_entry(100, 0.0, 0.0, 0.10);
  StopState state;
  EXPECT_EQ(evaluate_long_stops(levels, state, 100, 120, 100).reason, StopReason::kNone);  // high 120 recorded
  const auto fill = evaluate_long_stops(levels, state, 110, 111, 107);
  EXPECT_EQ(fill.reason, StopReason::kTrailingStop);
  EXPECT_DOUBLE_EQ(fill.price, 108);
}

// Winning trades only: the profit factor is unbounded, not 0 (which reads as "nothing but losses").
TEST(Metrics, ProfitFactorWithoutALosingTradeIsInfiniteAndNullInJson) {
  const std::vector<double> equity{100, 105, 110};
  const std::vector<ClosedTrade> wins{{5, 0.05, 1}, {5, 0.05, 1}};
  const auto m = compute_metrics(equity, wins, 200, 252);
  EXPECT_TRUE(std::isinf(m.profit_factor) && m.profit_factor > 0);
  EXPECT_TRUE(metrics_to_json(m)["profit_factor"].is_null()) << metrics_to_json(m).dump();
  EXPECT_EQ(compute_metrics(equity, {}, 0, 252).profit_factor, 0.0) << "no trades";
  const std::vector<ClosedTrade> flat{{0, 0, 1}};
  EXPECT_EQ(compute_metrics(equity, flat, 100, 252).profit_factor, 0.0) << "no profit";
}

TEST(Metrics, KnownCurve) {
  const std::vector<double> equity{100, 110, 99, 121};
  const std::vector<ClosedTrade> trades{{10, 0.1, 3}, {-5, -0.05, 2}, {20, 0.2, 1}};
  const auto m = compute_metrics(equity, trades, 300, 252);
  EXPECT_NEAR(m.total_return, 0.21, 1e-12);
  EXPECT_NEAR(m.max_drawdown, 0.1, 1e-12);
  EXPECT_EQ(m.max_drawdown_duration, 1u);
  EXPECT_NEAR(m.win_rate, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.profit_factor, 6.0, 1e-12);
  EXPECT_NEAR(m.expectancy, 25.0 / 3, 1e-12);
  const double r[] = {0.1, -0.1, 121.0 / 99 - 1};
  const double mean = (r[0] + r[1] + r[2]) / 3;
  double var = 0;
  for (double x : r) var += (x - mean) * (x - mean);
  EXPECT_NEAR(m.sharpe, mean / std::sqrt(var / 2) * std::sqrt(252.0), 1e-9);
  EXPECT_NEAR(m.sortino, mean / std::sqrt(0.01 / 3) * std::sqrt(252.0), 1e-9);
  EXPECT_NEAR(m.avg_holding_bars, 2.0, 1e-12);
  EXPECT_NEAR(m.calmar, m.annual_return / 0.1, 1e-9 * m.calmar);
  const std::vector<double> exposure{0.0, 0.5, 1.0};
  EXPECT_NEAR(compute_metrics(equity, trades, 300, 252, exposure).exposure, 0.5, 1e-12);
}

TEST(Sizing, KellyAndVolTarget) {
  // W = 0.6, R = 1: f* = 0.2; half Kelly 0.1.
  EXPECT_NEAR(kelly_fraction(60, 40, 1.0, 1.0, 0.5, 0.25), 0.1, 1e-12);
  EXPECT_EQ(kelly_fraction(6, 4, 1.0, 1.0, 0.5, 0.25), 0.0);    // too few trades
  EXPECT_EQ(kelly_fraction(30, 70, 1.0, 1.0, 0.5, 0.25), 0.0);  // negative edge
  EXPECT_NEAR(vol_target_weight(0.15, 0.30, 1.0), 0.5, 1e-12);
  EXPECT_EQ(vol_target_weight(0.15, 0.05, 1.0), 1.0);
  Breakers b{0.2, 0.05};
  EXPECT_TRUE(b.drawdown_tripped(80, 100));
  EXPECT_FALSE(b.drawdown_tripped(81, 100));
  EXPECT_TRUE(b.daily_loss_tripped(95, 100));
}
