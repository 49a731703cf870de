#include "ploutos/broker/alpaca_broker.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "json_request.hpp"
#include "ploutos/core/json_text.hpp"

namespace ploutos::broker {
namespace {

using Json = nlohmann::json;

// Alpaca sends most numbers as strings ("qty": "10"); null when absent.
double number(const Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return 0.0;
  const auto& v = j[key];
  double x = std::nan("");
  if (v.is_number()) x = v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty()) return 0.0;
    try {
      x = std::stod(s);
    } catch (const std::exception&) {
    }
  }
  // "nan" and "inf" parse as numbers; no quantity or price of an account is either.
  if (!std::isfinite(x))
    throw BrokerError(BrokerError::Kind::kProtocol, std::string("alpaca: field '") + key + "' is not a finite number");
  return x;
}

std::string text(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string decimal(double x) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

std::string price(double x) {
  char buf[48];
  // Alpaca accepts two decimals at or above 1 USD and four below.
  std::snprintf(buf, sizeof buf, x >= 1.0 ? "%.2f" : "%.4f", x);
  return buf;
}

// A list where the API sends one: iterating an object or a number would read something else.
// By value: a reference into parse()'s temporary would dangle in a range-for.
Json array(Json j, const char* what) {
  if (!j.is_array()) throw BrokerError(BrokerError::Kind::kProtocol, std::string("alpaca ") + what + ": not a list");
  return j;
}

Order parse_order(const Json& j) {
  if (!j.is_object()) throw BrokerError(BrokerError::Kind::kProtocol, "alpaca order: not an object");
  Order o;
  o.id = text(j, "id");
  o.client_order_id = text(j, "client_order_id");
  o.symbol = text(j, "symbol");
  o.side = text(j, "side") == "sell" ? Side::kSell : Side::kBuy;
  const std::string type = text(j, "type");
  o.type = type == "limit" ? OrderType::kLimit : type == "stop" ? OrderType::kStop : OrderType::kMarket;
  o.status = order_status_from(text(j, "status"));
  o.quantity = number(j, "qty");
  o.filled_quantity = number(j, "filled_qty");
  o.filled_avg_price = number(j, "filled_avg_price");
  if (j.contains("legs") && j["legs"].is_array()) {
    for (const auto& l : j["legs"]) o.legs.push_back(parse_order(l));
  }
  return o;
}

Json parse(const HttpResponse& r, const std::string& what) {
  try {
    return Json::parse(r.body);
  } catch (const Json::exception& e) {
    throw BrokerError(BrokerError::Kind::kProtocol, "alpaca " + what + ": malformed JSON (" + e.what() + ")");
  }
}

std::string error_message(const HttpResponse& r) {
  try {
    const auto j = Json::parse(r.body);
    if (j.contains("message")) return j["message"].get<std::string>();
  } catch (const Json::exception&) {
  }
  return r.body.substr(0, 200);
}

// Status -> error for everything that is not a success.
[[noreturn]] void fail(const HttpResponse& r, const std::string& what) {
  const std::string detail = "alpaca " + what + ": HTTP " + std::to_string(r.status) + " " + error_message(r);
  if (r.status == 401)
    throw BrokerError(BrokerError::Kind::kAuth, detail + " (check ALPACA_API_KEY/ALPACA_SECRET_KEY)");
  if (r.status == 404) throw BrokerError(BrokerError::Kind::kNotFound, detail);
  if (r.status == 403 || r.status == 422) throw BrokerError(BrokerError::Kind::kRejected, detail);
  if (r.status == 429 || r.status >= 500) throw BrokerError(BrokerError::Kind::kTransient, detail);
  throw BrokerError(BrokerError::Kind::kProtocol, detail);
}

bool ok(const HttpResponse& r) {
  return r.status >= 200 && r.status < 300;
}

std::string url_encode(const std::string& s) {
  std::string out;
  char buf[4];
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

AlpacaBroker::AlpacaBroker(AlpacaOptions options)
    : options_(std::move(options)), http_(std::make_unique<HttpClient>(options_.http)) {}

AlpacaBroker::~AlpacaBroker() = default;

HttpResponse AlpacaBroker::call(const std::string& method, const std::string& url, const std::string& body) {
  return send_json(*http_, "alpaca", method, url,
                   {{"APCA-API-KEY-ID", options_.key_id}, {"APCA-API-SECRET-KEY", options_.secret}}, body);
}

Account AlpacaBroker::account() {
  const auto r = call("GET", options_.base_url + "/v2/account");
  if (!ok(r)) fail(r, "account");
  return reading_reply("alpaca account", [&]() -> Account {
    const auto j = parse(r, "account");
    if (j.value("trading_blocked", false) || j.value("account_blocked", false))
      throw BrokerError(BrokerError::Kind::kRejected, "alpaca account: trading is blocked on this account");
    return {number(j, "cash"), number(j, "equity"), number(j, "buying_power")};
  });
}

std::vector<Position> AlpacaBroker::positions() {
  const auto r = call("GET", options_.base_url + "/v2/positions");
  if (!ok(r)) fail(r, "positions");
  return reading_reply("alpaca positions", [&] {
    std::vector<Position> out;
    for (const auto& p : array(parse(r, "positions"), "positions")) {
      double q = number(p, "qty");
      if (text(p, "side") == "short") q = -std::abs(q);
      out.push_back({text(p, "symbol"), q, number(p, "avg_entry_price"), number(p, "current_price")});
    }
    return out;
  });
}

std::string AlpacaBroker::order_body(const OrderRequest& r) {
  Json j;
  j["symbol"] = r.symbol;
  if (r.quantity > 0) {
    j["qty"] = decimal(r.quantity);
  } else {
    j["notional"] = price(r.notional);
  }
  j["side"] = to_string(r.side);
  j["type"] = to_string(r.type);
  j["time_in_force"] = r.time_in_force;
  if (r.type == OrderType::kLimit) j["limit_price"] = price(r.limit_price);
  if (r.type == OrderType::kStop) j["stop_price"] = price(r.stop_price);
  j["client_order_id"] = r.client_order_id;
  if (r.take_profit_price > 0 || r.stop_loss_price > 0) {
    // The legs live as long as the order's time in force: those of a day order are canceled at
    // the close, and a position held overnight would lose its protection.
    j["time_in_force"] = "gtc";
    j["order_class"] = r.take_profit_price > 0 && r.stop_loss_price > 0 ? "bracket" : "oto";
    if (r.take_profit_price > 0) j["take_profit"] = {{"limit_price", price(r.take_profit_price)}};
    if (r.stop_loss_price > 0) j["stop_loss"] = {{"stop_price", price(r.stop_loss_price)}};
  }
  return json_text(j);
}

Order AlpacaBroker::submit(const OrderRequest& request) {
  const auto r = call("POST", options_.base_url + "/v2/orders", order_body(request));
  if (ok(r)) return reading_reply("alpaca order", [&] { return parse_order(parse(r, "order")); });
  if (r.status == 422 && error_message(r).find("client_order_id") != std::string::npos) {
    // A retry of a request whose first response was lost: the first one was accepted.
    if (auto existing = order_by_client_id(request.client_order_id)) return *existing;
  }
  fail(r, "order " + request.client_order_id);
}

std::optional<Order> AlpacaBroker::order_by_client_id(const std::string& cid) {
  const auto r = call("GET", options_.base_url + "/v2/orders:by_client_order_id?client_order_id=" + url_encode(cid));
  if (r.status == 404) return std::nullopt;
  if (!ok(r)) fail(r, "order lookup " + cid);
  return reading_reply("alpaca order lookup", [&] { return parse_order(parse(r, "order lookup")); });
}

std::vector<Order> AlpacaBroker::legs_of(const Order& parent) {
  const auto r = call("GET", options_.base_url + "/v2/orders/" + url_encode(parent.id) + "?nested=true");
  if (!ok(r)) fail(r, "order " + parent.client_order_id);
  return reading_reply("alpaca order", [&] { return parse_order(parse(r, "order")).legs; });
}

std::vector<Order> AlpacaBroker::open_orders() {
  // Not nested: the legs of a bracket whose parent has filled are open orders of their own.
  const auto r = call("GET", options_.base_url + "/v2/orders?status=open&limit=500");
  if (!ok(r)) fail(r, "open orders");
  return reading_reply("alpaca open orders", [&] {
    std::vector<Order> out;
    for (const auto& o : array(parse(r, "open orders"), "open orders")) out.push_back(parse_order(o));
    return out;
  });
}

void AlpacaBroker::cancel(const std::string& id) {
  const auto r = call("DELETE", options_.base_url + "/v2/orders/" + url_encode(id));
  if (!ok(r)) fail(r, "cancel " + id);
}

MarketClock AlpacaBroker::clock() {
  const auto r = call("GET", options_.base_url + "/v2/clock");
  if (!ok(r)) fail(r, "clock");
  return reading_reply("alpaca clock", [&]() -> MarketClock {
    const auto j = parse(r, "clock");
    return {parse_instant(text(j, "timestamp")), j.value("is_open", false), parse_instant(text(j, "next_open")),
            parse_instant(text(j, "next_close"))};
  });
}

std::vector<AlpacaSession> AlpacaBroker::calendar(Day first, Day last) {
  const auto r =
      call("GET", options_.base_url + "/v2/calendar?start=" + format_day(first) + "&end=" + format_day(last));
  if (!ok(r)) fail(r, "calendar");
  return reading_reply("alpaca calendar", [&] {
    std::vector<AlpacaSession> out;
    for (const auto& s : array(parse(r, "calendar"), "calendar"))
      out.push_back({parse_day(text(s, "date")), text(s, "open"), text(s, "close")});
    return out;
  });
}

double AlpacaBroker::latest_price(const std::string& symbol) {
  const auto r = call("GET", options_.data_url + "/v2/stocks/" + url_encode(symbol) + "/trades/latest");
  if (!ok(r)) fail(r, "latest trade " + symbol);
  return reading_reply("alpaca latest trade", [&] {
    const auto j = parse(r, "latest trade");
    if (!j.contains("trade") || !j["trade"].is_object())
      throw BrokerError(BrokerError::Kind::kProtocol, "alpaca latest trade: no 'trade'");
    const double p = number(j["trade"], "p");
    if (!(p > 0)) throw BrokerError(BrokerError::Kind::kProtocol, "alpaca latest trade: price " + decimal(p));
    return p;
  });
}

}  // namespace ploutos::broker
