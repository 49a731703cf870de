// AlpacaBroker against a fake Trading API v2 on 127.0.0.1: the protocol (headers, order bodies,
// string numbers, lookups), and every injected fault: 429 with Retry-After, 500, a timeout, a
// response lost after the order was accepted, partial fills, a reject for buying power, and a
// position changed behind the trader's back. Secrets never reach a log or the journal.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../env/market_fixture.hpp"
#include "../support/fake_alpaca.hpp"
#include "ploutos/broker/alpaca_broker.hpp"
#include "ploutos/core/logging.hpp"
#include "ploutos/core/secrets.hpp"
#include "ploutos/trading/trader.hpp"

namespace ploutos::broker {
namespace {

using Json = nlohmann::json;

using test::FakeAlpaca;
constexpr const char* kKey = test::kFakeAlpacaKey;
constexpr const char* kSecret = test::kFakeAlpacaSecret;

std::unique_ptr<AlpacaBroker> client(const FakeAlpaca& f, std::vector<double>* waits = nullptr) {
  AlpacaOptions o;
  o.base_url = f.fake.url();
  o.key_id = kKey;
  o.secret = kSecret;
  o.http.timeout_seconds = 1.0;
  o.http.max_retries = 3;
  o.http.sleep = [waits](double s) {
    if (waits != nullptr) waits->push_back(s);
  };
  return std::make_unique<AlpacaBroker>(o);
}

OrderRequest buy(const std::string& cid, double qty) {
  OrderRequest r;
  r.client_order_id = cid;
  r.symbol = "T0";
  r.quantity = qty;
  return r;
}

TEST(AlpacaBroker, SpeaksTheProtocol) {
  FakeAlpaca f;
  auto a = client(f);
  const auto account = a->account();
  EXPECT_DOUBLE_EQ(account.cash, 100000);
  auto r = buy("pl-x-1", 3);
  r.take_profit_price = 110;
  r.stop_loss_price = 95.5;
  const auto o = a->submit(r);
  EXPECT_EQ(o.status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(o.filled_quantity, 3);
  EXPECT_DOUBLE_EQ(o.filled_avg_price, 100);
  const Json& body = f.bodies.back();
  EXPECT_EQ(body["qty"], "3");
  EXPECT_EQ(body["side"], "buy");
  EXPECT_EQ(body["type"], "market");
  EXPECT_EQ(body["time_in_force"], "gtc") << "the legs of a day bracket would be canceled at the close";
  EXPECT_EQ(body["client_order_id"], "pl-x-1");
  EXPECT_EQ(body["order_class"], "bracket");
  EXPECT_EQ(body["take_profit"]["limit_price"], "110.00");
  EXPECT_EQ(body["stop_loss"]["stop_price"], "95.50");
  ASSERT_EQ(a->positions().size(), 1u);
  EXPECT_DOUBLE_EQ(a->positions()[0].quantity, 3);
  EXPECT_TRUE(a->order_by_client_id("pl-x-1"));
  EXPECT_FALSE(a->order_by_client_id("never-sent"));
  const auto clock = a->clock();
  EXPECT_EQ(format_instant(clock.now), "2024-11-29T15:00:00Z");
  EXPECT_TRUE(clock.is_open);
  EXPECT_EQ(format_instant(clock.next_close), "2024-11-29T18:00:00Z");
  const auto days = a->calendar(parse_day("2024-11-27"), parse_day("2024-11-29"));
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[1].close, "13:00");
  EXPECT_TRUE(f.auth_failures.empty());
  EXPECT_THROW(a->cancel("no-such-order"), BrokerError);
}

TEST(AlpacaBroker, RetriesRateLimitsAndServerErrorsWithBackoff) {
  FakeAlpaca f;
  std::vector<double> waits;
  auto a = client(f, &waits);
  f.fail_429 = 1;
  f.fail_500 = 1;
  EXPECT_DOUBLE_EQ(a->account().cash, 100000);
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_DOUBLE_EQ(waits[0], 1.0) << "Retry-After honoured";
  f.fail_500 = 10;  // more than the retries
  try {
    a->account();
    FAIL();
  } catch (const BrokerError& e) {
    EXPECT_EQ(e.kind(), BrokerError::Kind::kTransient);
  }
}

TEST(AlpacaBroker, AResponseLostAfterAcceptanceIsFoundNotDuplicated) {
  FakeAlpaca f;
  auto a = client(f);
  f.slow_accept = true;  // accepted, then the client times out and retries the POST
  const auto o = a->submit(buy("pl-lost", 2));
  EXPECT_EQ(o.client_order_id, "pl-lost");
  EXPECT_EQ(f.orders.size(), 1u) << "exactly one order at the broker";
  EXPECT_DOUBLE_EQ(f.positions["T0"], 2);
}

TEST(AlpacaBroker, RejectsAndAuthFailuresAreClear) {
  FakeAlpaca f;
  auto a = client(f);
  f.reject_next = true;
  try {
    a->submit(buy("pl-poor", 1e6));
    FAIL();
  } catch (const BrokerError& e) {
    EXPECT_EQ(e.kind(), BrokerError::Kind::kRejected);
    EXPECT_NE(std::string(e.what()).find("insufficient buying power"), std::string::npos);
  }
  AlpacaOptions o;
  o.base_url = f.fake.url();
  o.key_id = "wrong";
  o.secret = "wrong";
  AlpacaBroker bad(o);
  try {
    bad.account();
    FAIL();
  } catch (const BrokerError& e) {
    EXPECT_EQ(e.kind(), BrokerError::Kind::kAuth);
    EXPECT_NE(std::string(e.what()).find("ALPACA_API_KEY"), std::string::npos);
  }
}

// The trader over Alpaca: partial fills settle into the journal, a changed position stops trading,
// and no secret is written anywhere.
// Stops of 5% and targets of 10% sent as bracket legs, trades on consecutive cycles allowed.
trading::TraderConfig bracket_config() {
  trading::TraderConfig c;
  c.min_holding_period = 0;
  c.bracket_orders = true;
  c.stop_loss_pct = 0.05;
  c.take_profit_pct = 0.10;
  return c;
}

// A trader in bracket mode on the fake Alpaca, one ticker at 100.
struct BracketSession {
  FakeAlpaca f;
  std::unique_ptr<AlpacaBroker> a = client(f);
  env::MarketData m = test::flat_market(1, 5, 100.0);
  trading::Journal journal{":memory:", false};
  trading::Trader trader;
  explicit BracketSession(trading::DecideFn decide) : trader(*a, journal, bracket_config(), std::move(decide)) {}
};

// Alpaca takes fractional quantities only in simple market day orders: an entry protected by
// broker-side stop-loss and take-profit legs goes out in whole shares (good till canceled, so the
// legs outlive the day), and is accepted; without legs the entry keeps its fractional quantity.
TEST(AlpacaBroker, ABracketEntryGoesOutInWholeSharesAndIsAccepted) {
  for (const bool brackets : {true, false}) {
    FakeAlpaca f;
    auto a = client(f);
    auto m = test::flat_market(1, 5, 100.0);
    trading::Journal journal(":memory:", false);
    trading::TraderConfig c = bracket_config();
    c.bracket_orders = brackets;
    trading::Trader trader(*a, journal, c,
                           [](const env::MarketData&, std::size_t, std::span<const double>, const env::PortfolioState&,
                              std::span<std::int32_t> x) { x[0] = env::kBuy; });
    const auto r = trader.run_cycle(m, 0);
    EXPECT_EQ(r.orders_sent, 1u) << brackets;
    ASSERT_EQ(f.bodies.size(), 1u);
    const Json& body = f.bodies.back();
    const double fractional = 20000 / (100 * 1.02);  // buy_pct of the cash, 2% kept aside, at the close
    if (brackets) {
      EXPECT_EQ(body["qty"], "196");
      EXPECT_EQ(body["order_class"], "bracket");
      EXPECT_EQ(body["time_in_force"], "gtc");
      EXPECT_EQ(body["stop_loss"]["stop_price"], "95.00");
      EXPECT_EQ(journal.orders().at(0).quantity, 196.0);
    } else {
      EXPECT_FALSE(body.contains("order_class"));
      EXPECT_NEAR(std::stod(body["qty"].get<std::string>()), fractional, 1e-6);
    }
    trader.reconcile();
    EXPECT_EQ(journal.orders().at(0).state, "filled") << brackets;
  }
}

// The legs of a filled bracket hold its shares at Alpaca, which refuses to sell shares held for
// other orders: a decision to sell the position cancels its legs first, then sells.
TEST(AlpacaBroker, ASellOfABracketedPositionCancelsItsLegsFirst) {
  BracketSession session([](const env::MarketData&, std::size_t bar, std::span<const double>,
                            const env::PortfolioState&,
                            std::span<std::int32_t> x) { x[0] = bar == 0 ? env::kBuy : env::kSell; });
  auto& [f, a, m, journal, trader] = session;
  trader.run_cycle(m, 0);
  ASSERT_EQ(a->open_orders().size(), 2u) << "the take-profit and stop-loss legs";
  {  // the sell a trader that left the legs alone would send is refused
    auto naked = buy("naked-sell", 196);
    naked.side = Side::kSell;
    EXPECT_THROW(a->submit(naked), BrokerError);
  }
  const auto sold = trader.run_cycle(m, 1);
  EXPECT_EQ(sold.orders_sent, 1u);
  EXPECT_EQ(sold.orders_rejected, 0u);
  EXPECT_TRUE(a->open_orders().empty());
  EXPECT_TRUE(a->positions().empty());
  ASSERT_EQ(journal.events("legs_canceled").size(), 1u);
  trader.reconcile();
}

// When Alpaca fills a leg (the stop was hit between cycles), the journal knows it: the legs were
// journaled as orders of the entry, and reconciling settles them like any other order.
TEST(AlpacaBroker, ALegAlpacaFillsIsJournaledAndReconciles) {
  BracketSession session([](const env::MarketData&, std::size_t, std::span<const double> held,
                            const env::PortfolioState&,
                            std::span<std::int32_t> x) { x[0] = held[0] > 0 ? env::kHold : env::kBuy; });
  auto& [f, a, m, journal, trader] = session;
  trader.run_cycle(m, 0);
  const auto orders = journal.orders();
  ASSERT_EQ(orders.size(), 3u) << "the entry and its two legs";
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(orders[i].parent, orders[0].client_order_id);
    EXPECT_EQ(orders[i].side, Side::kSell);
    EXPECT_EQ(orders[i].quantity, 196.0);
  }
  EXPECT_EQ(journal.orders_on_day(orders[0].decision_time), 1) << "legs are not the day's trades";
  f.hit_leg(orders[0].broker_order_id, "-sl");
  EXPECT_NO_THROW(trader.reconcile());
  EXPECT_TRUE(journal.positions().empty() || journal.positions().at("T0") == 0.0);
  std::size_t stop_fills = 0;
  for (const auto& o : journal.orders()) {
    if (o.intent == "stop_loss") {
      EXPECT_EQ(o.state, "filled");
      stop_fills += o.filled_quantity == 196.0;
    }
    if (o.intent == "take_profit") {
      EXPECT_EQ(o.state, "canceled");
    }
  }
  EXPECT_EQ(stop_fills, 1u);
  const auto next = trader.run_cycle(m, 1);  // flat again: the policy buys, and the session goes on
  EXPECT_EQ(next.orders_sent, 1u);
}

// A trader whose agent buys at every decision, with no holding period.
trading::Trader always_buying(AlpacaBroker& broker, trading::Journal& journal) {
  trading::TraderConfig c;
  c.min_holding_period = 0;
  return trading::Trader(broker, journal, c,
                         [](const env::MarketData&, std::size_t, std::span<const double>, const env::PortfolioState&,
                            std::span<std::int32_t> x) { x[0] = env::kBuy; });
}

TEST(AlpacaBroker, AnOrderAlpacaDoesNotKnowIsLookedUpOnceThenStopsTheTrader) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ploutos_alpaca_unknown_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    FakeAlpaca f;
    auto a = client(f);
    auto m = test::flat_market(1, 5, 100.0);
    trading::Journal journal((dir / "j.sqlite").string(), false);
    auto trader = always_buying(*a, journal);
    ASSERT_EQ(trader.run_cycle(m, 0).orders_sent, 1u);
    const auto sent = journal.orders();
    ASSERT_EQ(sent.size(), 1u);
    journal.set_state(sent[0].client_order_id, "new");  // as if the trader stopped before the fill showed
    {
      std::lock_guard lock(f.mutex);
      f.orders.clear();  // Alpaca lost it (an account reset, another account's keys)
      f.paths.clear();
    }
    try {
      trader.reconcile();
      ADD_FAILURE() << "an order the broker does not know must stop the trader";
    } catch (const trading::ReconciliationError& e) {
      EXPECT_NE(std::string(e.what()).find("unknown to alpaca"), std::string::npos) << e.what();
    }
    std::lock_guard lock(f.mutex);
    EXPECT_EQ(std::count(f.paths.begin(), f.paths.end(), "GET /v2/orders:by_client_order_id"), 1);
  }
  fs::remove_all(dir);
}

TEST(AlpacaBroker, TraderSettlesPartialFillsStopsOnForeignPositionsAndLeaksNoSecret) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ploutos_alpaca_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  register_secret(kKey);
  register_secret(kSecret);
  setup_logging({"debug", (dir / "trade.log").string(), true});
  {
    FakeAlpaca f;
    f.partial = true;
    auto a = client(f);
    auto m = test::flat_market(1, 5, 100.0);
    trading::Journal journal((dir / "j.sqlite").string(), false);
    auto trader = always_buying(*a, journal);
    const auto r = trader.run_cycle(m, 0);
    EXPECT_EQ(r.orders_sent, 1u);
    trader.reconcile();  // the rest of the order filled meanwhile
    const auto orders = journal.orders();
    ASSERT_EQ(orders.size(), 1u);
    EXPECT_EQ(orders[0].state, "filled");
    EXPECT_EQ(journal.fills().size(), 2u) << "two partial fills, each recorded once";
    EXPECT_NEAR(journal.positions().at("T0"), f.positions["T0"], 1e-6);
    f.fail_500 = 1;
    f.positions["T0"] += 5;  // someone bought in the account
    EXPECT_THROW(trader.run_cycle(m, 1), trading::ReconciliationError);
    EXPECT_FALSE(journal.events("reconciliation").empty());
    spdlog::info("request headers carried {} and {}", kKey, kSecret);  // even a careless log line is redacted
  }
  spdlog::default_logger()->flush();
  setup_logging({"info", "", true});
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(bytes.str().find(kKey), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.str().find(kSecret), std::string::npos) << entry.path();
  }
  EXPECT_TRUE(fs::exists(dir / "trade.log"));
  clear_registered_secrets();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ploutos::broker
