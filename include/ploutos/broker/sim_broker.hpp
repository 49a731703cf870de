#pragma once
// Offline paper trading on stored or synthetic bars: a simulated clock that moves one bar at a
// time, market orders filled at the next bar's open, limit/stop orders when a bar touches them
// (at the open when it gaps through), bracket legs one-cancels-other, and every fill priced by the
// same cost model as the environment and the backtests. Optional partial fills (a share of each
// bar's volume). Its whole state serialises to JSON so a paper session survives restarts.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ploutos/broker/broker.hpp"
#include "ploutos/costs/cost_model.hpp"

namespace ploutos::broker {

// Bars the simulator trades on, [bar][symbol] like env::MarketData (which the trader converts).
// Volatility and ADV are the cost model's context as of each bar.
struct SimBars {
  std::vector<std::string> symbols;
  std::vector<Instant> time;
  std::vector<double> open, high, low, close, volume, volatility, adv;
  // 0 where the symbol has no real bar (its prices hold the last close) and nothing can fill;
  // empty: every bar trades.
  std::vector<std::uint8_t> tradable;
  bool trades(std::size_t bar, std::size_t symbol) const { return tradable.empty() || tradable[at(bar, symbol)]; }
  std::size_t n_symbols() const { return symbols.size(); }
  std::size_t n_bars() const { return time.size(); }
  std::size_t at(std::size_t bar, std::size_t symbol) const { return bar * symbols.size() + symbol; }
};

struct SimOptions {
  double initial_cash = 100000;
  costs::CostParams costs;
  std::uint64_t seed = 1;            // latency draws of the cost model, one stream per fill
  double max_volume_share = 0;       // > 0: an order fills at most this share of a bar's volume per bar
  bool refuse_duplicate_ids = true;  // like Alpaca (422); tests turn it off to catch a resend
};

// One execution, as the simulator priced it.
struct SimFill {
  std::string order_id, client_order_id;
  std::size_t symbol = 0;
  std::size_t bar = 0;  // the bar whose prices filled it
  Side side = Side::kBuy;
  double quantity = 0, price = 0, fees = 0;
  double cost = 0;  // USD against the reference price, fees included (costs::Fill::cost)
  double pnl = 0;   // sells: proceeds - the cost basis sold (fees included)
};

class SimBroker : public Broker {
 public:
  SimBroker(std::shared_ptr<const SimBars> bars, SimOptions options, std::size_t start_bar);

  std::string name() const override { return "sim"; }
  Account account() override;
  std::vector<Position> positions() override;
  Order submit(const OrderRequest& request) override;
  std::optional<Order> order_by_client_id(const std::string& client_order_id) override;
  std::vector<Order> open_orders() override;
  void cancel(const std::string& order_id) override;
  MarketClock clock() override;
  double latest_price(const std::string& symbol) override;
  bool supports_brackets() const override { return true; }
  std::vector<Order> legs_of(const Order& parent) override;

  // The last closed bar: decisions see it, orders submitted now fill from the next one.
  std::size_t bar() const { return bar_; }
  bool at_end() const { return bar_ + 1 >= bars_->n_bars(); }
  // Moves to the next bar and fills what it allows. False (and nothing changes) at the end of the data.
  bool advance();

  // Everything but the bars, as JSON; load_state() restores it (InputError on a bad document).
  std::string save_state() const;
  void load_state(const std::string& json, const std::string& origin);

  // Test hooks: the world changing behind the trader's back, and what the broker accepted.
  void set_position(const std::string& symbol, double quantity, double avg_entry_price);
  std::size_t accepted_orders() const { return orders_.size(); }
  const std::vector<Order>& all_orders() const { return orders_; }
  // Every execution since this object was made (not part of the saved state).
  const std::vector<SimFill>& fills() const { return fills_; }

 private:
  struct Holding {
    double quantity = 0;
    double cost_basis = 0;  // USD, fees included
  };
  std::size_t symbol_index(const std::string& symbol) const;
  void fill(Order& order, std::size_t symbol, double reference, double quantity);
  bool try_fill(Order& order);  // true when it filled (fully or partly) on the current bar
  void activate_legs(const Order& parent);
  double reserved_cash() const;
  double held(std::size_t symbol) const;
  double pending_sells(std::size_t symbol) const;

  std::shared_ptr<const SimBars> bars_;
  SimOptions options_;
  costs::CostModel cost_model_;
  std::size_t bar_;
  double cash_;
  std::uint64_t next_id_ = 1;
  std::vector<Holding> holdings_;
  std::vector<Order> orders_;  // every accepted order, legs included once active
  std::vector<SimFill> fills_;
  // Bracket legs waiting for their parent's fill, and the parent of each active leg (OCO pairs).
  std::map<std::string, std::vector<Order>> pending_legs_;
  std::map<std::string, std::string> oco_sibling_;
  std::map<std::string, std::size_t> submitted_bar_;
  std::map<std::string, double> triggers_;  // limit or stop price by order id
  std::map<std::string, bool> day_order_;   // limit/stop orders that expire after their first bar
};

}  // namespace ploutos::broker
