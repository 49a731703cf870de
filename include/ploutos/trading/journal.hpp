#pragma once
// The crash-safe order journal (SQLite in WAL mode). Every decision, every order (written before it
// is sent), every broker response, fill, position snapshot and equity point, and every event
// (kill switch, reconciliation report, self-improvement suggestion). Each write is its own
// committed transaction, so a crash at any point leaves a journal that says exactly how far the
// trader got. Positions implied by the journal are the sum of its fills. A method that fails
// (disk full, a lock held too long, damage found mid-session) throws IoError naming the file
// (InputError for damage) and has changed nothing. Many readers may open a journal; a trading
// session also holds lock_session() so that no two sessions ever advance one journal.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ploutos/broker/types.hpp"
#include "ploutos/core/file_lock.hpp"
#include "ploutos/core/time.hpp"

namespace SQLite {
class Database;
}

namespace ploutos::trading {

// Order states in the journal: `intended` is written before sending; a restart that finds an
// intended order looks it up at the broker before doing anything else.
inline constexpr const char* kIntended = "intended";
inline constexpr const char* kNotSent = "not_sent";  // the broker never received it (checked)
inline constexpr const char* kDryRun = "dry_run";

struct JournalOrder {
  std::string client_order_id;
  std::int64_t cycle = 0;  // sequence number of the decision cycle
  std::string decision_time;
  std::string symbol;
  broker::Side side = broker::Side::kBuy;
  double quantity = 0;
  std::string intent;  // buy | sell | stop_loss | take_profit | flatten
  std::string state =
      kIntended;  // intended | new | partially_filled | filled | canceled | rejected | expired | not_sent | dry_run
  std::string broker_order_id;
  double filled_quantity = 0;
  double filled_avg_price = 0;
  double fees = 0;
  std::string created_at;
  // A bracket leg (a stop-loss or take-profit order the broker attached to an entry): the entry's
  // client order id. Empty for the orders the trader decided; only those count as the day's trades.
  std::string parent;
};

struct JournalFill {
  std::string client_order_id;
  std::string symbol;
  broker::Side side = broker::Side::kBuy;
  double quantity = 0;
  double price = 0;
  double fees = 0;
  std::string at;
  // The latest cycle begun when the fill was journaled: a fill seen by the reconciliation before a
  // cycle belongs to the one before (0: unknown, in journals from before fills recorded it).
  std::int64_t cycle = 0;
};

struct JournalEvent {
  std::string at, kind, message;
};

struct JournalEquity {
  std::string at;  // the snapshot's time: the decision bar of its cycle
  double cash = 0, equity = 0;
};

// The one-writer lock of a trading session on `journal_path` (the lock file `<journal>.lock`):
// a second session on the same journal is refused with who holds it.
ExclusiveFileLock lock_session(const std::string& journal_path);
// The session holding that lock now ("pid 1234 since ..."), or nullopt: a look that takes nothing.
std::optional<std::string> running_session(const std::string& journal_path);

class Journal {
 public:
  // Creates the file (and its run id) when missing. `durable`: fsync every commit (synchronous=FULL),
  // surviving power loss; otherwise a process crash is still safe (synchronous=NORMAL).
  explicit Journal(const std::string& path, bool durable = true);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return path_; }
  // Random-free and stable for the life of the journal: part of every client order id.
  const std::string& run_id() const { return run_id_; }
  std::optional<std::string> meta(const std::string& key) const;
  void set_meta(const std::string& key, const std::string& value);

  // Cycles: one per decision time. begin returns its sequence number (the same on a restart).
  std::int64_t begin_cycle(const std::string& decision_time);
  bool cycle_done(const std::string& decision_time) const;
  void finish_cycle(const std::string& decision_time);
  std::int64_t cycles_done() const;
  std::vector<std::string> finished_cycle_times() const;    // decision times, in cycle order
  std::vector<std::string> unfinished_cycle_times() const;  // begun, not finished (a crash or a kill)

  void record_decision(std::int64_t cycle, const std::string& symbol, int action);
  std::vector<std::pair<std::string, int>> decisions(std::int64_t cycle) const;

  // INSERT OR IGNORE: a restart re-recording the same intent keeps the first row.
  void record_intent(const JournalOrder& order);
  std::optional<JournalOrder> order(const std::string& client_order_id) const;
  // Orders whose outcome may still change: intended, new, partially_filled.
  std::vector<JournalOrder> unsettled_orders() const;
  std::vector<JournalOrder> orders() const;
  void set_state(const std::string& client_order_id, const std::string& state, const std::string& detail = "");
  // The broker's view of an order: its state, and a fill row for any quantity filled since the
  // last update (price from the change in the broker's average), in one transaction.
  void apply_broker_order(const std::string& client_order_id, const broker::Order& order);
  void record_response(const std::string& client_order_id, const std::string& what);
  // The agent's trades (buy and sell decisions; stops and legs are not its trades, as in the
  // environment): the cycle of the latest with fills for `symbol` (min holding period), or nullopt,
  // and how many were sent on a day (max_trades_per_day).
  std::optional<std::int64_t> last_trade_cycle(const std::string& symbol) const;
  std::int64_t orders_on_day(const std::string& day_prefix) const;

  std::vector<JournalFill> fills() const;
  std::map<std::string, double> positions() const;  // symbol -> shares, from fills

  void record_positions(const std::string& at, const std::vector<broker::Position>& positions);
  void record_equity(const std::string& at, double cash, double equity);
  std::vector<JournalEquity> equity_curve() const;  // in the order recorded
  // The positions recorded with the snapshot at `at` (the latest snapshot of that time).
  std::vector<broker::Position> positions_at(const std::string& at) const;
  std::optional<double> first_equity() const;
  std::optional<double> peak_equity() const;
  std::optional<double> last_equity_before(const std::string& at_prefix) const;  // strictly before

  void record_event(const std::string& kind, const std::string& message);
  std::vector<JournalEvent> events(const std::string& kind = "") const;

 private:
  std::string path_;
  std::string run_id_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace ploutos::trading
