#include "ploutos/broker/sim_broker.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "ploutos/core/json_text.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::broker {
namespace {

constexpr double kEpsilon = 1e-9;
// A bracket leg's id and client order id: its parent's with one of these.
constexpr const char* kTakeProfitLeg = "-tp";
constexpr const char* kStopLossLeg = "-sl";
// Buying power held back for a market buy until it fills: room for an adverse open and costs.
constexpr double kBuyReserve = 1.02;

nlohmann::json order_json(const Order& o) {
  nlohmann::json legs = nlohmann::json::array();
  for (const auto& l : o.legs) legs.push_back(order_json(l));
  return {{"id", o.id},
          {"client_order_id", o.client_order_id},
          {"symbol", o.symbol},
          {"side", to_string(o.side)},
          {"type", to_string(o.type)},
          {"status", to_string(o.status)},
          {"quantity", o.quantity},
          {"filled_quantity", o.filled_quantity},
          {"filled_avg_price", o.filled_avg_price},
          {"fees", o.fees},
          {"reject_reason", o.reject_reason},
          {"legs", legs}};
}

Order order_from(const nlohmann::json& j) {
  Order o;
  o.id = j.at("id").get<std::string>();
  o.client_order_id = j.at("client_order_id").get<std::string>();
  o.symbol = j.at("symbol").get<std::string>();
  o.side = j.at("side").get<std::string>() == "buy" ? Side::kBuy : Side::kSell;
  const auto type = j.at("type").get<std::string>();
  o.type = type == "limit" ? OrderType::kLimit : type == "stop" ? OrderType::kStop : OrderType::kMarket;
  o.status = order_status_from(j.at("status").get<std::string>());
  o.quantity = j.at("quantity").get<double>();
  o.filled_quantity = j.at("filled_quantity").get<double>();
  o.filled_avg_price = j.at("filled_avg_price").get<double>();
  o.fees = j.at("fees").get<double>();
  o.reject_reason = j.at("reject_reason").get<std::string>();
  for (const auto& l : j.at("legs")) o.legs.push_back(order_from(l));
  return o;
}

}  // namespace

SimBroker::SimBroker(std::shared_ptr<const SimBars> bars, SimOptions options, std::size_t start_bar)
    : bars_(std::move(bars)),
      options_(std::move(options)),
      cost_model_(options_.costs),
      bar_(start_bar),
      cash_(options_.initial_cash),
      holdings_(bars_->n_symbols()) {
  if (bars_->n_bars() == 0) throw InputError("sim broker: no bars to trade on");
  if (bar_ >= bars_->n_bars()) bar_ = bars_->n_bars() - 1;
}

std::size_t SimBroker::symbol_index(const std::string& symbol) const {
  const auto it = std::find(bars_->symbols.begin(), bars_->symbols.end(), symbol);
  if (it == bars_->symbols.end())
    throw BrokerError(BrokerError::Kind::kRejected, "sim broker: unknown symbol '" + symbol + "'");
  return static_cast<std::size_t>(it - bars_->symbols.begin());
}

double SimBroker::held(std::size_t k) const {
  return holdings_[k].quantity;
}

double SimBroker::pending_sells(std::size_t k) const {
  double q = 0;
  for (const auto& o : orders_) {
    // Bracket legs protect the position; they do not compete with a decision to sell it.
    if (o.side == Side::kSell && !is_terminal(o.status) && o.symbol == bars_->symbols[k] && !oco_sibling_.count(o.id))
      q += o.quantity - o.filled_quantity;
  }
  return q;
}

double SimBroker::reserved_cash() const {
  double r = 0;
  for (const auto& o : orders_) {
    if (o.side == Side::kBuy && !is_terminal(o.status))
      r += (o.quantity - o.filled_quantity) * bars_->close[bars_->at(bar_, symbol_index(o.symbol))] * kBuyReserve;
  }
  return r;
}

Account SimBroker::account() {
  Account a;
  a.cash = cash_;
  a.equity = cash_;
  for (std::size_t k = 0; k < holdings_.size(); ++k)
    a.equity += holdings_[k].quantity * bars_->close[bars_->at(bar_, k)];
  a.buying_power = std::max(0.0, cash_ - reserved_cash());
  return a;
}

std::vector<Position> SimBroker::positions() {
  std::vector<Position> out;
  for (std::size_t k = 0; k < holdings_.size(); ++k) {
    const auto& h = holdings_[k];
    if (h.quantity <= kEpsilon) continue;
    out.push_back({bars_->symbols[k], h.quantity, h.cost_basis / h.quantity, bars_->close[bars_->at(bar_, k)]});
  }
  return out;
}

Order SimBroker::submit(const OrderRequest& r) {
  if (r.client_order_id.empty())
    throw BrokerError(BrokerError::Kind::kRejected, "sim broker: client_order_id is required");
  if (options_.refuse_duplicate_ids && order_by_client_id(r.client_order_id))
    throw BrokerError(BrokerError::Kind::kRejected,
                      "sim broker: client_order_id '" + r.client_order_id + "' must be unique");
  const std::size_t k = symbol_index(r.symbol);
  const double price = bars_->close[bars_->at(bar_, k)];
  double quantity = r.quantity;
  if (quantity <= 0 && r.notional > 0) quantity = r.notional / price;
  if (!(quantity > 0) || !std::isfinite(quantity))
    throw BrokerError(BrokerError::Kind::kRejected, "sim broker: quantity must be positive");
  if (r.type == OrderType::kLimit && !(r.limit_price > 0))
    throw BrokerError(BrokerError::Kind::kRejected, "sim broker: a limit order needs limit_price");
  if (r.type == OrderType::kStop && !(r.stop_price > 0))
    throw BrokerError(BrokerError::Kind::kRejected, "sim broker: a stop order needs stop_price");
  if (r.side == Side::kBuy) {
    if (quantity * price * kBuyReserve > cash_ - reserved_cash() + kEpsilon)
      throw BrokerError(BrokerError::Kind::kRejected, "sim broker: insufficient buying power");
  } else if (quantity > held(k) - pending_sells(k) + kEpsilon) {
    throw BrokerError(BrokerError::Kind::kRejected, "sim broker: insufficient quantity to sell " + r.symbol);
  }
  Order o;
  o.id = "sim-" + std::to_string(next_id_++);
  o.client_order_id = r.client_order_id;
  o.symbol = r.symbol;
  o.side = r.side;
  o.type = r.type;
  o.quantity = quantity;
  triggers_[o.id] = r.type == OrderType::kLimit ? r.limit_price : r.stop_price;
  day_order_[o.id] = r.time_in_force == "day";
  if (r.take_profit_price > 0 || r.stop_loss_price > 0) {
    if (r.side != Side::kBuy || r.type != OrderType::kMarket)
      throw BrokerError(BrokerError::Kind::kRejected, "sim broker: brackets are for market buys");
    auto leg = [&](OrderType type, double trigger, const char* suffix) {
      Order l;
      l.id = o.id + suffix;
      l.client_order_id = r.client_order_id + suffix;
      l.symbol = r.symbol;
      l.side = Side::kSell;
      l.type = type;
      triggers_[l.id] = trigger;
      day_order_[l.id] = false;
      return l;
    };
    auto& legs = pending_legs_[o.id];
    if (r.take_profit_price > 0) legs.push_back(leg(OrderType::kLimit, r.take_profit_price, kTakeProfitLeg));
    if (r.stop_loss_price > 0) legs.push_back(leg(OrderType::kStop, r.stop_loss_price, kStopLossLeg));
    o.legs = legs;
  }
  submitted_bar_[o.id] = bar_;
  orders_.push_back(o);
  return o;
}

std::optional<Order> SimBroker::order_by_client_id(const std::string& cid) {
  for (auto it = orders_.rbegin(); it != orders_.rend(); ++it) {
    if (it->client_order_id == cid) return *it;
  }
  return std::nullopt;
}

std::vector<Order> SimBroker::legs_of(const Order& parent) {
  std::vector<Order> out;
  for (const char* suffix : {kTakeProfitLeg, kStopLossLeg}) {
    if (auto leg = order_by_client_id(parent.client_order_id + suffix)) out.push_back(*leg);
  }
  return out;
}

std::vector<Order> SimBroker::open_orders() {
  std::vector<Order> out;
  for (const auto& o : orders_) {
    if (!is_terminal(o.status)) out.push_back(o);
  }
  return out;
}

void SimBroker::cancel(const std::string& id) {
  for (auto& o : orders_) {
    if (o.id != id) continue;
    if (!is_terminal(o.status)) o.status = OrderStatus::kCanceled;
    pending_legs_.erase(id);
    return;
  }
  throw BrokerError(BrokerError::Kind::kNotFound, "sim broker: no order '" + id + "'");
}

MarketClock SimBroker::clock() {
  MarketClock c;
  c.now = bars_->time[bar_];
  c.is_open = false;  // the simulated clock stands after a bar's close
  c.next_open = at_end() ? bars_->time[bar_] : bars_->time[bar_ + 1];
  c.next_close = c.next_open;
  return c;
}

double SimBroker::latest_price(const std::string& symbol) {
  return bars_->close[bars_->at(bar_, symbol_index(symbol))];
}

void SimBroker::fill(Order& o, std::size_t k, double reference, double quantity) {
  // Costs see the market up to the bar before the fill, never the fill bar's close.
  const std::size_t context_bar = bar_ > 0 ? bar_ - 1 : 0;
  const std::size_t i = bars_->at(context_bar, k);
  Rng latency(derive_seed(options_.seed, o.id, bar_));
  const costs::MarketContext context{bars_->volatility[i], bars_->volume[i], bars_->adv[i]};
  const auto side = o.side == Side::kBuy ? costs::Side::kBuy : costs::Side::kSell;
  costs::Fill f = cost_model_.fill(side, reference, quantity, context, &latency);
  auto& h = holdings_[k];
  if (o.side == Side::kBuy) {
    double spend = f.price * f.quantity + f.fees;
    if (spend > cash_) {  // the open gapped up beyond the reserve: buy what the cash allows
      Rng again(derive_seed(options_.seed, o.id, bar_));
      f = cost_model_.fill(side, reference, quantity * cash_ / spend * 0.999, context, &again);
      spend = f.price * f.quantity + f.fees;
    }
    if (!(f.quantity > kEpsilon) || spend > cash_) {
      o.status = OrderStatus::kCanceled;
      o.reject_reason = "insufficient cash at the fill";
      return;
    }
    cash_ -= spend;
    h.quantity += f.quantity;
    h.cost_basis += spend;
    fills_.push_back({o.id, o.client_order_id, k, bar_, o.side, f.quantity, f.price, f.fees, f.cost, 0.0});
  } else {
    const double share = h.quantity > 0 ? f.quantity / h.quantity : 1.0;
    const double proceeds = f.price * f.quantity - f.fees;
    const double basis = h.cost_basis * std::min(1.0, share);
    cash_ += proceeds;
    h.cost_basis -= basis;
    h.quantity -= f.quantity;
    if (h.quantity <= kEpsilon) h = {};
    fills_.push_back({o.id, o.client_order_id, k, bar_, o.side, f.quantity, f.price, f.fees, f.cost, proceeds - basis});
  }
  o.filled_avg_price =
      (o.filled_avg_price * o.filled_quantity + f.price * f.quantity) / (o.filled_quantity + f.quantity);
  o.filled_quantity += f.quantity;
  o.fees += f.fees;
  o.status = o.quantity - o.filled_quantity <= kEpsilon * std::max(1.0, o.quantity) ? OrderStatus::kFilled
                                                                                    : OrderStatus::kPartiallyFilled;
  if (o.status == OrderStatus::kFilled) o.quantity = o.filled_quantity;
}

bool SimBroker::try_fill(Order& o) {
  const std::size_t k = symbol_index(o.symbol);
  const std::size_t i = bars_->at(bar_, k);
  if (!bars_->trades(bar_, k)) {
    // A halt or a gap in the data: nothing trades at the stale price the bar holds, and a day
    // order dies with the day, as at a real broker.
    if (day_order_[o.id]) {
      o.status = o.filled_quantity > 0 ? OrderStatus::kCanceled : OrderStatus::kExpired;
      o.reject_reason = o.symbol + " did not trade on " + format_instant(bars_->time[bar_]);
    }
    return false;
  }
  const double open = bars_->open[i], high = bars_->high[i], low = bars_->low[i];
  double remaining = o.quantity - o.filled_quantity;
  if (options_.max_volume_share > 0) remaining = std::min(remaining, options_.max_volume_share * bars_->volume[i]);
  if (o.side == Side::kSell) remaining = std::min(remaining, holdings_[k].quantity);
  if (!(remaining > kEpsilon)) {
    if (o.side == Side::kSell && holdings_[k].quantity <= kEpsilon) {
      o.status = OrderStatus::kCanceled;
      o.reject_reason = "nothing left to sell";
    }
    return false;
  }
  const double trigger = triggers_[o.id];
  const bool buy = o.side == Side::kBuy;
  double reference = open;
  if (o.type == OrderType::kLimit) {
    if (buy ? low > trigger : high < trigger) return false;
    reference = buy ? std::min(open, trigger) : std::max(open, trigger);
  } else if (o.type == OrderType::kStop && o.filled_quantity == 0) {
    // A stop that filled in part was triggered: a market order from then on, its rest at the open.
    if (buy ? high < trigger : low > trigger) return false;
    reference = buy ? std::max(open, trigger) : std::min(open, trigger);
  }
  fill(o, k, reference, remaining);
  return true;
}

void SimBroker::activate_legs(const Order& parent) {
  auto it = pending_legs_.find(parent.id);
  if (it == pending_legs_.end()) return;
  std::vector<Order> legs = std::move(it->second);
  pending_legs_.erase(it);
  for (auto& l : legs) {
    l.quantity = parent.filled_quantity;
    submitted_bar_[l.id] = bar_;
  }
  if (legs.size() == 2) {
    oco_sibling_[legs[0].id] = legs[1].id;
    oco_sibling_[legs[1].id] = legs[0].id;
  } else {
    oco_sibling_[legs[0].id] = "";
  }
  // Stop first: when one bar touches both levels the order of events inside it is unknown, and
  // the loss is the honest assumption.
  std::stable_sort(legs.begin(), legs.end(), [](const Order& a, const Order& b) {
    return a.type == OrderType::kStop && b.type != OrderType::kStop;
  });
  for (auto& l : legs) orders_.push_back(l);
}

bool SimBroker::advance() {
  if (at_end()) return false;
  ++bar_;
  for (std::size_t n = 0; n < orders_.size(); ++n) {  // legs activated below join this same bar
    Order& o = orders_[n];
    if (is_terminal(o.status)) continue;
    // An order waits for the bar after its submission; bracket legs trade on the bar their parent filled.
    if (!oco_sibling_.count(o.id) && submitted_bar_[o.id] >= bar_) continue;
    const bool filled = try_fill(o);
    Order snapshot = orders_[n];
    if (filled && snapshot.status == OrderStatus::kFilled) {
      activate_legs(snapshot);
      const auto sib = oco_sibling_.find(snapshot.id);
      if (sib != oco_sibling_.end() && !sib->second.empty()) {
        for (auto& other : orders_) {
          if (other.id == sib->second && !is_terminal(other.status)) other.status = OrderStatus::kCanceled;
        }
      }
    } else if (!filled && day_order_[snapshot.id] && snapshot.type != OrderType::kMarket) {
      orders_[n].status = snapshot.filled_quantity > 0 ? OrderStatus::kCanceled : OrderStatus::kExpired;
    }
  }
  return true;
}

void SimBroker::set_position(const std::string& symbol, double quantity, double avg_entry_price) {
  auto& h = holdings_[symbol_index(symbol)];
  h.quantity = quantity;
  h.cost_basis = quantity * avg_entry_price;
}

std::string SimBroker::save_state() const {
  nlohmann::json j;
  j["bar"] = bar_;
  j["time"] = format_instant(bars_->time[bar_]);
  j["cash"] = cash_;
  j["next_id"] = next_id_;
  nlohmann::json holdings = nlohmann::json::object();
  for (std::size_t k = 0; k < holdings_.size(); ++k) {
    if (holdings_[k].quantity > kEpsilon)
      holdings[bars_->symbols[k]] = {{"quantity", holdings_[k].quantity}, {"cost_basis", holdings_[k].cost_basis}};
  }
  j["holdings"] = holdings;
  nlohmann::json orders = nlohmann::json::array();
  for (const auto& o : orders_) {
    auto oj = order_json(o);
    oj["trigger"] = triggers_.at(o.id);
    oj["day"] = day_order_.at(o.id);
    oj["submitted_bar"] = submitted_bar_.at(o.id);
    orders.push_back(oj);
  }
  j["orders"] = orders;
  nlohmann::json pending = nlohmann::json::object();
  for (const auto& [parent, legs] : pending_legs_) {
    auto& arr = pending[parent] = nlohmann::json::array();
    for (const auto& l : legs) {
      auto lj = order_json(l);
      lj["trigger"] = triggers_.at(l.id);
      arr.push_back(lj);
    }
  }
  j["pending_legs"] = pending;
  j["oco"] = oco_sibling_;
  return json_text(j, 1);
}

void SimBroker::load_state(const std::string& text, const std::string& origin) {
  try {
    const auto j = nlohmann::json::parse(text);
    const std::size_t bar = j.at("bar").get<std::size_t>();
    if (bar >= bars_->n_bars() || format_instant(bars_->time[bar]) != j.at("time").get<std::string>())
      throw InputError(origin + ": the simulated clock (" + j.at("time").get<std::string>() +
                       ") is not a bar of this market; was the data or the model changed?");
    bar_ = bar;
    cash_ = j.at("cash").get<double>();
    next_id_ = j.at("next_id").get<std::uint64_t>();
    holdings_.assign(bars_->n_symbols(), {});
    for (const auto& [symbol, h] : j.at("holdings").items())
      holdings_[symbol_index(symbol)] = {h.at("quantity").get<double>(), h.at("cost_basis").get<double>()};
    orders_.clear();
    triggers_.clear();
    day_order_.clear();
    submitted_bar_.clear();
    for (const auto& oj : j.at("orders")) {
      Order o = order_from(oj);
      triggers_[o.id] = oj.at("trigger").get<double>();
      day_order_[o.id] = oj.at("day").get<bool>();
      submitted_bar_[o.id] = oj.at("submitted_bar").get<std::size_t>();
      orders_.push_back(o);
    }
    pending_legs_.clear();
    for (const auto& [parent, arr] : j.at("pending_legs").items()) {
      for (const auto& lj : arr) {
        Order l = order_from(lj);
        triggers_[l.id] = lj.at("trigger").get<double>();
        day_order_[l.id] = false;
        pending_legs_[parent].push_back(l);
      }
    }
    oco_sibling_ = j.at("oco").get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(origin + ": not a sim broker state (" + e.what() + ")");
  } catch (const BrokerError& e) {
    throw InputError(origin + ": " + e.what());
  }
}

}  // namespace ploutos::broker
