// SimBroker: fills at the next bar's open through the cost model, limit/stop/bracket rules, partial
// fills, refusals, and a state that survives a save/load.
#include <gtest/gtest.h>

#include "../env/market_fixture.hpp"
#include "ploutos/broker/sim_broker.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/trading/session.hpp"

namespace ploutos::broker {
namespace {

std::shared_ptr<SimBars> bars(std::size_t n_bars = 10) {
  auto m = test::flat_market(2, n_bars, 100.0);
  for (std::size_t t = 0; t < n_bars; ++t) test::set_bar(m, t, 0, 100 + t, 101 + t, 99 + t, 100.5 + t);
  return std::make_shared<SimBars>(trading::sim_bars_from(m));
}

OrderRequest market(const std::string& cid, Side side, double q, const std::string& symbol = "T0") {
  OrderRequest r;
  r.client_order_id = cid;
  r.symbol = symbol;
  r.side = side;
  r.quantity = q;
  return r;
}

// No slippage, spread or impact: fills at the reference price, so a test can name it.
SimOptions frictionless() {
  SimOptions options;
  options.costs.slippage_model = "none";
  options.costs.spread_bps = 0;
  options.costs.impact_coefficient = 0;
  return options;
}

TEST(SimBroker, MarketOrderFillsAtTheNextOpenThroughTheCostModel) {
  auto b = bars();
  SimOptions options;
  SimBroker sim(b, options, 2);
  const Order accepted = sim.submit(market("a", Side::kBuy, 10));
  EXPECT_EQ(accepted.status, OrderStatus::kNew);
  EXPECT_TRUE(sim.positions().empty()) << "nothing fills before the market moves";
  ASSERT_TRUE(sim.advance());
  const auto filled = *sim.order_by_client_id("a");
  const costs::CostModel model(options.costs);
  Rng latency(derive_seed(options.seed, filled.id, 3));
  const auto expected = model.fill(costs::Side::kBuy, b->open[b->at(3, 0)], 10,
                                   {b->volatility[b->at(2, 0)], b->volume[b->at(2, 0)], b->adv[b->at(2, 0)]}, &latency);
  EXPECT_EQ(filled.status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(filled.filled_avg_price, expected.price);
  EXPECT_GT(filled.filled_avg_price, 103.0) << "a buy pays above the open";
  EXPECT_DOUBLE_EQ(sim.account().cash, 100000 - expected.price * 10 - expected.fees);
  ASSERT_EQ(sim.positions().size(), 1u);
  EXPECT_DOUBLE_EQ(sim.positions()[0].quantity, 10);
}

TEST(SimBroker, LimitAndStopOrdersFillWhenTouchedAndAtTheOpenOnAGap) {
  auto m = test::flat_market(1, 6, 100.0);
  test::set_bar(m, 1, 0, 100, 101, 99, 100);
  test::set_bar(m, 2, 0, 90, 92, 88, 91);  // gaps down through the stop
  test::set_bar(m, 3, 0, 91, 95, 90, 94);
  auto b = std::make_shared<SimBars>(trading::sim_bars_from(m));
  SimOptions options = frictionless();
  SimBroker sim(b, options, 0);
  sim.submit(market("buy", Side::kBuy, 10));
  sim.advance();  // bar 1: bought at 100
  OrderRequest stop = market("stop", Side::kSell, 10);
  stop.type = OrderType::kStop;
  stop.stop_price = 95;
  stop.time_in_force = "gtc";
  sim.submit(stop);
  OrderRequest limit = market("limit", Side::kBuy, 1);
  limit.type = OrderType::kLimit;
  limit.limit_price = 50;  // never touched: a day order expires
  sim.submit(limit);
  sim.advance();  // bar 2 opens at 90, below the stop
  EXPECT_DOUBLE_EQ(sim.order_by_client_id("stop")->filled_avg_price, 90.0) << "a gap fills at the open, not the stop";
  EXPECT_EQ(sim.order_by_client_id("limit")->status, OrderStatus::kExpired);
  OrderRequest touched = market("limit2", Side::kBuy, 1);
  touched.type = OrderType::kLimit;
  touched.limit_price = 90.5;
  sim.submit(touched);
  sim.advance();  // bar 3: low 90 touches 90.5; open 91 is above it
  EXPECT_DOUBLE_EQ(sim.order_by_client_id("limit2")->filled_avg_price, 90.5);
}

TEST(SimBroker, BracketLegsAreOneCancelsOtherAndTheStopWinsABarThatTouchesBoth) {
  auto m = test::flat_market(1, 5, 100.0);
  test::set_bar(m, 1, 0, 100, 100.5, 99.5, 100);
  test::set_bar(m, 2, 0, 100, 111, 89, 100);  // touches both legs
  auto b = std::make_shared<SimBars>(trading::sim_bars_from(m));
  SimOptions options = frictionless();
  SimBroker sim(b, options, 0);
  OrderRequest r = market("br", Side::kBuy, 10);
  r.take_profit_price = 110;
  r.stop_loss_price = 90;
  const auto parent = sim.submit(r);
  EXPECT_EQ(parent.legs.size(), 2u);
  sim.advance();
  EXPECT_EQ(sim.open_orders().size(), 2u) << "both legs live once the parent filled";
  sim.advance();
  EXPECT_EQ(sim.order_by_client_id("br-sl")->status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(sim.order_by_client_id("br-sl")->filled_avg_price, 90.0);
  EXPECT_EQ(sim.order_by_client_id("br-tp")->status, OrderStatus::kCanceled);
  EXPECT_TRUE(sim.positions().empty());
}

TEST(SimBroker, PartialFillsTakeAShareOfEachBarsVolume) {
  auto b = bars();
  SimOptions options;
  options.max_volume_share = 0.00001;  // 10 shares of a 1e6 bar
  SimBroker sim(b, options, 0);
  sim.submit(market("p", Side::kBuy, 25));
  sim.advance();
  EXPECT_EQ(sim.order_by_client_id("p")->status, OrderStatus::kPartiallyFilled);
  EXPECT_NEAR(sim.order_by_client_id("p")->filled_quantity, 10, 1e-9);
  sim.advance();
  sim.advance();
  EXPECT_EQ(sim.order_by_client_id("p")->status, OrderStatus::kFilled);
  EXPECT_NEAR(sim.positions()[0].quantity, 25, 1e-9);
}

// A stop that the bar's volume let fill only partly was triggered: its rest is a market order and
// fills at the next opens, even when the price is back above the stop.
TEST(SimBroker, APartlyFilledStopKeepsSellingAtTheOpens) {
  auto m = test::flat_market(1, 6, 100.0);
  test::set_bar(m, 1, 0, 100, 101, 99, 100);
  test::set_bar(m, 2, 0, 97, 98, 94, 96);     // touches the stop at 95
  test::set_bar(m, 3, 0, 99, 100, 98, 99.5);  // back above it
  test::set_bar(m, 4, 0, 101, 102, 100, 101);
  auto b = std::make_shared<SimBars>(trading::sim_bars_from(m));
  SimOptions options = frictionless();
  options.max_volume_share = 0.00001;  // 10 shares of a 1e6 bar
  SimBroker sim(b, options, 0);
  sim.set_position("T0", 25, 100);
  OrderRequest stop = market("stop", Side::kSell, 25);
  stop.type = OrderType::kStop;
  stop.stop_price = 95;
  stop.time_in_force = "gtc";
  sim.submit(stop);
  sim.advance();  // bar 1 stays above the stop
  EXPECT_EQ(sim.order_by_client_id("stop")->filled_quantity, 0.0);
  sim.advance();  // bar 2: triggered, 10 sold at the stop
  EXPECT_NEAR(sim.order_by_client_id("stop")->filled_quantity, 10, 1e-9);
  EXPECT_DOUBLE_EQ(sim.order_by_client_id("stop")->filled_avg_price, 95.0);
  sim.advance();  // bar 3: 10 more at its open
  sim.advance();  // bar 4: the last 5
  const auto done = *sim.order_by_client_id("stop");
  EXPECT_EQ(done.status, OrderStatus::kFilled);
  EXPECT_NEAR(done.filled_avg_price, (10 * 95.0 + 10 * 99.0 + 5 * 101.0) / 25, 1e-9);
  EXPECT_TRUE(sim.positions().empty());
}

// A bar a symbol did not trade (a halt, a gap in the data: the market holds its last close there)
// fills nothing at that stale price. A day order dies with it, as at a real broker (and as the
// environment refuses a trade whose fill bar cannot trade); a GTC order waits for the next real bar.
TEST(SimBroker, NothingFillsOnABarTheSymbolDidNotTrade) {
  auto m = test::flat_market(1, 6, 100.0);
  for (std::size_t t = 0; t < 6; ++t) test::set_bar(m, t, 0, 100 + t, 101 + t, 99 + t, 100.5 + t);
  test::set_bar(m, 2, 0, 101.5, 101.5, 101.5, 101.5);  // bar 2: no data, bar 1's close held
  m.tradable[m.at(2, 0)] = 0;
  auto b = std::make_shared<SimBars>(trading::sim_bars_from(m));
  SimBroker sim(b, {}, 1);
  sim.submit(market("day", Side::kBuy, 10));
  OrderRequest gtc = market("gtc", Side::kBuy, 5);
  gtc.time_in_force = "gtc";
  sim.submit(gtc);
  ASSERT_TRUE(sim.advance());  // to bar 2
  const auto day = *sim.order_by_client_id("day");
  EXPECT_EQ(day.status, OrderStatus::kExpired);
  EXPECT_EQ(day.filled_quantity, 0.0);
  EXPECT_NE(day.reject_reason.find("did not trade"), std::string::npos) << day.reject_reason;
  EXPECT_EQ(sim.order_by_client_id("gtc")->status, OrderStatus::kNew);
  EXPECT_DOUBLE_EQ(sim.account().cash, 100000);
  EXPECT_TRUE(sim.fills().empty());
  ASSERT_TRUE(sim.advance());  // to bar 3, a real one
  const auto filled = *sim.order_by_client_id("gtc");
  EXPECT_EQ(filled.status, OrderStatus::kFilled);
  EXPECT_GT(filled.filled_avg_price, 103.0) << "bar 3's open, not the stale price";
  ASSERT_EQ(sim.fills().size(), 1u);
  EXPECT_EQ(sim.fills()[0].bar, 3u);
}

TEST(SimBroker, RefusesWhatARealBrokerRefuses) {
  auto b = bars();
  SimBroker sim(b, {}, 0);
  sim.submit(market("x", Side::kBuy, 1));
  EXPECT_THROW(sim.submit(market("x", Side::kBuy, 1)), BrokerError) << "duplicate client order id";
  try {
    sim.submit(market("big", Side::kBuy, 1e6));
    FAIL() << "no buying power for 100 M USD";
  } catch (const BrokerError& e) {
    EXPECT_EQ(e.kind(), BrokerError::Kind::kRejected);
    EXPECT_NE(std::string(e.what()).find("buying power"), std::string::npos);
  }
  EXPECT_THROW(sim.submit(market("short", Side::kSell, 5, "T1")), BrokerError) << "no shorting";
  EXPECT_THROW(sim.submit(market("nosuch", Side::kBuy, 1, "ZZZ")), BrokerError);
}

TEST(SimBroker, StateSurvivesSaveAndLoadExactly) {
  auto b = bars(20);
  SimBroker a(b, {}, 0);
  a.submit(market("1", Side::kBuy, 7));
  a.advance();
  OrderRequest r = market("2", Side::kBuy, 3);
  r.stop_loss_price = 50;
  r.take_profit_price = 200;
  a.submit(r);
  const std::string state = a.save_state();
  SimBroker c(b, {}, 0);
  c.load_state(state, "state.json");
  EXPECT_EQ(c.save_state(), state);
  for (int i = 0; i < 5; ++i) {
    a.advance();
    c.advance();
  }
  EXPECT_EQ(c.save_state(), a.save_state());
  EXPECT_THROW(c.load_state("{\"bar\": 1}", "bad.json"), InputError);
}

}  // namespace
}  // namespace ploutos::broker
