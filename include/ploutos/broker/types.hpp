#pragma once
// Value types every broker speaks: orders, their fills as the broker reports them, positions and the
// account. No behaviour lives here; brokers translate their protocol into these.
#include <optional>
#include <string>
#include <vector>

#include "ploutos/core/error.hpp"
#include "ploutos/core/time.hpp"

namespace ploutos::broker {

enum class Side { kBuy, kSell };
enum class OrderType { kMarket, kLimit, kStop };
// Terminal: filled, canceled, rejected, expired.
enum class OrderStatus { kNew, kPartiallyFilled, kFilled, kCanceled, kRejected, kExpired };

struct OrderRequest {
  std::string client_order_id;  // deterministic (trading/ids.hpp); the broker refuses a duplicate
  std::string symbol;
  Side side = Side::kBuy;
  OrderType type = OrderType::kMarket;
  double quantity = 0;  // shares (fractional allowed); 0 with `notional` > 0 buys for an amount
  double notional = 0;  // USD
  double limit_price = 0;
  double stop_price = 0;
  std::string time_in_force = "day";
  // Bracket legs (0 = none): a take-profit limit and a stop-loss stop, one cancelling the other.
  double take_profit_price = 0;
  double stop_loss_price = 0;
};

struct Order {
  std::string id;  // the broker's id
  std::string client_order_id;
  std::string symbol;
  Side side = Side::kBuy;
  OrderType type = OrderType::kMarket;
  OrderStatus status = OrderStatus::kNew;
  double quantity = 0;
  double filled_quantity = 0;
  double filled_avg_price = 0;
  double fees = 0;  // when the broker reports them (SimBroker does)
  std::string reject_reason;
  std::vector<Order> legs;  // bracket children
};

struct Position {
  std::string symbol;
  double quantity = 0;  // shares, long only
  double avg_entry_price = 0;
  double market_price = 0;
};

struct Account {
  double cash = 0;
  double equity = 0;
  double buying_power = 0;
};

struct MarketClock {
  Instant now{};
  bool is_open = false;
  Instant next_open{};
  Instant next_close{};
};

inline bool is_terminal(OrderStatus s) {
  return s == OrderStatus::kFilled || s == OrderStatus::kCanceled || s == OrderStatus::kRejected ||
         s == OrderStatus::kExpired;
}
const char* to_string(Side side);
const char* to_string(OrderType type);
const char* to_string(OrderStatus status);
OrderStatus order_status_from(const std::string& text);  // throws BrokerError on an unknown status

// A broker said no, or could not be reached after retries. `rejected` orders must not be retried;
// transient failures may be retried (after looking the order up, as it may have been accepted).
class BrokerError : public Error {
 public:
  enum class Kind { kRejected, kTransient, kAuth, kNotFound, kProtocol };
  BrokerError(Kind kind, const std::string& message) : Error(message, kExitRuntime), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace ploutos::broker
