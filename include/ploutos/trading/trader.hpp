#pragma once
// One decision cycle of the trading loop, the same for every broker:
//   reconcile journal and broker -> portfolio -> decisions (the Agent, or any DecideFn) -> risk
//   overlay (stops, kill switch, caps, sizing) -> orders with deterministic client order ids,
//   journaled before they are sent -> fills -> positions and equity snapshot -> end-of-day analysis.
// A cycle is keyed by its decision bar's time, so a restart repeats nothing it already did.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ploutos/broker/broker.hpp"
#include "ploutos/config/config.hpp"
#include "ploutos/diagnose/suggestions.hpp"
#include "ploutos/env/market.hpp"
#include "ploutos/env/trading_env.hpp"
#include "ploutos/trading/journal.hpp"

namespace ploutos::trading {

// The journal and the broker disagree in a way the trader cannot explain: trading stops.
class ReconciliationError : public Error {
 public:
  explicit ReconciliationError(const std::string& report) : Error(report, kExitRuntime) {}
};

struct TraderConfig {
  double initial_balance = 100000;  // the observation's reference (the model's training balance)
  double buy_pct = 0.20;
  double max_position_pct = 0.25;
  double max_gross_exposure = 1.0;
  int max_trades_per_day = 10;
  int min_holding_period = 2;  // cycles between trades of one ticker
  env::EnvConfig::Sizing sizing = env::EnvConfig::Sizing::kFixedFraction;
  double kelly_fraction = 0.5;
  double vol_target = 0.15;
  double stop_loss_pct = 0;  // 0 = off; monitored on each cycle's bar (or bracket legs, see below)
  double take_profit_pct = 0;
  bool bracket_orders = false;   // send stops as bracket legs where the broker supports them
  double kill_max_drawdown = 0;  // kill switch: no new entries past this drawdown from the peak (0 = off)
  double kill_daily_loss = 0;    // ... or this loss since the previous day's close (0 = off)
  bool dry_run = false;          // decide and journal, send nothing
  double bars_per_year = 252;
};
// bars_per_year follows the bars the trader sees (data.interval), not trading.interval.
TraderConfig trader_config_from(const config::Config& config);

// The trading loop's decision interval: trading.interval, where `auto` (the default) is the model's
// bar interval (data.interval of the config it was trained with). The policy decides once a bar, so
// any other interval is refused (UsageError naming both).
std::string decision_interval(const config::Config& config);

// Shares held per market ticker and the portfolio -> one action per ticker (env::Action).
using DecideFn = std::function<void(const env::MarketData& market, std::size_t bar, std::span<const double> quantities,
                                    const env::PortfolioState& portfolio, std::span<std::int32_t> actions)>;

// "pl-<run id>-<decision time yyyymmddThhmm>-<symbol>-<intent>": the same inputs give the same id,
// so a retry or a restart finds the order instead of sending it again.
std::string client_order_id(const std::string& run_id, Instant decision_time, const std::string& symbol,
                            const std::string& intent);

// An order a cycle handled and what became of it, for the user's report of the cycle.
struct CycleOrder {
  std::string client_order_id;
  std::string symbol;
  broker::Side side = broker::Side::kBuy;
  double quantity = 0;
  std::string intent;   // buy, sell, stop_loss, take_profit
  std::string outcome;  // the broker's status (new, filled, ...), rejected, dry_run, no_answer, sent_before
};

struct CycleReport {
  std::string decision_time;
  bool skipped = false;
  std::string skip_reason;
  std::vector<std::int32_t> actions;
  std::size_t orders_sent = 0, orders_rejected = 0, orders_recovered = 0;
  bool kill_switch = false;
  double cash = 0, equity = 0;
  std::vector<CycleOrder> orders;  // in the order they were sent: exits, then entries
  std::vector<std::string> notes;
};

class Trader {
 public:
  Trader(broker::Broker& broker, Journal& journal, TraderConfig config, DecideFn decide);

  // Tests inject crashes: called at each named point of a cycle; throwing there is a crash.
  void set_crash_hook(std::function<void(const char* point)> hook) { crash_hook_ = std::move(hook); }

  // Settles unsettled journal orders against the broker (recording fills) and compares positions.
  // Throws ReconciliationError (after journaling the report) on a mismatch it cannot explain.
  void reconcile();
  // One cycle deciding on `bar` of `market` (whose tickers are the broker's symbols).
  CycleReport run_cycle(const env::MarketData& market, std::size_t bar);
  // Positions and equity from the broker into the journal.
  void snapshot(const std::string& at);
  // The losing-trade analysis over the journal's fills: returns its suggestions. One for a config
  // key the previous analysis of this trader did not name is journaled and logged with its
  // evidence; one that holds for weeks (its value moving with the median loss) is said once.
  std::vector<std::string> end_of_day_analysis();

 private:
  void crash_point(const char* point) {
    if (crash_hook_) crash_hook_(point);
  }
  // The broker ids the journal holds for its orders other than `except` (a client order id): what
  // recover() must not claim for that order. Its own id stays claimable, so a restarted trader
  // finds an order the broker still holds as it was journaled.
  std::set<std::string> known_broker_ids(const std::string& except) const;
  std::vector<diagnose::RoundTrip> round_trips() const;  // from the journal's fills
  void settle(const JournalOrder& order);
  // Stops go out as bracket legs: asked for, and the broker takes them (else they are monitored).
  bool brackets() const;
  // The broker's state of a journaled order into the journal, with the legs of a filled bracketed
  // entry, once each.
  void apply(const JournalOrder& order, const broker::Order& at_broker);
  // Sends one order unless the journal shows it was already handled, and says what became of it.
  // kNow: it went out in this run (an answer lost on the way included; dry: journaled) and counts
  // against the day's orders now. kBefore: a repeated cycle (a restart) finds it journaled, and the
  // day's count at the start of the cycle already has it. kNo: rejected, now or before.
  enum class Sent { kNo, kNow, kBefore };
  Sent send(const JournalOrder& order, const broker::OrderRequest& request, CycleReport& report);
  // Bracket mode: cancels the open stop-loss and take-profit legs (journaled with a parent) of
  // `symbol`, which hold its shares at the broker, so that a decision to sell it can go out.
  // False, with a note, when they are not canceled yet: the sell waits for the next cycle, the legs
  // still protect it.
  bool release_legs(const std::string& symbol, CycleReport& report);

  broker::Broker& broker_;
  Journal& journal_;
  TraderConfig config_;
  DecideFn decide_;
  std::function<void(const char*)> crash_hook_;
  std::vector<std::string> last_keys_;  // the config keys the last analysis suggested changing
};

}  // namespace ploutos::trading
