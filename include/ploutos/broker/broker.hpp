#pragma once
// The one interface the trader talks to: SimBroker (offline, the cost model), AlpacaBroker and
// EtoroBroker. Brokers know nothing of models or features.
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ploutos/broker/types.hpp"

namespace ploutos::broker {

class Broker {
 public:
  virtual ~Broker() = default;
  virtual std::string name() const = 0;
  virtual Account account() = 0;
  virtual std::vector<Position> positions() = 0;
  // Submits once (the HTTP layer retries only what cannot have reached the broker). Throws
  // BrokerError: kRejected when the broker refused it, kTransient when the outcome is unknown.
  virtual Order submit(const OrderRequest& request) = 0;
  virtual std::optional<Order> order_by_client_id(const std::string& client_order_id) = 0;
  virtual std::vector<Order> open_orders() = 0;
  virtual void cancel(const std::string& order_id) = 0;
  virtual MarketClock clock() = 0;
  virtual double latest_price(const std::string& symbol) = 0;
  virtual bool supports_brackets() const = 0;
  // True when an order with stop-loss/take-profit legs must be for whole shares (Alpaca takes
  // fractional quantities only in simple market day orders).
  virtual bool brackets_need_whole_shares() const { return false; }
  // The stop-loss and take-profit legs of the filled bracket order `parent` (as order_by_client_id
  // gave it), each with its state now.
  virtual std::vector<Order> legs_of(const Order& parent) { return parent.legs; }

  // After an unknown outcome (a lost response, a crash between sending and journaling): the order
  // the broker accepted for `request`, if any. Brokers with client order ids look it up by id;
  // brokers without (eToro) match what they hold, ignoring the broker ids in `known_ids`.
  virtual std::optional<Order> recover(const OrderRequest& request, Instant sent_after,
                                       const std::set<std::string>& known_ids) {
    (void)sent_after;
    (void)known_ids;
    return order_by_client_id(request.client_order_id);
  }
};

struct BrokerOptions {
  std::string name;  // sim | alpaca | etoro
  bool paper = true;
  double timeout_seconds = 10.0;
  int max_retries = 5;
  double requests_per_minute = 200;
  std::string base_url;  // overrides the paper/live default (tests, proxies)
};

// alpaca and etoro read their credentials from the environment (or .env); a missing one throws an
// InputError that names the variable and points to `--broker sim`. `sim` is built by the trader
// (it needs the market); asking the factory for it throws a UsageError.
std::unique_ptr<Broker> make_broker(const BrokerOptions& options);

// --broker, else $BROKER, else the config's name (the seed's default: etoro).
std::string resolve_broker_name(const std::string& flag, const std::string& config_name);

}  // namespace ploutos::broker
