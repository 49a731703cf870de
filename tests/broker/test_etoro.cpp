// EtoroBroker against a fake eToro Public API on 127.0.0.1: API-key headers and a fresh request id
// per request, the demo path, instrument lookup, opening by units with stop-loss/take-profit
// rates, closing (partly), the portfolio, and the faults: 429, 500, a response lost after the
// position was opened (recovered from the portfolio, not reopened), and a reject.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>

#include "../env/market_fixture.hpp"
#include "../support/fake_server.hpp"
#include "ploutos/broker/etoro_broker.hpp"
#include "ploutos/trading/trader.hpp"

namespace ploutos::broker {
namespace {

using Json = nlohmann::json;

struct FakeEtoro {
  test::FakeServer fake;
  std::mutex mutex;
  std::map<std::string, Json> positions;  // by position id
  int next_position = 1000;
  double credit = 50000;
  std::set<std::string> request_ids;
  std::vector<std::string> paths;
  std::vector<Json> opens;
  int fail_429 = 0, fail_500 = 0;
  bool slow_open = false, reject_open = false, bad_headers = false;
  int closes_before_failing = -1;      // >= 0: closes answered before every further one gets a 500
  int closes = 0;                      // closes done
  int lose_close_answer = 0;           // > 0: the close that many from now answers after the timeout
  int fail_portfolio_after_close = 0;  // portfolio reads that get a 500 after the lost answer
  int portfolio_500s = 0;
  bool hold_opens = false;              // accepted opens stay out of the positions until release()
  bool list_held = true;                // held opens show as the portfolio's ordersForOpen
  std::map<std::string, Json> held;     // by position id
  std::map<std::string, Json> waiting;  // the ordersForOpen of the held opens, by position id
  int next_order = 555;
  bool hold_closes = false;  // accepted closes wait (as ordersForClose) until release()
  std::vector<Json> waiting_closes;
  std::vector<std::string> looked_up;  // instrumentIds of each instruments request

  void release() {  // the market opens: what waited executes
    std::lock_guard lock(mutex);
    positions.merge(held);
    waiting.clear();
    for (const auto& c : waiting_closes)
      close(std::to_string(c["positionId"].get<long long>()), c["unitsToDeduct"].get<double>());
    waiting_closes.clear();
  }

  void close(const std::string& id, double units_to_deduct) {  // under the mutex
    const auto it = positions.find(id);
    if (it == positions.end()) return;
    const double units = it->second["units"].get<double>();
    const double cut = units_to_deduct > 0 ? units_to_deduct : units;
    credit += cut * 189.9;
    if (cut >= units - 1e-9) {
      positions.erase(it);
    } else {
      it->second["units"] = units - cut;
    }
  }

  FakeEtoro() {
    auto& s = fake.server();
    auto guard = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      paths.push_back(req.method + " " + req.path);
      const auto id = req.get_header_value("x-request-id");
      if (req.get_header_value("x-api-key") != "etoro-app-key-123" ||
          req.get_header_value("x-user-key") != "etoro-user-key-456" || id.size() != 36 || request_ids.count(id)) {
        bad_headers = true;
        res.status = 401;
        return false;
      }
      if (fail_429 > 0) {
        --fail_429;
        res.status = 429;
        res.set_header("Retry-After", "2");
        return false;
      }
      if (fail_500 > 0) {
        --fail_500;
        res.status = 500;
        return false;
      }
      request_ids.insert(id);  // a retry after a fault may repeat its id; an answered request may not
      return true;
    };
    s.Get("/api/v1/market-data/search", [guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      const auto symbol = req.get_param_value("internalSymbolFull");
      Json items = Json::array();
      if (symbol == "AAPL") items.push_back({{"instrumentId", 1001}, {"internalSymbolFull", "AAPL"}});
      res.set_content(Json{{"items", items}}.dump(), "application/json");
    });
    s.Get("/api/v1/market-data/instruments", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      looked_up.push_back(req.get_param_value("instrumentIds"));
      Json items = Json::array();
      for (const auto& [id, symbol] : {std::pair{1001, "AAPL"}, std::pair{1002, "MSFT"}}) {
        if (("," + req.get_param_value("instrumentIds") + ",").find("," + std::to_string(id) + ",") !=
            std::string::npos)
          items.push_back({{"instrumentID", id}, {"symbolFull", symbol}, {"instrumentDisplayName", symbol}});
      }
      res.set_content(Json{{"instrumentDisplayDatas", items}}.dump(), "application/json");
    });
    s.Get("/api/v1/market-data/instruments/rates", [guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      res.set_content(R"({"rates":[{"instrumentID":1001,"bid":189.9,"ask":190.1}]})", "application/json");
    });
    s.Post(R"(/api/v1/trading/execution/demo/market-open-orders/by-(units|amount))", [this, guard](
                                                                                         const httplib::Request& req,
                                                                                         httplib::Response& res) {
      if (!guard(req, res)) return;
      bool late = false;
      {
        std::lock_guard lock(mutex);
        Json body = Json::parse(req.body);
        if (body.contains("Amount")) body["AmountInUnits"] = body["Amount"].get<double>() / 190.1;
        opens.push_back(body);
        if (reject_open) {
          reject_open = false;
          res.status = 400;
          res.set_content(R"({"errorCode":"InsufficientFunds","errorMessage":"not enough funds"})", "application/json");
          return;
        }
        const std::string id = std::to_string(next_position++);
        positions[id] = {{"positionID", std::stoll(id)},
                         {"instrumentID", body["InstrumentID"]},
                         {"isBuy", true},
                         {"units", body["AmountInUnits"]},
                         {"openRate", 190.1},
                         {"amount", 190.1 * body["AmountInUnits"].get<double>()},
                         {"openDateTime", format_instant(now_utc())}};
        credit -= positions[id]["amount"].get<double>();
        const int order_id = next_order++;
        if (hold_opens) {
          waiting[id] = {{"orderId", order_id},
                         {"instrumentId", body["InstrumentID"]},
                         {"isBuy", true},
                         {"amountInUnits", body["AmountInUnits"]},
                         {"amount", positions[id]["amount"]},
                         {"openDateTime", format_instant(now_utc())}};
          held.insert(positions.extract(id));
        }
        res.set_content(Json{{"orderForOpen", {{"orderID", order_id}, {"statusID", 1}}}}.dump(), "application/json");
        late = slow_open;
        slow_open = false;
      }
      if (late) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    });
    s.Post(R"(/api/v1/trading/execution/demo/market-close-orders/positions/(\d+))",
           [this, guard](const httplib::Request& req, httplib::Response& res) {
             if (!guard(req, res)) return;
             bool late = false;
             {
               std::lock_guard lock(mutex);
               if (closes_before_failing == 0) {
                 res.status = 500;
                 return;
               }
               if (closes_before_failing > 0) --closes_before_failing;
               const auto it = positions.find(req.matches[1]);
               if (it == positions.end()) {
                 res.status = 404;
                 return;
               }
               const Json body = Json::parse(req.body);
               const double cut = body.contains("UnitsToDeduct") ? body["UnitsToDeduct"].get<double>() : 0.0;
               if (hold_closes) {
                 waiting_closes.push_back({{"orderId", next_order++},
                                           {"instrumentId", body["InstrumentId"]},
                                           {"positionId", std::stoll(it->first)},
                                           {"unitsToDeduct", cut},
                                           {"openDateTime", format_instant(now_utc())}});
               } else {
                 close(it->first, cut);
               }
               ++closes;
               late = lose_close_answer > 0 && --lose_close_answer == 0;
               if (late) portfolio_500s = std::exchange(fail_portfolio_after_close, 0);
               res.set_content(R"({"token":"ok"})", "application/json");
             }
             if (late) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
           });
    s.Get("/api/v1/trading/info/demo/portfolio", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      if (portfolio_500s > 0) {
        --portfolio_500s;
        res.status = 500;
        return;
      }
      Json ps = Json::array(), os = Json::array();
      for (const auto& [id, p] : positions) ps.push_back(p);
      if (list_held) {
        for (const auto& [id, o] : waiting) os.push_back(o);
      }
      res.set_content(
          Json{{"clientPortfolio",
                {{"credit", credit}, {"positions", ps}, {"ordersForOpen", os}, {"ordersForClose", waiting_closes}}}}
              .dump(),
          "application/json");
    });
    fake.start();
  }
  ~FakeEtoro() { fake.stop(); }  // before the members its handlers use are destroyed
};

// max_retries 0 unless a test asks: the HTTP client never repeats an open anyway.
std::unique_ptr<EtoroBroker> client(const FakeEtoro& f, std::vector<double>* waits = nullptr, int max_retries = 0) {
  EtoroOptions o;
  o.base_url = f.fake.url() + "/api/v1";
  o.api_key = "etoro-app-key-123";
  o.user_key = "etoro-user-key-456";
  o.demo = true;
  o.http.timeout_seconds = 1.0;
  o.http.max_retries = max_retries;
  o.http.sleep = [waits](double s) {
    if (waits != nullptr) waits->push_back(s);
  };
  return std::make_unique<EtoroBroker>(o);
}

OrderRequest order(const std::string& cid, Side side, double units) {
  OrderRequest r;
  r.client_order_id = cid;
  r.symbol = "AAPL";
  r.side = side;
  r.quantity = units;
  return r;
}

TEST(EtoroBroker, OpensClosesAndReadsThePortfolio) {
  FakeEtoro f;
  auto e = client(f);
  EXPECT_EQ(e->instrument_id("AAPL"), 1001);
  EXPECT_THROW(e->instrument_id("NOPE"), BrokerError);
  auto r = order("c1", Side::kBuy, 10);
  r.stop_loss_price = 180;
  r.take_profit_price = 210;
  const auto opened = e->submit(r);
  EXPECT_EQ(opened.status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(opened.filled_quantity, 10);
  EXPECT_DOUBLE_EQ(opened.filled_avg_price, 190.1);
  EXPECT_EQ(f.opens.back()["InstrumentID"], 1001);
  EXPECT_EQ(f.opens.back()["IsBuy"], true);
  EXPECT_EQ(f.opens.back()["Leverage"], 1);
  EXPECT_DOUBLE_EQ(f.opens.back()["StopLossRate"].get<double>(), 180);
  EXPECT_DOUBLE_EQ(f.opens.back()["TakeProfitRate"].get<double>(), 210);
  OrderRequest by_amount = order("c2", Side::kBuy, 0);
  by_amount.notional = 950.5;  // 5 units at 190.1
  const auto amount_order = e->submit(by_amount);
  EXPECT_NEAR(amount_order.filled_quantity, 5, 1e-9);
  EXPECT_DOUBLE_EQ(f.opens.back()["Amount"].get<double>(), 950.5);
  ASSERT_EQ(e->positions().size(), 1u);
  EXPECT_DOUBLE_EQ(e->positions()[0].quantity, 15);
  EXPECT_DOUBLE_EQ(e->positions()[0].market_price, 190.0) << "the mid rate (the journal's last price)";
  EXPECT_DOUBLE_EQ(e->latest_price("AAPL"), 190.0);
  const auto sold = e->submit(order("c3", Side::kSell, 12));  // the oldest position, then part of the next
  EXPECT_EQ(sold.status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(e->positions()[0].quantity, 3);
  EXPECT_THROW(e->submit(order("c4", Side::kSell, 100)), BrokerError) << "cannot sell more than held";
  EXPECT_FALSE(f.bad_headers) << "every request carried both keys and a fresh x-request-id";
  EXPECT_GT(f.request_ids.size(), 8u);
}

TEST(EtoroBroker, AShortOpenedByHandNetsAgainstTheLongsWithAFiniteEntryPrice) {
  FakeEtoro f;
  auto e = client(f);
  e->submit(order("c1", Side::kBuy, 10));
  auto add_short = [&](const std::string& id, double units) {
    std::lock_guard lock(f.mutex);
    f.positions[id] = {{"positionID", std::stoll(id)},
                       {"instrumentID", 1001},
                       {"isBuy", false},
                       {"units", units},
                       {"openRate", 200.0},
                       {"amount", 200.0 * units},
                       {"openDateTime", format_instant(now_utc())}};
  };
  add_short("900", 4);
  ASSERT_EQ(e->positions().size(), 1u);
  EXPECT_DOUBLE_EQ(e->positions()[0].quantity, 6);
  EXPECT_NEAR(e->positions()[0].avg_entry_price, (10 * 190.1 - 4 * 200.0) / 6, 1e-9);
  add_short("901", 6);  // a hedge: net zero, which 0/0 used to turn into a NaN entry price
  ASSERT_EQ(e->positions().size(), 1u);
  EXPECT_NEAR(e->positions()[0].quantity, 0, 1e-9);
  EXPECT_EQ(e->positions()[0].avg_entry_price, 0.0);
}

TEST(EtoroBroker, ALostOpenResponseIsRecoveredFromThePortfolioNotReopened) {
  FakeEtoro f;
  auto e = client(f);
  f.slow_open = true;
  const Instant before = now_utc() - std::chrono::seconds{2};
  try {
    e->submit(order("lost", Side::kBuy, 7));
    FAIL() << "the response never arrived";
  } catch (const BrokerError& err) {
    EXPECT_EQ(err.kind(), BrokerError::Kind::kTransient);
  }
  EXPECT_EQ(f.opens.size(), 1u);
  {
    // With the HTTP retries a session configures: the timed-out open is not sent again.
    std::vector<double> waits;
    auto retrying = client(f, &waits, 3);
    f.slow_open = true;
    EXPECT_THROW(retrying->submit(order("lost-again", Side::kBuy, 2)), BrokerError);
    EXPECT_EQ(f.opens.size(), 2u) << "one open each, no HTTP retry of an open";
    EXPECT_TRUE(waits.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the slow answer ends
  }
  auto fresh = client(f);  // as after a restart: nothing in memory
  const auto found = fresh->recover(order("lost", Side::kBuy, 7), before, {});
  ASSERT_TRUE(found);
  EXPECT_DOUBLE_EQ(found->filled_quantity, 7);
  EXPECT_EQ(f.opens.size(), 2u) << "recovering opened nothing";
  // A position we already know is not claimed twice.
  EXPECT_FALSE(fresh->recover(order("other", Side::kBuy, 7), before, {found->id}));
}

TEST(EtoroBroker, ALostOpenResponseFindsTheOrderEtoroHoldsForTheMarket) {
  FakeEtoro f;
  auto e = client(f);
  f.hold_opens = true;  // placed while the market is closed: an order for open, no position yet
  f.slow_open = true;
  const Instant before = now_utc() - std::chrono::seconds{2};
  EXPECT_THROW(e->submit(order("night", Side::kBuy, 4)), BrokerError);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the slow answer ends
  EXPECT_NEAR(e->account().equity, 50000, 1e-6) << "the amount set aside for the open is still the account's";
  EXPECT_NEAR(e->account().cash, 50000 - 4 * 190.1, 1e-6);
  auto fresh = client(f);
  const auto found = fresh->recover(order("night", Side::kBuy, 4), before, {});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->status, OrderStatus::kNew);
  EXPECT_EQ(found->id, "order:555");
  EXPECT_FALSE(client(f)->recover(order("other", Side::kBuy, 4), before, {"order:555"})) << "known: not claimed";
  f.release();
  const auto filled = fresh->order_by_client_id("night");
  ASSERT_TRUE(filled);
  EXPECT_EQ(filled->status, OrderStatus::kFilled);
  EXPECT_EQ(filled->id, "position:1000");
  EXPECT_EQ(f.opens.size(), 1u) << "recovering opened nothing";
}

TEST(EtoroBroker, ASellThatFailsAfterClosingSomePositionsEndsWithWhatItClosed) {
  FakeEtoro f;
  auto e = client(f);
  e->submit(order("b1", Side::kBuy, 10));
  e->submit(order("b2", Side::kBuy, 5));
  f.closes_before_failing = 1;
  const auto sold = e->submit(order("s1", Side::kSell, 12));
  EXPECT_EQ(sold.status, OrderStatus::kCanceled);
  EXPECT_DOUBLE_EQ(sold.filled_quantity, 10) << "the oldest position was closed, the second close failed";
  EXPECT_NE(sold.reject_reason.find("HTTP 500"), std::string::npos) << sold.reject_reason;
  EXPECT_DOUBLE_EQ(e->positions().front().quantity, 5);
  EXPECT_EQ(e->order_by_client_id("s1")->status, OrderStatus::kCanceled) << "final: nothing left to settle";
  f.closes_before_failing = 0;
  EXPECT_THROW(e->submit(order("s2", Side::kSell, 5)), BrokerError) << "nothing closed: the sell failed";
  EXPECT_DOUBLE_EQ(e->positions().front().quantity, 5);
}

TEST(EtoroBroker, ALostCloseAnswerIsReadFromThePortfolioNotSentAgain) {
  FakeEtoro f;
  auto e = client(f);
  e->submit(order("b1", Side::kBuy, 10));
  e->submit(order("b2", Side::kBuy, 5));
  f.lose_close_answer = 2;  // the second position's close goes through; its answer times out
  const auto sold = e->submit(order("s1", Side::kSell, 12));
  EXPECT_EQ(sold.status, OrderStatus::kFilled) << sold.reject_reason;
  EXPECT_DOUBLE_EQ(sold.filled_quantity, 12);
  EXPECT_EQ(f.closes, 2);
  EXPECT_DOUBLE_EQ(e->positions().front().quantity, 3);

  // The first close's answer lost and the portfolio unreadable just after: unknown, then read back.
  f.lose_close_answer = 1;
  f.fail_portfolio_after_close = 1;
  const Instant before = now_utc() - std::chrono::seconds{2};
  EXPECT_THROW(e->submit(order("s2", Side::kSell, 3)), BrokerError);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the late answer ends
  const auto found = e->recover(order("s2", Side::kSell, 3), before, {});
  ASSERT_TRUE(found) << "this process knows what it held before the close";
  EXPECT_EQ(found->status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(found->filled_quantity, 3);
  EXPECT_EQ(f.closes, 3) << "recovering closed nothing more";
  EXPECT_TRUE(e->positions().empty());
  EXPECT_EQ(e->order_by_client_id("s2")->status, OrderStatus::kFilled);
  // A restarted process knows nothing of its closes: reconciliation decides.
  EXPECT_FALSE(client(f)->recover(order("s2", Side::kSell, 3), before, {}));
}

TEST(EtoroBroker, ACloseEtoroHoldsForTheMarketIsSoldWithItsUnitsOutOfThePositions) {
  FakeEtoro f;
  auto e = client(f);
  e->submit(order("b1", Side::kBuy, 10));
  f.hold_closes = true;  // placed while the market is closed: orders for close until it opens
  const auto sold = e->submit(order("s1", Side::kSell, 4));
  EXPECT_EQ(sold.status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(sold.filled_avg_price, 190.0) << "the mid rate when the sell was sent";
  ASSERT_EQ(e->positions().size(), 1u);
  EXPECT_DOUBLE_EQ(e->positions().front().quantity, 6) << "net of the close eToro holds";
  EXPECT_THROW(e->submit(order("s2", Side::kSell, 7)), BrokerError) << "the 4 units are being closed";
  // A close whose answer was lost while it waits: found among the waiting closes, now and after a restart.
  f.lose_close_answer = 1;
  const Instant before = now_utc() - std::chrono::seconds{2};
  const auto rest = e->submit(order("s3", Side::kSell, 6));
  EXPECT_EQ(rest.status, OrderStatus::kFilled) << rest.reject_reason;
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the late answer ends
  EXPECT_TRUE(e->positions().empty());
  const auto found = client(f)->recover(order("s3", Side::kSell, 6), before, {});
  ASSERT_TRUE(found) << "a restarted process finds the close eToro still holds";
  EXPECT_DOUBLE_EQ(found->filled_quantity, 6);
  f.release();
  EXPECT_TRUE(e->positions().empty());
  EXPECT_EQ(f.closes, 2) << "each sell closed once";
}

TEST(EtoroBroker, FaultsAreTransientOrRejected) {
  FakeEtoro f;
  std::vector<double> waits;
  auto client_with_retries = client(f, &waits, 2);
  auto& e = *client_with_retries;
  f.fail_429 = 1;
  f.fail_500 = 1;
  EXPECT_EQ(e.positions().size(), 0u);
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_DOUBLE_EQ(waits[0], 2.0);
  f.reject_open = true;
  try {
    e.submit(order("poor", Side::kBuy, 1e6));
    FAIL();
  } catch (const BrokerError& err) {
    EXPECT_EQ(err.kind(), BrokerError::Kind::kRejected);
  }
  EXPECT_FALSE(f.bad_headers);
}

}  // namespace
}  // namespace ploutos::broker

namespace ploutos::broker {
namespace {

// The trader over eToro: a position opened behind the trader's back stops trading with a report.
TEST(EtoroBroker, TraderStopsOnAPositionOpenedBehindItsBack) {
  FakeEtoro f;
  auto e = client(f);
  auto m = test::flat_market(1, 5, 190.0);
  m.tickers = {"AAPL"};
  const auto dir = std::filesystem::temp_directory_path() / ("ploutos_etoro_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  trading::Journal journal((dir / "j.sqlite").string(), false);
  trading::TraderConfig c;
  c.min_holding_period = 0;
  trading::Trader trader(*e, journal, c,
                         [](const env::MarketData&, std::size_t, std::span<const double>, const env::PortfolioState&,
                            std::span<std::int32_t> a) { a[0] = env::kBuy; });
  EXPECT_EQ(trader.run_cycle(m, 0).orders_sent, 1u);
  EXPECT_EQ(journal.orders().front().state, "filled") << "eToro positions open at once";
  EXPECT_NEAR(journal.positions().at("AAPL"), e->positions().front().quantity, 1e-9);
  {
    std::lock_guard lock(f.mutex);
    f.positions["999"] = {{"positionID", 999},
                          {"instrumentID", 1001},
                          {"isBuy", true},
                          {"units", 3.0},
                          {"openRate", 150.0},
                          {"amount", 450.0},
                          {"openDateTime", "2020-01-01T00:00:00Z"}};
  }
  EXPECT_THROW(trader.run_cycle(m, 1), trading::ReconciliationError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ploutos::broker

namespace ploutos::broker {
namespace {

struct EtoroTrading : ::testing::Test {
  FakeEtoro f;
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ploutos_etoro_trading_" + std::to_string(::getpid()));
  env::MarketData m = [] {
    auto market = test::flat_market(1, 5, 190.0);
    market.tickers = {"AAPL"};
    return market;
  }();

  void SetUp() override { std::filesystem::remove_all(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }

  // A trader over its own broker and journal handle, as a (re)started `ploutos trade` has.
  struct Session {
    std::unique_ptr<EtoroBroker> broker;
    trading::Journal journal;
    trading::Trader trader;
    Session(const FakeEtoro& f, const std::filesystem::path& dir)
        : broker(client(f)), journal((dir / "j.sqlite").string(), false), trader(*broker, journal, config(), buy) {}
    static trading::TraderConfig config() {
      trading::TraderConfig c;
      c.min_holding_period = 0;
      return c;
    }
    static void buy(const env::MarketData&, std::size_t, std::span<const double>, const env::PortfolioState&,
                    std::span<std::int32_t> a) {
      a[0] = env::kBuy;
    }
  };
};

TEST_F(EtoroTrading, ARestartedTraderKnowsItsPositionsBySymbol) {
  {
    Session first(f, dir);
    EXPECT_EQ(first.trader.run_cycle(m, 0).orders_sent, 1u);
  }
  Session restarted(f, dir);  // knows no instrument id yet
  ASSERT_EQ(restarted.broker->positions().size(), 1u);
  EXPECT_EQ(restarted.broker->positions().front().symbol, "AAPL");
  EXPECT_NO_THROW(restarted.trader.run_cycle(m, 1)) << "the journal's AAPL is the portfolio's instrument 1001";
  EXPECT_GT(restarted.broker->account().equity, 0);
  EXPECT_EQ(f.looked_up, std::vector<std::string>{"1001"}) << "looked up once, then known";
}

TEST_F(EtoroTrading, AnInstrumentEtoroDoesNotNameIsReportedNotGuessed) {
  {
    std::lock_guard lock(f.mutex);
    f.positions["77"] = {{"positionID", 77},
                         {"instrumentID", 4242},
                         {"isBuy", true},
                         {"units", 2.0},
                         {"openRate", 10.0},
                         {"amount", 20.0},
                         {"openDateTime", "2020-01-01T00:00:00Z"}};
  }
  Session s(f, dir);
  ASSERT_EQ(s.broker->positions().size(), 1u);
  EXPECT_EQ(s.broker->positions().front().symbol, "etoro:4242");
  try {
    s.trader.run_cycle(m, 0);
    FAIL() << "a position Ploutos did not open stops trading";
  } catch (const trading::ReconciliationError& e) {
    EXPECT_NE(std::string(e.what()).find("etoro:4242"), std::string::npos) << e.what();
  }
  EXPECT_EQ(f.looked_up.size(), 1u) << "an unnamed id is not asked about on every read";
}

TEST_F(EtoroTrading, AnOpenThePortfolioShowsLaterIsSettledWhenItShows) {
  f.hold_opens = true;
  f.list_held = false;  // not even as a waiting order
  {
    Session s(f, dir);
    s.trader.run_cycle(m, 0);
    ASSERT_EQ(s.journal.orders().size(), 1u);
    EXPECT_NE(s.journal.orders().front().state, "filled") << "not in the portfolio yet";
    f.release();
    s.trader.run_cycle(m, 1);
    const auto first = s.journal.order(s.journal.orders().front().client_order_id);
    EXPECT_EQ(first->state, "filled");
    EXPECT_EQ(first->broker_order_id, "position:1000");
    EXPECT_NEAR(s.journal.positions().at("AAPL"), s.broker->positions().front().quantity, 1e-9);
    // The open of cycle 1 shows later too, and the trader stops before it does (a restart).
    EXPECT_EQ(s.journal.orders().size(), 2u);
  }
  f.hold_opens = false;
  f.release();
  Session restarted(f, dir);
  EXPECT_NO_THROW(restarted.trader.run_cycle(m, 2)) << "the restarted trader finds the open it had sent";
  for (const auto& o : restarted.journal.orders()) EXPECT_EQ(o.state, "filled") << o.client_order_id;
  EXPECT_NEAR(restarted.journal.positions().at("AAPL"), restarted.broker->positions().front().quantity, 1e-9);
  EXPECT_EQ(f.opens.size(), restarted.journal.orders().size()) << "each order opened once";
}

TEST_F(EtoroTrading, ARestartWhileEtoroHoldsAnOpenForTheMarketFindsIt) {
  f.hold_opens = true;  // as an open placed after the close: an order for open until the market opens
  {
    Session s(f, dir);
    s.trader.run_cycle(m, 0);
    ASSERT_EQ(s.journal.orders().size(), 1u);
    EXPECT_EQ(s.journal.orders().front().state, "new");
    EXPECT_EQ(s.journal.orders().front().broker_order_id, "order:555");
  }
  {
    Session restarted(f, dir);  // overnight, before the open
    EXPECT_NO_THROW(restarted.trader.run_cycle(m, 1)) << "the waiting order is the journal's, still live";
    const auto first = restarted.journal.order(restarted.journal.orders().front().client_order_id);
    EXPECT_EQ(first->state, "new");
    EXPECT_EQ(first->broker_order_id, "order:555");
    EXPECT_EQ(restarted.journal.orders().back().broker_order_id, "order:556") << "the second waits too";
  }
  f.release();  // the market opens
  Session restarted(f, dir);
  EXPECT_NO_THROW(restarted.trader.run_cycle(m, 2));
  const auto orders = restarted.journal.orders();
  ASSERT_GE(orders.size(), 2u);
  std::set<std::string> positions;
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(orders[k].state, "filled") << orders[k].client_order_id;
    positions.insert(orders[k].broker_order_id);
  }
  EXPECT_EQ(positions, (std::set<std::string>{"position:1000", "position:1001"})) << "one position each";
  EXPECT_NEAR(restarted.journal.positions().at("AAPL"), restarted.broker->positions().front().quantity, 1e-9);
  EXPECT_EQ(f.opens.size(), restarted.journal.orders().size()) << "each order opened once";
}

TEST_F(EtoroTrading, ARestartWhileEtoroHoldsACloseForTheMarketAgreesWithTheJournal) {
  std::int32_t action = env::kBuy;
  const auto session = [&](int cycle) {  // a (re)started trader runs one cycle
    auto broker = client(f);
    trading::Journal journal((dir / "j.sqlite").string(), false);
    trading::Trader trader(*broker, journal, Session::config(),
                           [&action](const env::MarketData&, std::size_t, std::span<const double>,
                                     const env::PortfolioState&, std::span<std::int32_t> a) { a[0] = action; });
    trader.run_cycle(m, static_cast<std::size_t>(cycle));
    return journal.orders();
  };
  session(0);
  action = env::kSell;
  f.hold_closes = true;  // the sell is placed after the close
  auto orders = session(1);
  ASSERT_EQ(orders.size(), 2u);
  EXPECT_EQ(orders[1].state, "filled") << "eToro took the close";
  action = env::kHold;
  EXPECT_NO_THROW(session(2)) << "restarted overnight: the position is net of the waiting close";
  f.release();  // the market opens
  EXPECT_NO_THROW(orders = session(3)) << "restarted after the open";
  EXPECT_EQ(orders.size(), 2u);
  EXPECT_EQ(f.closes, 1) << "closed once";
}

TEST_F(EtoroTrading, ASellWhoseAnswerWasLostIsJournaledAsThePortfolioShowsIt) {
  auto broker = client(f);
  trading::Journal journal((dir / "j.sqlite").string(), false);
  std::int32_t action = env::kBuy;
  trading::Trader trader(*broker, journal, Session::config(),
                         [&action](const env::MarketData&, std::size_t, std::span<const double>,
                                   const env::PortfolioState&, std::span<std::int32_t> a) { a[0] = action; });
  trader.run_cycle(m, 0);
  action = env::kSell;
  f.lose_close_answer = 1;
  trader.run_cycle(m, 1);
  const auto sell = journal.orders().back();
  EXPECT_EQ(sell.side, Side::kSell);
  EXPECT_EQ(sell.state, "filled");
  EXPECT_NO_THROW(trader.run_cycle(m, 2)) << "the journal holds what the portfolio does";
  EXPECT_TRUE(broker->positions().empty());
  EXPECT_EQ(f.closes, 1) << "closed once";
}

}  // namespace
}  // namespace ploutos::broker
