// Reliability: regime labels, the bootstrap interval, the one-bar delay wrapper, and the flag on an
// edge that lives for exactly one bar.
#include <gtest/gtest.h>

#include "../env/market_fixture.hpp"
#include "ploutos/backtest/reliability.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::backtest {
namespace {

// One ticker; the open-to-open return from bar t+1 to t+2 is +-1% and feature 0 of bar t knows its
// sign (a predictive signal that is only useful if acted on at the very next open).
std::shared_ptr<const env::MarketData> one_bar_signal_market(std::size_t n = 400) {
  auto m = test::flat_market(1, n, 100.0);
  Rng rng(21);
  std::vector<double> open(n + 2, 100.0);
  for (std::size_t t = 1; t < open.size(); ++t) open[t] = open[t - 1] * (rng.bernoulli(0.5) ? 1.01 : 0.99);
  for (std::size_t t = 0; t < n; ++t) {
    const double o = open[t], c = open[t + 1];
    test::set_bar(m, t, 0, o, std::max(o, c), std::min(o, c), c);
    m.features[m.at(t, 0) * m.n_features] = open[t + 2] > open[t + 1] ? 1.0f : -1.0f;
  }
  return std::make_shared<const env::MarketData>(m);
}

env::EnvConfig frictionless() {
  env::EnvConfig c;
  c.min_holding_period = 0;
  c.buy_pct = 1.0;
  c.max_position_pct = 1.0;
  c.max_trades_per_day = 1000;
  c.costs.slippage_model = "none";
  c.costs.spread_bps = 0;
  c.costs.impact_coefficient = 0;
  c.costs.sec_fee = c.costs.finra_taf = 0;
  return c;
}

void follow_signal(std::span<const float> obs, std::span<std::int32_t> a) {
  a[0] = obs[0] > 0 ? env::kBuy : env::kSell;
}

TEST(Reliability, DelayWrapperShiftsDecisionsByOneBar) {
  std::vector<std::int32_t> seen;
  int calls = 0;
  auto delayed = delayed_by_one_bar(
      [&calls](std::span<const float>, std::span<std::int32_t> a) { a[0] = (calls++ % 2) ? env::kSell : env::kBuy; },
      1);
  std::vector<float> obs(1);
  std::vector<std::int32_t> a(1);
  for (int i = 0; i < 4; ++i) {
    delayed(obs, a);
    seen.push_back(a[0]);
  }
  EXPECT_EQ(seen, (std::vector<std::int32_t>{env::kHold, env::kBuy, env::kSell, env::kBuy}));
}

TEST(Reliability, AnEdgeThatDiesWithOneBarOfDelayIsFlagged) {
  const auto m = one_bar_signal_market();
  ReliabilitySpec spec;
  spec.first = 50;
  spec.last = 399;
  spec.seeds = 2;
  spec.bootstrap_samples = 300;
  const auto r = run_reliability(
      m, frictionless(), follow_signal,
      [](std::span<const float> obs, std::span<std::int32_t> a, Rng&) { follow_signal(obs, a); }, spec);
  EXPECT_GT(r.base.sharpe, 3.0) << "the signal is worth a lot at the next open";
  EXPECT_LT(r.delayed.sharpe, 0.5 * r.base.sharpe);
  EXPECT_TRUE(r.suspicious);
  EXPECT_GT(r.sharpe_ci_low, 0.0);
  EXPECT_NE(r.verdict.find("SUSPICIOUS"), std::string::npos);
}

TEST(Reliability, BootstrapIntervalIsSeededAndSeparatesSignalFromNoise) {
  Rng rng(8);
  std::vector<double> drift{1.0}, noise{1.0};
  for (int i = 0; i < 500; ++i) {
    drift.push_back(drift.back() * (1 + 0.002 + 0.005 * rng.normal()));
    noise.push_back(noise.back() * (1 + 0.01 * rng.normal()));
  }
  const auto a = bootstrap_sharpe_ci(drift, 1000, 5, 252, 1);
  EXPECT_GT(a.first, 0.0);
  EXPECT_EQ(a, bootstrap_sharpe_ci(drift, 1000, 5, 252, 1)) << "same seed, same interval";
  const auto b = bootstrap_sharpe_ci(noise, 1000, 5, 252, 1);
  EXPECT_LT(b.first, 0.0);
  EXPECT_GT(b.second, 0.0);
}

TEST(Reliability, RegimesFollowTheBenchmarkReturnOverEachWindow) {
  auto m = test::flat_market(1, 300, 100.0);
  m.tickers = {"SPY"};
  for (std::size_t t = 0; t < 300; ++t) {
    // up 20% over bars 0..99, down 20% over 100..199, flat after
    const double p = t < 100 ? 100 * (1 + 0.2 * t / 99.0) : t < 200 ? 120 * (1 - 0.2 * (t - 100) / 99.0) : 96;
    test::set_bar(m, t, 0, p, p, p, p);
  }
  const auto w = detect_regimes(m, 100, 0.05, "SPY");
  ASSERT_EQ(w.size(), 3u) << "windows of 100 bars from the end";
  EXPECT_EQ(w[0].regime, "sideways");  // 200..299
  EXPECT_EQ(w[1].regime, "bear");      // 100..199
  EXPECT_EQ(w[2].regime, "bull");      // 0..99
  EXPECT_EQ(w[2].first, 0u);
  EXPECT_EQ(detect_regimes(m, 120, 0.05, "SPY").size(), 2u) << "a partial window at the start is dropped";
}

}  // namespace
}  // namespace ploutos::backtest
