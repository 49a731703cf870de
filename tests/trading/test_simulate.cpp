// Backtest-live parity: the same scripted decisions through the environment's backtest engine and
// through the trader with the SimBroker give the same fills, prices and equity (one ticker, where the
// two sizing paths coincide: the next open equals the decision close), bars without trading included.
#include <gtest/gtest.h>

#include <cmath>

#include "../env/market_fixture.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/trading/simulate.hpp"

namespace ploutos::trading {
namespace {

std::int32_t scripted_action(std::size_t bar) {
  Rng rng(derive_seed(5, "parity", bar));
  const double u = rng.uniform();
  return u < 0.3 ? env::kBuy : u < 0.55 ? env::kSell : env::kHold;
}

TEST(Simulate, TraderAndSimBrokerReproduceTheEnvironmentsBacktest) {
  auto m = test::flat_market(1, 160, 100.0);
  Rng rng(17);
  double price = 100;
  // Bars without trading (a halt, a gap in the data) right after decisions to trade: neither
  // engine fills at the price such a bar holds.
  std::size_t gaps = 0;
  for (std::size_t t = 0; t < 160; ++t) {
    if (t > 30 && gaps < 4 && scripted_action(t - 1) != env::kHold && m.tradable[t - 1]) {
      test::set_bar(m, t, 0, price, price, price, price);
      m.tradable[t] = 0;
      ++gaps;
      continue;
    }
    const double close = price * (1 + 0.02 * rng.normal());
    test::set_bar(m, t, 0, price, std::max(price, close) * 1.004, std::min(price, close) * 0.996, close);
    m.volatility[t] = 0.01 + 0.02 * rng.uniform();  // the realistic slippage model reads it
    price = close;                                  // the next open is this close
  }
  const auto market = std::make_shared<const env::MarketData>(m);
  env::EnvConfig env_config;
  env_config.min_holding_period = 0;
  const auto env_run = backtest::run_strategy(
      market, env_config, 20, 150, "env", [](std::span<const float> obs, std::span<std::int32_t> a) {
        a[0] = scripted_action(static_cast<std::size_t>(std::lround(static_cast<double>(obs[0]) * 1000.0)));
      });
  TraderConfig trader_config;
  trader_config.min_holding_period = 0;
  const auto broker_run = simulate_trading(
      market, trader_config, env_config.costs, 20, 150,
      [](const env::MarketData&, std::size_t bar, std::span<const double>, const env::PortfolioState&,
         std::span<std::int32_t> a) { a[0] = scripted_action(bar); },
      "broker");
  ASSERT_GT(env_run.fills.size(), 10u);
  ASSERT_EQ(env_run.fills.size(), broker_run.fills.size());
  for (std::size_t i = 0; i < env_run.fills.size(); ++i) {
    const auto& a = env_run.fills[i];
    const auto& b = broker_run.fills[i];
    EXPECT_EQ(a.bar, b.bar) << i;
    EXPECT_EQ(a.buy, b.buy) << i;
    EXPECT_NEAR(a.quantity, b.quantity, 1e-9 * a.quantity) << i;
    EXPECT_NEAR(a.price, b.price, 1e-9 * a.price) << i;
    EXPECT_NEAR(a.fees, b.fees, 1e-9) << i;
  }
  ASSERT_EQ(env_run.equity.size(), broker_run.equity.size());
  EXPECT_NEAR(env_run.equity.back(), broker_run.equity.back(), 1e-6 * env_run.equity.back());
  EXPECT_NEAR(env_run.costs, broker_run.costs, 1e-6);
  EXPECT_EQ(env_run.metrics.trades, broker_run.metrics.trades);
  EXPECT_NEAR(env_run.metrics.sharpe, broker_run.metrics.sharpe, 1e-9);
}

}  // namespace
}  // namespace ploutos::trading

namespace ploutos::trading {
namespace {

// Bracket mode: the broker's legs sell a position without the trader deciding to. Their fills
// are journaled (as stop_loss or take_profit orders of the entry), so the journal's positions
// keep matching the broker's and the session goes on; a reconciliation failed at the first one.
TEST(Simulate, BracketLegsTheBrokerFillsAreJournaledAndTradingGoesOn) {
  const auto market = std::make_shared<const env::MarketData>(test::random_walk_market(200, 3, 0.03));
  TraderConfig c;
  c.min_holding_period = 0;
  c.bracket_orders = true;
  c.stop_loss_pct = 0.02;
  c.take_profit_pct = 0.03;
  const auto r = simulate_trading(
      market, c, env::EnvConfig{}.costs, 20, 150,
      [](const env::MarketData&, std::size_t, std::span<const double> held, const env::PortfolioState&,
         std::span<std::int32_t> a) { a[0] = held[0] > 0 ? env::kHold : env::kBuy; },
      "broker");
  std::size_t stops = 0, targets = 0, buys = 0;
  for (const auto& f : r.fills) {
    buys += f.buy;
    stops += !f.buy && std::string(f.reason) == "stop_loss";
    targets += !f.buy && std::string(f.reason) == "take_profit";
  }
  EXPECT_GT(stops, 3u);
  EXPECT_GT(targets, 3u);
  EXPECT_GE(buys, stops + targets) << "every exit was a leg of an entry";
  EXPECT_EQ(r.sells, 0u) << "the policy never decided to sell";
}

}  // namespace
}  // namespace ploutos::trading
