#include "ploutos/broker/types.hpp"

namespace ploutos::broker {

const char* to_string(Side side) {
  return side == Side::kBuy ? "buy" : "sell";
}

const char* to_string(OrderType type) {
  switch (type) {
    case OrderType::kMarket:
      return "market";
    case OrderType::kLimit:
      return "limit";
    case OrderType::kStop:
      return "stop";
  }
  return "market";
}

const char* to_string(OrderStatus status) {
  switch (status) {
    case OrderStatus::kNew:
      return "new";
    case OrderStatus::kPartiallyFilled:
      return "partially_filled";
    case OrderStatus::kFilled:
      return "filled";
    case OrderStatus::kCanceled:
      return "canceled";
    case OrderStatus::kRejected:
      return "rejected";
    case OrderStatus::kExpired:
      return "expired";
  }
  return "new";
}

OrderStatus order_status_from(const std::string& s) {
  // Alpaca's working states all mean "live at the broker, not (fully) filled".
  if (s == "new" || s == "accepted" || s == "pending_new" || s == "accepted_for_bidding" || s == "held" ||
      s == "pending_cancel" || s == "pending_replace" || s == "pending_review" || s == "calculated" || s == "stopped" ||
      s == "suspended")
    return OrderStatus::kNew;
  if (s == "partially_filled") return OrderStatus::kPartiallyFilled;
  if (s == "filled") return OrderStatus::kFilled;
  if (s == "canceled" || s == "replaced" || s == "done_for_day") return OrderStatus::kCanceled;
  if (s == "rejected") return OrderStatus::kRejected;
  if (s == "expired") return OrderStatus::kExpired;
  throw BrokerError(BrokerError::Kind::kProtocol, "unknown order status '" + s + "'");
}

}  // namespace ploutos::broker
