// AlpacaBroker against a fake Trading API v2 on 127.0.0.1: the protocol (headers, order bodies,
// string numbers, lookups), and every injected fault: 429 with Retry-After, 500, a timeout, a
// response lost after the order was accepted, partial fills, a reject for buying power, and a
// position changed behind the trader's back. Secrets never reach a log or the journal.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../env/market_fixture.hpp"
#include "../support/fake_server.hpp"
#include "ploutos/broker/alpaca_broker.hpp"
#include "ploutos/core/logging.hpp"
#include "ploutos/core/secrets.hpp"
#include "ploutos/trading/trader.hpp"

namespace ploutos::broker {
namespace {

using Json = nlohmann::json;
constexpr const char* kKey = "PKFAKEKEY1234567890";
constexpr const char* kSecret = "fakeSecretValue0987654321abcdef";

// A small Alpaca: market orders fill at `price` on creation (or half now, half at the next lookup
// in partial mode), positions follow the fills.
struct FakeAlpaca {
  test::FakeServer fake;
  std::mutex mutex;
  std::map<std::string, Json> orders;  // by id
  std::map<std::string, double> positions;
  double cash = 100000, price = 100;
  int next_id = 1;
  // Faults, each consumed once it fires.
  int fail_429 = 0, fail_500 = 0;
  bool slow_accept = false;  // accept the order, then answer too late (the response is lost)
  bool partial = false;      // first half now, the rest on the next lookup
  bool reject_next = false;  // 403 insufficient buying power
  std::vector<std::string> auth_failures, paths;
  std::vector<Json> bodies;

  FakeAlpaca() {
    auto& s = fake.server();
    auto guard = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      paths.push_back(req.method + " " + req.path);
      if (req.get_header_value("APCA-API-KEY-ID") != kKey || req.get_header_value("APCA-API-SECRET-KEY") != kSecret) {
        auth_failures.push_back(req.path);
        res.status = 401;
        res.set_content(R"({"code":40110000,"message":"request is not authorized"})", "application/json");
        return false;
      }
      if (fail_429 > 0) {
        --fail_429;
        res.status = 429;
        res.set_header("Retry-After", "1");
        res.set_content(R"({"message":"rate limit exceeded"})", "application/json");
        return false;
      }
      if (fail_500 > 0) {
        --fail_500;
        res.status = 500;
        res.set_content("oops", "text/plain");
        return false;
      }
      return true;
    };
    s.Get("/v2/account", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      double equity = cash;
      for (const auto& [sym, q] : positions) equity += q * price;
      res.set_content(Json{{"id", "acc"},
                           {"status", "ACTIVE"},
                           {"currency", "USD"},
                           {"cash", std::to_string(cash)},
                           {"buying_power", std::to_string(cash)},
                           {"equity", std::to_string(equity)},
                           {"trading_blocked", false},
                           {"account_blocked", false}}
                          .dump(),
                      "application/json");
    });
    s.Get("/v2/positions", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      Json out = Json::array();
      for (const auto& [sym, q] : positions) {
        if (q == 0) continue;
        out.push_back({{"symbol", sym},
                       {"qty", std::to_string(q)},
                       {"side", "long"},
                       {"avg_entry_price", std::to_string(price)},
                       {"current_price", std::to_string(price)}});
      }
      res.set_content(out.dump(), "application/json");
    });
    s.Post("/v2/orders", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      Json body = Json::parse(req.body);
      bool late = false;
      {
        std::lock_guard lock(mutex);
        bodies.push_back(body);
        const std::string cid = body.value("client_order_id", "");
        for (const auto& [id, o] : orders) {
          if (o["client_order_id"] == cid) {
            res.status = 422;
            res.set_content(R"({"code":40010001,"message":"client_order_id must be unique"})", "application/json");
            return;
          }
        }
        if (reject_next) {
          reject_next = false;
          res.status = 403;
          res.set_content(R"({"code":40310000,"message":"insufficient buying power"})", "application/json");
          return;
        }
        const double qty = std::stod(body.at("qty").get<std::string>());
        const double filled = partial ? qty / 2 : qty;
        const std::string id = "ord-" + std::to_string(next_id++);
        Json o = {{"id", id},
                  {"client_order_id", cid},
                  {"symbol", body["symbol"]},
                  {"side", body["side"]},
                  {"type", body["type"]},
                  {"qty", body["qty"]},
                  {"filled_qty", std::to_string(filled)},
                  {"filled_avg_price", std::to_string(price)},
                  {"status", partial ? "partially_filled" : "filled"},
                  {"order_class", body.value("order_class", "simple")}};
        apply_fill(body["symbol"], body["side"], filled);
        orders[id] = o;
        res.set_content(o.dump(), "application/json");
        late = slow_accept;
        slow_accept = false;
      }
      if (late) std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the client's timeout
    });
    s.Get("/v2/orders:by_client_order_id", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      const auto cid = req.get_param_value("client_order_id");
      for (auto& [id, o] : orders) {
        if (o["client_order_id"] != cid) continue;
        if (o["status"] == "partially_filled") {  // the rest fills by now
          const double qty = std::stod(o["qty"].get<std::string>());
          apply_fill(o["symbol"], o["side"], qty - std::stod(o["filled_qty"].get<std::string>()));
          o["filled_qty"] = o["qty"];
          o["status"] = "filled";
        }
        res.set_content(o.dump(), "application/json");
        return;
      }
      res.status = 404;
      res.set_content(R"({"code":40410000,"message":"order not found"})", "application/json");
    });
    s.Get("/v2/orders", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      Json out = Json::array();
      for (const auto& [id, o] : orders) {
        if (o["status"] != "filled" && o["status"] != "canceled") out.push_back(o);
      }
      res.set_content(out.dump(), "application/json");
    });
    s.Delete(R"(/v2/orders/([\w-]+))", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      const auto it = orders.find(req.matches[1]);
      if (it == orders.end()) {
        res.status = 404;
        return;
      }
      it->second["status"] = "canceled";
      res.status = 204;
    });
    s.Get("/v2/clock", [guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      res.set_content(R"({"timestamp":"2024-11-29T10:00:00.123-05:00","is_open":true,)"
                      R"("next_open":"2024-12-02T09:30:00-05:00","next_close":"2024-11-29T13:00:00-05:00"})",
                      "application/json");
    });
    s.Get("/v2/calendar", [guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      res.set_content(R"([{"date":"2024-11-27","open":"09:30","close":"16:00"},)"
                      R"({"date":"2024-11-29","open":"09:30","close":"13:00"}])",
                      "application/json");
    });
    fake.start();
  }

  void apply_fill(const std::string& symbol, const std::string& side, double q) {
    positions[symbol] += side == "buy" ? q : -q;
    cash -= (side == "buy" ? q : -q) * price;
  }
};

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
  EXPECT_EQ(body["time_in_force"], "day");
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
    trading::TraderConfig c;
    c.min_holding_period = 0;
    trading::Trader trader(*a, journal, c,
                           [](const env::MarketData&, std::size_t, std::span<const double>, const env::PortfolioState&,
                              std::span<std::int32_t> x) { x[0] = env::kBuy; });
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
