// Broker clients against a server that answers every request with the same body, for a list of
// bodies a broker should never send: other JSON types, fields of the wrong type, junk. Every call
// either returns or throws BrokerError, which the trader knows how to handle (retry, stop, report);
// never a JSON type error or any other exception that would end a session as an internal error.
#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "../support/fake_server.hpp"
#include "ploutos/broker/alpaca_broker.hpp"
#include "ploutos/broker/etoro_broker.hpp"
#include "ploutos/core/time.hpp"

namespace ploutos::broker {
namespace {

const std::vector<std::string> kBodies = {
    "", "null", "true", "1", "-1e308", "\"text\"", "[]", "{}", "[1, 2]", "[null]", "[[]]", "[{}]",
    "{\"x\":", "<html>gateway</html>",
    // Alpaca's fields with other types
    R"({"cash": [], "equity": {}, "buying_power": true})", R"({"cash": "abc", "equity": "1e999"})",
    R"({"trading_blocked": "yes", "account_blocked": 1})", R"([{"symbol": 5, "qty": {}, "avg_entry_price": []}])",
    R"({"id": 7, "client_order_id": [], "status": 3, "qty": "x", "legs": 5})",
    R"({"id": "a", "legs": [1, "b", null, {"qty": []}]})", R"([{"id": "a", "qty": null, "filled_qty": "nan"}])",
    R"({"timestamp": 5, "is_open": "no", "next_open": [], "next_close": "tomorrow"})",
    R"([{"date": 20240102, "open": 930, "close": {}}])", R"({"trade": {"p": "x"}})", R"({"trade": 5})",
    R"({"trade": {"p": -1}})", R"({"message": 42})",
    // eToro's
    R"({"items": 5})", R"({"items": [{"instrumentId": "x", "symbolFull": 3}]})",
    R"({"clientPortfolio": {"credit": "x", "positions": {}}})",
    R"({"clientPortfolio": {"credit": 10, "positions": [{"positionID": [], "instrumentID": {}, "units": "u", "openRate": null, "isBuy": 1}]}})",
    R"({"clientPortfolio": {"credit": 10, "positions": [{"positionID": 1, "instrumentID": 1e300, "units": 1}]}})",
    R"({"clientPortfolio": {"credit": 10, "positions": [{"positionID": 1, "instrumentID": 5, "isBuy": 1}]}})",
    R"({"clientPortfolio": {"credit": "nan", "positions": [{"positionID": 1, "instrumentID": 5, "units": "inf"}]}})",
    R"({"clientPortfolio": {"credit": 1, "positions": [{"positionID": 1, "instrumentID": 5, "openDateTime": "x"}]}})",
    R"({"items": [{"internalSymbolFull": "AAPL", "instrumentId": -3.5}]})", R"({"clientPortfolio": []})",
    R"({"rates": [{"instrumentID": "a", "ask": "b", "bid": []}]})", R"({"rates": 7})",
    R"({"orderForOpen": {"orderID": []}, "token": 5})", R"({"positionID": {}})",
    // eToro's waiting opens, behind an instrument search that succeeds (every request gets the body)
    R"({"items": [{"internalSymbolFull": "AAPL", "instrumentId": 5}], "clientPortfolio": {"credit": 1,
        "positions": [], "ordersForOpen": [{"orderId": [], "instrumentId": "x", "isBuy": "yes", "amountInUnits": {}}]}})",
    R"({"items": [{"internalSymbolFull": "AAPL", "instrumentId": 5}], "clientPortfolio": {"credit": 1,
        "positions": [], "ordersForOpen": [{"orderId": 1, "instrumentId": 5, "isBuy": "yes"}]}})",
    R"({"items": [{"internalSymbolFull": "AAPL", "instrumentId": 5}], "clientPortfolio": {"credit": 1,
        "positions": [], "ordersForOpen": [{"orderId": 1, "instrumentId": 5, "amountInUnits": "inf"}]}})",
    R"({"items": [{"internalSymbolFull": "AAPL", "instrumentId": 5}], "clientPortfolio": {"credit": 1,
        "positions": [], "ordersForOpen": [{"orderId": 1, "instrumentId": 5, "openDateTime": 7}]}})",
    R"({"items": [{"internalSymbolFull": "AAPL", "instrumentId": 5}], "clientPortfolio": {"credit": 1,
        "positions": [], "ordersForOpen": 5}})",
    R"({"clientPortfolio": {"credit": 1, "positions": [], "ordersForClose": [{"orderId": {}, "instrumentId": "x",
        "positionId": [], "unitsToDeduct": "u", "openDateTime": false}]}})",
    R"({"clientPortfolio": {"credit": 1, "positions": [{"positionID": 1, "instrumentID": 5, "units": 2}],
        "ordersForClose": [{"orderId": 1, "instrumentId": 5, "positionId": 1, "unitsToDeduct": "nan"}]}})",
    R"({"clientPortfolio": {"credit": 1, "positions": [{"positionID": 1, "instrumentID": 5, "units": 2}],
        "ordersForClose": [{"orderId": 1, "instrumentId": 5, "positionId": 1, "unitsToDeduct": 1e300}]}})"};

// Calls every method of the interface; reports the first exception that is not a BrokerError.
std::string first_foreign_exception(Broker& b) {
  OrderRequest request;
  request.client_order_id = "pl-hostile-1";
  request.symbol = "AAPL";
  request.quantity = 2;
  request.take_profit_price = 110;
  request.stop_loss_price = 90;
  const std::vector<std::pair<const char*, std::function<void()>>> calls = {
      {"account", [&] { b.account(); }},
      {"positions", [&] { b.positions(); }},
      {"submit", [&] { b.submit(request); }},
      {"order_by_client_id", [&] { b.order_by_client_id("pl-hostile-1"); }},
      {"open_orders", [&] { b.open_orders(); }},
      {"cancel", [&] { b.cancel("order-1"); }},
      {"clock", [&] { b.clock(); }},
      {"latest_price", [&] { b.latest_price("AAPL"); }},
      {"recover", [&] { b.recover(request, parse_instant("2024-01-02T15:00:00Z"), {}); }},
  };
  for (const auto& [name, call] : calls) {
    try {
      call();
    } catch (const BrokerError&) {
    } catch (const std::exception& e) {
      return std::string(name) + ": " + e.what();
    }
  }
  return "";
}

struct EchoServer {
  test::FakeServer fake;
  std::mutex mutex;
  std::string body;
  int status = 200;

  EchoServer() {
    auto answer = [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex);
      res.status = status;
      res.set_content(body, "application/json");
    };
    auto& s = fake.server();
    s.Get(".*", answer);
    s.Post(".*", answer);
    s.Put(".*", answer);
    s.Delete(".*", answer);
    s.Patch(".*", answer);
    fake.start();
  }
  ~EchoServer() { fake.stop(); }
  void answer(int new_status, const std::string& new_body) {
    std::lock_guard lock(mutex);
    status = new_status;
    body = new_body;
  }
};

void expect_only_broker_errors(EchoServer& server, Broker& broker) {
  for (const int status : {200, 201, 400, 404, 422, 500}) {
    for (const auto& body : kBodies) {
      server.answer(status, body);
      const std::string foreign = first_foreign_exception(broker);
      EXPECT_EQ(foreign, "") << broker.name() << ", HTTP " << status << " with body " << body;
    }
  }
}

HttpClientOptions quick_http() {
  HttpClientOptions h;
  h.timeout_seconds = 2.0;
  h.max_retries = 0;
  h.sleep = [](double) {};
  return h;
}

TEST(HostileResponses, AlpacaAnswersEveryOddBodyWithABrokerErrorOrAValue) {
  EchoServer server;
  AlpacaOptions o;
  o.base_url = server.fake.url();
  o.data_url = server.fake.url();
  o.key_id = "key";
  o.secret = "secret";
  o.http = quick_http();
  AlpacaBroker alpaca(o);
  expect_only_broker_errors(server, alpaca);
}

TEST(HostileResponses, EtoroAnswersEveryOddBodyWithABrokerErrorOrAValue) {
  EchoServer server;
  EtoroOptions o;
  o.base_url = server.fake.url() + "/api/v1";
  o.api_key = "app-key";
  o.user_key = "user-key";
  o.demo = true;
  o.http = quick_http();
  EtoroBroker etoro(o);
  expect_only_broker_errors(server, etoro);
}

}  // namespace
}  // namespace ploutos::broker
