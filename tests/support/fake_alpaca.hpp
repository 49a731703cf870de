#pragma once
// A small Alpaca Trading API v2 on 127.0.0.1 for protocol and end-to-end tests: key headers checked
// on every request, market orders filled at `price` on creation (or half now, half at the next
// lookup in partial mode), positions following the fills, and injectable faults.
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fake_server.hpp"

namespace ploutos::test {

inline constexpr const char* kFakeAlpacaKey = "PKFAKEKEY1234567890";
inline constexpr const char* kFakeAlpacaSecret = "fakeSecretValue0987654321abcdef";

inline constexpr const char* kDefaultClock =
    R"({"timestamp":"2024-11-29T10:00:00.123-05:00","is_open":true,)"
    R"("next_open":"2024-12-02T09:30:00-05:00","next_close":"2024-11-29T13:00:00-05:00"})";

struct FakeAlpaca {
  FakeServer fake;
  std::mutex mutex;
  std::map<std::string, nlohmann::json> orders;  // by id
  std::map<std::string, double> positions;
  double cash = 100000, price = 100;
  int next_id = 1;
  // Faults, each consumed once it fires.
  int fail_429 = 0, fail_500 = 0;
  bool slow_accept = false;  // accept the order, then answer too late (the response is lost)
  bool partial = false;      // first half now, the rest on the next lookup
  bool reject_next = false;  // 403 insufficient buying power
  std::vector<std::string> auth_failures, paths;
  std::vector<nlohmann::json> bodies;
  // Fixed before the server thread starts: handlers read it without the mutex.
  const std::string clock_json;

  // Records (paths, bodies, auth_failures, orders, ...) are written by the server's threads under
  // `mutex`. A test reads them once its client has its answer; when the client is another process
  // (the CLI tests) that gives no ordering ThreadSanitizer can see, so such a test reads under `mutex`.
  explicit FakeAlpaca(std::string clock = kDefaultClock) : clock_json(std::move(clock)) {
    auto& s = fake.server();
    auto guard = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      paths.push_back(req.method + " " + req.path);
      if (req.get_header_value("APCA-API-KEY-ID") != kFakeAlpacaKey ||
          req.get_header_value("APCA-API-SECRET-KEY") != kFakeAlpacaSecret) {
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
      res.set_content(nlohmann::json{{"id", "acc"},
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
      nlohmann::json out = nlohmann::json::array();
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
      nlohmann::json body = nlohmann::json::parse(req.body);
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
        // As the real API: fractional quantities only in simple market day orders.
        if (qty != std::floor(qty) &&
            (body.value("order_class", "simple") != "simple" || body.value("type", "") != "market" ||
             body.value("time_in_force", "") != "day")) {
          res.status = 422;
          res.set_content(R"({"code":42210000,"message":"fractional orders must be simple market day orders"})",
                          "application/json");
          return;
        }
        if (body["side"] == "sell") {  // as the real API: shares held for open sell orders cannot be sold
          double available = positions[body["symbol"].get<std::string>()];
          for (const auto& [other, o] : orders) {
            if (o["symbol"] == body["symbol"] && o["side"] == "sell" && o["status"] != "filled" &&
                o["status"] != "canceled")
              available -= std::stod(o["qty"].get<std::string>());
          }
          if (qty > available + 1e-9) {
            res.status = 403;
            res.set_content(nlohmann::json{{"code", 40310000},
                                           {"message", "insufficient qty available for order (requested: " +
                                                           body["qty"].get<std::string>() +
                                                           ", available: " + std::to_string(available) + ")"}}
                                .dump(),
                            "application/json");
            return;
          }
        }
        const double filled = partial ? qty / 2 : qty;
        const std::string id = "ord-" + std::to_string(next_id++);
        nlohmann::json o = {{"id", id},
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
        // A filled bracket's legs are open sell orders of their own (listed flat, as without
        // `nested`): the take-profit limit order new, the stop-loss order held.
        auto leg = [&](const char* suffix, const char* type, const char* status) {
          orders[id + suffix] = {{"id", id + suffix},
                                 {"client_order_id", "leg-" + id + suffix},
                                 {"symbol", body["symbol"]},
                                 {"side", "sell"},
                                 {"type", type},
                                 {"qty", body["qty"]},
                                 {"filled_qty", "0"},
                                 {"filled_avg_price", "0"},
                                 {"status", status},
                                 {"order_class", body["order_class"]}};
        };
        if (body.contains("take_profit")) leg("-tp", "limit", "new");
        if (body.contains("stop_loss")) leg("-sl", "stop", "held");
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
      nlohmann::json out = nlohmann::json::array();
      for (const auto& [id, o] : orders) {
        if (o["status"] != "filled" && o["status"] != "canceled") out.push_back(o);
      }
      res.set_content(out.dump(), "application/json");
    });
    s.Get(R"(/v2/orders/([\w-]+))", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      std::lock_guard lock(mutex);
      const auto it = orders.find(req.matches[1]);
      if (it == orders.end()) {
        res.status = 404;
        res.set_content(R"({"code":40410000,"message":"order not found"})", "application/json");
        return;
      }
      nlohmann::json o = it->second;
      if (req.get_param_value("nested") == "true") {  // the legs rolled up under their parent
        nlohmann::json legs = nlohmann::json::array();
        for (const char* suffix : {"-tp", "-sl"}) {
          if (const auto leg = orders.find(it->first + suffix); leg != orders.end()) legs.push_back(leg->second);
        }
        if (!legs.empty()) o["legs"] = legs;
      }
      res.set_content(o.dump(), "application/json");
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
    s.Get("/v2/clock", [this, guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      res.set_content(clock_json, "application/json");
    });
    s.Get("/v2/calendar", [guard](const httplib::Request& req, httplib::Response& res) {
      if (!guard(req, res)) return;
      res.set_content(R"([{"date":"2024-11-27","open":"09:30","close":"16:00"},)"
                      R"({"date":"2024-11-29","open":"09:30","close":"13:00"}])",
                      "application/json");
    });
    fake.start();
  }
  ~FakeAlpaca() { fake.stop(); }  // before the members its handlers use are destroyed

  // The market reaches a leg (`parent_id` + "-tp" or "-sl"): it fills at `price`, its sibling is canceled.
  void hit_leg(const std::string& parent_id, const std::string& suffix) {
    std::lock_guard lock(mutex);
    auto& leg = orders.at(parent_id + suffix);
    leg["status"] = "filled";
    leg["filled_qty"] = leg["qty"];
    leg["filled_avg_price"] = std::to_string(price);
    apply_fill(leg["symbol"], "sell", std::stod(leg["qty"].get<std::string>()));
    const auto sibling = orders.find(parent_id + (suffix == "-tp" ? "-sl" : "-tp"));
    if (sibling != orders.end()) sibling->second["status"] = "canceled";
  }

  void apply_fill(const std::string& symbol, const std::string& side, double q) {
    positions[symbol] += side == "buy" ? q : -q;
    cash -= (side == "buy" ? q : -q) * price;
  }
};

}  // namespace ploutos::test
