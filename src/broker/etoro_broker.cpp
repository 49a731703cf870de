#include "ploutos/broker/etoro_broker.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>

#include "json_request.hpp"
#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::broker {
namespace {

using Json = nlohmann::json;

// Field casing differs between the documents seen (instrumentID, InstrumentID, instrumentId):
// look a field up under each spelling.
const Json* field(const Json& j, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (j.contains(n) && !j[n].is_null()) return &j[n];
  }
  return nullptr;
}

double num(const Json& j, std::initializer_list<const char*> names) {
  const Json* v = field(j, names);
  if (v == nullptr) return 0.0;
  double x = std::nan("");
  if (v->is_number()) x = v->get<double>();
  if (v->is_string()) x = std::stod(v->get<std::string>());  // reading_reply turns its throws into BrokerError
  if (!std::isfinite(x))
    throw BrokerError(BrokerError::Kind::kProtocol,
                      std::string("etoro: field '") + *names.begin() + "' is not a finite number");
  return x;
}

// Instrument ids are ints; a double out of range would make the conversion undefined.
int id_num(const Json& j, std::initializer_list<const char*> names) {
  const double x = num(j, names);
  if (x < 0 || x > std::numeric_limits<int>::max() || x != std::floor(x))
    throw BrokerError(BrokerError::Kind::kProtocol, std::string("etoro: field '") + *names.begin() + "' is not an id");
  return static_cast<int>(x);
}

std::string str(const Json& j, std::initializer_list<const char*> names) {
  const Json* v = field(j, names);
  if (v == nullptr) return "";
  return v->is_string() ? v->get<std::string>() : v->dump();
}

// A position's or an order's side: absent means a buy (this adapter opens no shorts).
bool is_buy(const Json& j) {
  const Json* buy = field(j, {"isBuy", "IsBuy"});
  if (buy != nullptr && !buy->is_boolean())
    throw BrokerError(BrokerError::Kind::kProtocol, "etoro portfolio: isBuy is not true or false");
  return buy == nullptr || buy->get<bool>();
}

Instant opened_at(const Json& j) {  // the epoch when eToro names no time
  const std::string opened = str(j, {"openDateTime", "OpenDateTime"});
  return opened.empty() ? Instant{} : parse_instant(opened);
}

// What a position and an order for open share: the instrument, the side, the amount and the time.
template <class Record>
Record opened_record(const Json& j, std::initializer_list<const char*> id_names) {
  Record r;
  r.id = str(j, id_names);
  r.instrument = id_num(j, {"instrumentID", "InstrumentID", "instrumentId"});
  r.is_buy = is_buy(j);
  r.amount = num(j, {"amount", "Amount"});
  r.opened = opened_at(j);
  return r;
}

Json parse(const HttpResponse& r, const std::string& what) {
  try {
    return Json::parse(r.body);
  } catch (const Json::exception& e) {
    throw BrokerError(BrokerError::Kind::kProtocol, "etoro " + what + ": malformed JSON (" + e.what() + ")");
  }
}

[[noreturn]] void fail(const HttpResponse& r, const std::string& what) {
  const std::string detail = "etoro " + what + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200);
  if (r.status == 401 || r.status == 403)
    throw BrokerError(BrokerError::Kind::kAuth, detail + " (check ETORO_API_KEY/ETORO_USER_KEY)");
  if (r.status == 404) throw BrokerError(BrokerError::Kind::kNotFound, detail);
  if (r.status == 400 || r.status == 422) throw BrokerError(BrokerError::Kind::kRejected, detail);
  if (r.status == 429 || r.status >= 500) throw BrokerError(BrokerError::Kind::kTransient, detail);
  throw BrokerError(BrokerError::Kind::kProtocol, detail);
}

bool ok(const HttpResponse& r) {
  return r.status >= 200 && r.status < 300;
}

std::string id_list(const std::set<int>& ids) {
  std::string text;
  for (const int id : ids) {
    if (!text.empty()) text += ',';
    text += std::to_string(id);
  }
  return text;
}

}  // namespace

EtoroBroker::EtoroBroker(EtoroOptions options)
    : options_(std::move(options)), http_(std::make_unique<HttpClient>(options_.http)) {
  if (options_.request_id_seed == 0) {
    const auto ns = std::chrono::system_clock::now().time_since_epoch().count();
    options_.request_id_seed =
        derive_seed(static_cast<std::uint64_t>(ns), "etoro.process", static_cast<std::uint64_t>(::getpid()));
  }
}

EtoroBroker::~EtoroBroker() = default;

std::string EtoroBroker::path(std::string route, const std::string& id) const {
  const auto replace = [&route](const std::string& key, const std::string& value) {
    if (const auto at = route.find(key); at != std::string::npos) route.replace(at, key.size(), value);
  };
  replace("{demo}", options_.demo ? "/demo" : "");
  replace("{id}", id);
  return route;
}

HttpResponse EtoroBroker::call(const std::string& method, const std::string& p, const std::string& body,
                               bool idempotent) {
  // x-request-id: a version-4 UUID per request, from a seeded stream (reproducible in tests).
  Rng rng(derive_seed(options_.request_id_seed, "etoro.request", request_counter_++));
  const std::uint64_t a = rng(), b = rng();
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return send_json(*http_, "etoro", method, options_.base_url + p,
                   {{"x-api-key", options_.api_key}, {"x-user-key", options_.user_key}, {"x-request-id", uuid}}, body,
                   idempotent);
}

int EtoroBroker::instrument_id(const std::string& symbol) {
  if (const auto it = instruments_.find(symbol); it != instruments_.end()) return it->second;
  const auto r = call("GET", options_.routes.search + symbol);
  if (!ok(r)) fail(r, "instrument search " + symbol);
  return reading_reply("etoro instrument search", [&] {
    const auto j = parse(r, "instrument search");
    const Json* items = field(j, {"items", "Items"});
    if (items != nullptr && items->is_array()) {
      for (const auto& item : *items) {
        if (str(item, {"internalSymbolFull", "InternalSymbolFull", "symbol"}) == symbol) {
          const int id = id_num(item, {"instrumentId", "InstrumentID", "instrumentID"});
          instruments_[symbol] = id;
          return id;
        }
      }
    }
    throw BrokerError(BrokerError::Kind::kNotFound, "etoro: no instrument for symbol '" + symbol + "'");
  });
}

std::string EtoroBroker::symbol_of(int instrument) const {
  for (const auto& [symbol, id] : instruments_) {
    if (id == instrument) return symbol;
  }
  return "etoro:" + std::to_string(instrument);
}

std::vector<EtoroBroker::EtoroPosition> EtoroBroker::portfolio(double* credit, Waiting* waiting) {
  const auto r = call("GET", path(options_.routes.portfolio));
  if (!ok(r)) fail(r, "portfolio");
  auto held = reading_reply("etoro portfolio", [&] {
    const auto j = parse(r, "portfolio");
    const Json* root = field(j, {"clientPortfolio", "ClientPortfolio"});
    if (root == nullptr) throw BrokerError(BrokerError::Kind::kProtocol, "etoro portfolio: no 'clientPortfolio'");
    if (credit != nullptr) *credit = num(*root, {"credit", "Credit"});
    std::vector<EtoroPosition> out;
    if (const Json* ps = field(*root, {"positions", "Positions"}); ps != nullptr && ps->is_array()) {
      for (const auto& p : *ps) {
        auto e = opened_record<EtoroPosition>(p, {"positionID", "PositionID", "positionId"});
        e.units = num(p, {"units", "Units"});
        e.open_rate = num(p, {"openRate", "OpenRate"});
        out.push_back(e);
      }
    }
    if (waiting == nullptr) return out;
    if (const Json* os = field(*root, {"ordersForOpen", "OrdersForOpen"}); os != nullptr && os->is_array()) {
      for (const auto& x : *os) {
        auto w = opened_record<WaitingOpen>(x, {"orderId", "orderID", "OrderID"});
        w.units = num(x, {"amountInUnits", "AmountInUnits", "units"});
        waiting->opens.push_back(w);
      }
    }
    if (const Json* cs = field(*root, {"ordersForClose", "OrdersForClose"}); cs != nullptr && cs->is_array()) {
      for (const auto& x : *cs) {
        WaitingClose c;
        c.id = str(x, {"orderId", "orderID", "OrderID"});
        c.instrument = id_num(x, {"instrumentId", "instrumentID", "InstrumentID"});
        c.position = str(x, {"positionId", "positionID", "PositionID"});
        c.units = num(x, {"unitsToDeduct", "UnitsToDeduct"});
        // No units to deduct: the whole position (a close of one the portfolio lacks closes nothing).
        if (c.units <= 0) {
          const auto p = std::find_if(out.begin(), out.end(), [&c](const auto& e) { return e.id == c.position; });
          c.units = p != out.end() ? p->units : 0.0;
        }
        c.opened = opened_at(x);
        waiting->closes.push_back(c);
      }
    }
    return out;
  });
  learn_symbols(held);
  return held;
}

void EtoroBroker::learn_symbols(const std::vector<EtoroPosition>& held) {
  std::set<int> unknown;
  for (const auto& p : held) unknown.insert(p.instrument);
  for (const auto& [symbol, id] : instruments_) unknown.erase(id);
  if (unknown.empty()) return;
  const std::string ids = id_list(unknown);
  const auto r = call("GET", options_.routes.instruments + ids);
  if (!ok(r)) fail(r, "instruments " + ids);
  reading_reply("etoro instruments", [&] {
    const auto j = parse(r, "instruments");
    const Json* items = field(j, {"instrumentDisplayDatas", "InstrumentDisplayDatas", "items"});
    if (items == nullptr || !items->is_array())
      throw BrokerError(BrokerError::Kind::kProtocol, "etoro instruments: no 'instrumentDisplayDatas'");
    for (const auto& item : *items) {
      const std::string symbol = str(item, {"symbolFull", "SymbolFull", "internalSymbolFull"});
      const int id = id_num(item, {"instrumentID", "InstrumentID", "instrumentId"});
      if (!symbol.empty() && unknown.erase(id)) instruments_[symbol] = id;
    }
    // An id eToro does not name is "etoro:<id>" (reconciliation reports it as a foreign position),
    // and not asked about again.
    for (const int id : unknown) instruments_["etoro:" + std::to_string(id)] = id;
    return 0;
  });
}

Account EtoroBroker::account() {
  double credit = 0;
  Waiting waiting;
  const auto held = portfolio(&credit, &waiting);
  std::vector<int> ids;
  for (const auto& p : held) ids.push_back(p.instrument);
  const auto mid = rates(ids);
  Account a;
  a.cash = credit;
  // The credit is what is free: an open eToro holds for the market has its amount set aside, and
  // that money is still the account's (else the equity after every after-close buy dips by it, and
  // the kill switch measures the next day's loss from the dip).
  a.equity = credit;
  for (const auto& w : waiting.opens) a.equity += w.amount;
  for (const auto& p : held) {
    // Long positions only (this adapter never opens a short): units at the current rate.
    a.equity += p.is_buy ? p.units * mid.at(p.instrument) : p.amount;
  }
  a.buying_power = credit;
  return a;
}

std::vector<Position> EtoroBroker::positions() {
  // A short opened by hand nets against the longs, so reconciliation sees the change and stops the
  // trader; a hedge that nets to zero has no entry price (not 0/0).
  std::map<int, Position> by_instrument;
  std::map<int, double> cost;
  for (const auto& p : open_units()) {
    auto& pos = by_instrument[p.instrument];
    pos.symbol = symbol_of(p.instrument);
    const double units = p.is_buy ? p.units : -p.units;
    pos.quantity += units;
    cost[p.instrument] += p.open_rate * units;
  }
  std::vector<int> ids;
  for (const auto& [id, p] : by_instrument) ids.push_back(id);
  const auto mid = rates(ids, false);
  std::vector<Position> out;
  out.reserve(by_instrument.size());
  for (auto& [id, p] : by_instrument) {
    p.avg_entry_price = std::abs(p.quantity) > 1e-9 ? cost[id] / p.quantity : 0.0;
    if (const auto it = mid.find(id); it != mid.end()) p.market_price = it->second;
    out.push_back(p);
  }
  return out;
}

Order EtoroBroker::submit(const OrderRequest& r) {
  if (r.type != OrderType::kMarket)
    throw BrokerError(BrokerError::Kind::kRejected, "etoro: only market orders are supported by this adapter");
  const int instrument = instrument_id(r.symbol);
  if (r.side == Side::kBuy) {
    // By units when the request has a quantity, else by amount (USD).
    const bool by_units = r.quantity > 0;
    if (!by_units && !(r.notional > 0))
      throw BrokerError(BrokerError::Kind::kRejected, "etoro: an open needs a quantity or an amount");
    Json body = {{"InstrumentID", instrument}, {"IsBuy", true}, {"Leverage", 1}, {"IsTslEnabled", false}};
    if (by_units) {
      body["AmountInUnits"] = r.quantity;
    } else {
      body["Amount"] = r.notional;
    }
    if (r.stop_loss_price > 0) body["StopLossRate"] = r.stop_loss_price;
    if (r.take_profit_price > 0) body["TakeProfitRate"] = r.take_profit_price;
    const Instant before = now_utc() - std::chrono::seconds{5};
    std::set<std::string> known;
    for (const auto& p : portfolio()) known.insert(p.id);
    const auto resp = call("POST", path(by_units ? options_.routes.open_by_units : options_.routes.open_by_amount),
                           json_text(body), false);
    if (!ok(resp)) fail(resp, "open " + r.symbol);
    // The open response names an order, not the position: the position is read back, now or
    // when it shows (eToro may execute an open later than it answers).
    if (auto found = match_open(r, before, known)) return *found;
    pending_[r.client_order_id] = {r, before, known};
    Order o;
    o.client_order_id = r.client_order_id;
    o.symbol = r.symbol;
    o.side = r.side;
    o.id = reading_reply("etoro open", [&] {
      const auto j = parse(resp, "open");
      const Json* order = field(j, {"orderForOpen", "OrderForOpen"});
      return order != nullptr ? "order:" + str(*order, {"orderID", "OrderID", "orderId"}) : std::string("order:?");
    });
    o.quantity = r.quantity;
    o.status = OrderStatus::kNew;
    submitted_[r.client_order_id] = o;
    return o;
  }
  // A sell closes positions of the instrument, oldest first, the last one partly when needed.
  std::vector<EtoroPosition> held;
  for (const auto& p : open_units()) {
    if (p.instrument == instrument && p.is_buy) held.push_back(p);
  }
  std::sort(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.opened < b.opened; });
  double units_held = 0;
  for (const auto& p : held) units_held += p.units;
  if (units_held + 1e-9 < r.quantity)
    throw BrokerError(BrokerError::Kind::kRejected, "etoro: sell of " + std::to_string(r.quantity) + " " + r.symbol +
                                                        " but only " + std::to_string(units_held) + " units held");
  ClosePlan& plan = closing_[r.client_order_id];
  plan = ClosePlan{r, latest_price(r.symbol), {}, "", 0};
  for (const auto& p : held) plan.units_before[p.id] = p.units;
  for (const auto& p : held) {
    const double left = r.quantity - plan.answered;
    if (left <= 1e-9) break;
    const double units = std::min(left, p.units);
    Json body = {{"InstrumentId", instrument}};
    if (units < p.units + p.closing - 1e-9) body["UnitsToDeduct"] = units;  // a part, or the rest of one closing
    try {
      const auto resp = call("POST", path(options_.routes.close_position, p.id), json_text(body), false);
      if (!ok(resp)) fail(resp, "close position " + p.id);
    } catch (const BrokerError& e) {
      const std::exception_ptr failure = std::current_exception();
      // What went through, the failed close included when only its answer was lost: the portfolio
      // says (or the closes answered, when it shows less or cannot be read). With neither, the
      // sell fails as a whole (an unknown outcome: the trader's recover() reads it again).
      std::optional<Order> done;
      try {
        done = closed_so_far(plan);
      } catch (const BrokerError&) {
        if (plan.answered > 0) done = closed_order(plan, plan.answered, plan.id);
      }
      if (!done) std::rethrow_exception(failure);
      if (done->status != OrderStatus::kFilled) done->reject_reason += "; then " + std::string(e.what());
      submitted_[r.client_order_id] = *done;
      return *done;
    }
    plan.answered += units;
    plan.id += (plan.id.empty() ? "close:" : "+") + p.id;
  }
  // Every close answered: sold (eToro may hold a close until the market opens, and positions()
  // counts it closed from now on).
  const Order done = closed_order(plan, r.quantity, plan.id);
  submitted_[r.client_order_id] = done;
  return done;
}

std::optional<Order> EtoroBroker::closed_so_far(const ClosePlan& plan) {
  std::map<std::string, double> now;
  for (const auto& p : open_units()) now[p.id] = p.units;
  double closed = 0;
  std::string ids;
  for (const auto& [id, before] : plan.units_before) {
    const auto it = now.find(id);
    const double gone = before - (it == now.end() ? 0.0 : it->second);
    if (gone <= 1e-9) continue;
    closed += gone;
    ids += (ids.empty() ? "close:" : "+") + id;
  }
  closed = std::max(closed, plan.answered);
  if (closed <= 1e-9) return std::nullopt;
  return closed_order(plan, std::min(closed, plan.request.quantity), ids.empty() ? plan.id : ids);
}

Order EtoroBroker::closed_order(const ClosePlan& plan, double units, const std::string& id) const {
  const OrderRequest& r = plan.request;
  Order o;
  o.id = id;
  o.client_order_id = r.client_order_id;
  o.symbol = r.symbol;
  o.side = Side::kSell;
  o.quantity = r.quantity;
  o.filled_quantity = units;
  // eToro's close response carries no fill price (uncertain): the rate before the closes stands in.
  o.filled_avg_price = units > 0 ? plan.rate : 0;
  if (units >= r.quantity - 1e-9 * std::max(1.0, r.quantity)) {
    o.status = OrderStatus::kFilled;
  } else {
    // The order ends with what it closed, so the journal holds what the account does.
    o.status = OrderStatus::kCanceled;
    o.reject_reason = "closed " + std::to_string(units) + " of " + std::to_string(r.quantity) + " units";
  }
  return o;
}

std::optional<Order> EtoroBroker::order_by_client_id(const std::string& cid) {
  if (const auto it = pending_.find(cid); it != pending_.end()) {
    auto found = match_open(it->second.request, it->second.sent_after, it->second.known);
    if (found && found->status == OrderStatus::kFilled) pending_.erase(cid);
    if (found) return found;
  }
  if (const auto it = submitted_.find(cid); it != submitted_.end()) return it->second;
  return std::nullopt;
}

std::optional<Order> EtoroBroker::recover(const OrderRequest& r, Instant sent_after,
                                          const std::set<std::string>& known_ids) {
  if (submitted_.count(r.client_order_id)) return order_by_client_id(r.client_order_id);
  if (r.side == Side::kBuy) return match_open(r, sent_after, known_ids);
  // A close leaves no record at eToro once it executed: this process compares the positions with
  // what it held before the closes.
  if (const auto it = closing_.find(r.client_order_id); it != closing_.end()) {
    if (auto done = closed_so_far(it->second)) {
      submitted_[r.client_order_id] = *done;
      return done;
    }
    return std::nullopt;
  }
  // A restarted process knows nothing of its closes, but closes eToro still holds for the market
  // (the portfolio's ordersForClose, placed after the intent) are the sell when the latest of them
  // add up to it (a sell's closes go out one after another); one that executed already cannot be
  // told from a close by hand: reconciliation decides.
  const int instrument = instrument_id(r.symbol);
  Waiting waiting;
  portfolio(nullptr, &waiting);
  std::vector<WaitingClose> mine;
  for (const auto& c : waiting.closes) {
    if (c.instrument == instrument && c.opened >= sent_after) mine.push_back(c);
  }
  std::sort(mine.begin(), mine.end(), [](const WaitingClose& a, const WaitingClose& b) {  // latest first
    if (a.opened != b.opened) return a.opened > b.opened;
    return a.id.size() != b.id.size() ? a.id.size() > b.id.size() : a.id > b.id;  // numeric ids grow
  });
  double units = 0;
  std::string ids;
  for (const auto& c : mine) {
    units += c.units;
    ids = "+" + c.position + ids;
    if (units >= r.quantity - 1e-6 * std::max(1.0, r.quantity)) break;
  }
  if (ids.empty() || std::abs(units - r.quantity) > 1e-6 * std::max(1.0, r.quantity)) return std::nullopt;
  ids = "close:" + ids.substr(1);
  const ClosePlan plan{r, latest_price(r.symbol), {}, ids, units};
  const Order done = closed_order(plan, units, ids);
  submitted_[r.client_order_id] = done;
  return done;
}

std::vector<EtoroBroker::EtoroPosition> EtoroBroker::open_units() {
  Waiting waiting;
  auto held = portfolio(nullptr, &waiting);
  std::map<std::string, double> closing;
  for (const auto& c : waiting.closes) closing[c.position] += c.units;
  std::vector<EtoroPosition> out;
  for (auto& p : held) {
    if (const auto it = closing.find(p.id); it != closing.end()) {
      p.closing = std::min(it->second, p.units);
      p.units -= p.closing;
    }
    if (p.units > 1e-9) out.push_back(p);
  }
  return out;
}

std::optional<Order> EtoroBroker::match_open(const OrderRequest& r, Instant sent_after,
                                             const std::set<std::string>& known_ids) {
  std::set<std::string> claimed;  // by the other opens of this process
  for (const auto& [cid, o] : submitted_) {
    if (cid != r.client_order_id) claimed.insert(o.id);
  }
  const int instrument = instrument_id(r.symbol);
  const auto same_size = [&r](double units, double amount) {
    return r.quantity > 0 ? std::abs(units - r.quantity) <= 1e-6 * std::max(1.0, r.quantity)
                          : std::abs(amount - r.notional) <= 0.01 * r.notional;
  };
  const auto buy = [&r](const std::string& id, OrderStatus status) {
    Order o;
    o.id = id;
    o.client_order_id = r.client_order_id;
    o.symbol = r.symbol;
    o.side = Side::kBuy;
    o.status = status;
    o.quantity = r.quantity;
    return o;
  };
  Waiting waiting;
  for (const auto& p : portfolio(nullptr, &waiting)) {
    const std::string id = "position:" + p.id;
    const bool ours = known_ids.count(p.id) || known_ids.count(id) || claimed.count(id);
    if (ours || p.instrument != instrument || !p.is_buy || p.opened < sent_after) continue;
    if (!same_size(p.units, p.amount)) continue;
    Order o = buy(id, OrderStatus::kFilled);
    o.quantity = o.filled_quantity = p.units;
    o.filled_avg_price = p.open_rate;
    submitted_[r.client_order_id] = o;
    return o;
  }
  // Accepted, not executed yet: eToro holds an open placed while the market is closed until it
  // opens. The order is live (matched again on every lookup until its position shows).
  for (const auto& w : waiting.opens) {
    const std::string id = "order:" + w.id;
    const bool ours = known_ids.count(id) || claimed.count(id);
    if (ours || w.instrument != instrument || !w.is_buy || w.opened < sent_after || !same_size(w.units, w.amount))
      continue;
    const Order o = buy(id, OrderStatus::kNew);
    if (!pending_.count(r.client_order_id)) pending_.emplace(r.client_order_id, PendingOpen{r, sent_after, known_ids});
    submitted_[r.client_order_id] = o;
    return o;
  }
  return std::nullopt;
}

void EtoroBroker::cancel(const std::string& id) {
  throw BrokerError(BrokerError::Kind::kNotFound,
                    "etoro: market positions open at once; nothing to cancel (" + id + ")");
}

MarketClock EtoroBroker::clock() {
  const auto& cal = calendar::nyse();
  const Instant now = now_utc();
  return {now, cal.is_open(now), cal.next_open(now), cal.next_close(now)};
}

double EtoroBroker::latest_price(const std::string& symbol) {
  return rates({instrument_id(symbol)}).begin()->second;
}

std::map<int, double> EtoroBroker::rates(const std::vector<int>& instruments, bool every_one) {
  const std::set<int> wanted(instruments.begin(), instruments.end());
  if (wanted.empty()) return {};
  const std::string ids = id_list(wanted);
  const auto r = call("GET", options_.routes.rates + ids);
  if (!ok(r)) fail(r, "rates " + ids);
  return reading_reply("etoro rates", [&] {
    const auto j = parse(r, "rates");
    std::map<int, double> mid;
    if (const Json* rates = field(j, {"rates", "Rates"}); rates != nullptr && rates->is_array()) {
      for (const auto& x : *rates) {
        const int id = id_num(x, {"instrumentID", "InstrumentID", "instrumentId"});
        const double bid = num(x, {"bid", "Bid"}), ask = num(x, {"ask", "Ask"});
        if (wanted.count(id) && (bid > 0 || ask > 0))
          mid[id] = bid > 0 && ask > 0 ? 0.5 * (bid + ask) : std::max(bid, ask);
      }
    }
    for (const int id : wanted) {
      if (every_one && !mid.count(id))
        throw BrokerError(BrokerError::Kind::kProtocol, "etoro rates: no rate for " + symbol_of(id));
    }
    return mid;
  });
}

}  // namespace ploutos::broker
