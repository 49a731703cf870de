#include "ploutos/trading/journal.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::trading {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cycles (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, decision_time TEXT UNIQUE NOT NULL,
  started_at TEXT NOT NULL, finished_at TEXT);
CREATE TABLE IF NOT EXISTS decisions (
  cycle INTEGER NOT NULL, symbol TEXT NOT NULL, action INTEGER NOT NULL, PRIMARY KEY (cycle, symbol));
CREATE TABLE IF NOT EXISTS orders (
  client_order_id TEXT PRIMARY KEY, cycle INTEGER NOT NULL, decision_time TEXT NOT NULL,
  symbol TEXT NOT NULL, side TEXT NOT NULL, quantity REAL NOT NULL, intent TEXT NOT NULL,
  state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', broker_order_id TEXT NOT NULL DEFAULT '',
  filled_quantity REAL NOT NULL DEFAULT 0, filled_avg_price REAL NOT NULL DEFAULT 0,
  fees REAL NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  parent TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS responses (
  id INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, at TEXT NOT NULL, what TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
  id INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, symbol TEXT NOT NULL,
  side TEXT NOT NULL, quantity REAL NOT NULL, price REAL NOT NULL, fees REAL NOT NULL, at TEXT NOT NULL,
  cumulative_quantity REAL NOT NULL, cycle INTEGER, UNIQUE (client_order_id, cumulative_quantity));
CREATE INDEX IF NOT EXISTS orders_by_symbol ON orders (symbol, cycle);
CREATE TABLE IF NOT EXISTS positions (at TEXT NOT NULL, symbol TEXT NOT NULL, quantity REAL NOT NULL,
  avg_entry_price REAL NOT NULL, market_price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS equity (at TEXT NOT NULL, cash REAL NOT NULL, equity REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
  kind TEXT NOT NULL, message TEXT NOT NULL);
)sql";

void add_missing_column(SQLite::Database& db, const std::string& table, const std::string& column,
                        const std::string& declaration) {
  for (SQLite::Statement columns(db, "PRAGMA table_info(" + table + ")"); columns.executeStep();) {
    if (columns.getColumn(1).getString() == column) return;
  }
  db.exec("ALTER TABLE " + table + " ADD COLUMN " + column + " " + declaration);
}

std::string now_text() {
  return format_instant(now_utc());
}

broker::Side side_from(const std::string& s) {
  return s == "buy" ? broker::Side::kBuy : broker::Side::kSell;
}

JournalOrder order_from(SQLite::Statement& q) {
  JournalOrder o;
  o.client_order_id = q.getColumn(0).getString();
  o.cycle = q.getColumn(1).getInt64();
  o.decision_time = q.getColumn(2).getString();
  o.symbol = q.getColumn(3).getString();
  o.side = side_from(q.getColumn(4).getString());
  o.quantity = q.getColumn(5).getDouble();
  o.intent = q.getColumn(6).getString();
  o.state = q.getColumn(7).getString();
  o.broker_order_id = q.getColumn(8).getString();
  o.filled_quantity = q.getColumn(9).getDouble();
  o.filled_avg_price = q.getColumn(10).getDouble();
  o.fees = q.getColumn(11).getDouble();
  o.created_at = q.getColumn(12).getString();
  o.parent = q.getColumn(13).getString();
  return o;
}

constexpr const char* kOrderColumns =
    "SELECT client_order_id, cycle, decision_time, symbol, side, quantity, intent, state, broker_order_id, "
    "filled_quantity, filled_avg_price, fees, created_at, parent FROM orders ";

// A damaged journal (a disk error, a copy taken mid-write by something other than SQLite) must stop
// a session before it trades on half a history, and a report before it shows one. quick_check reads
// every page: milliseconds for a journal of years.
void check_integrity(SQLite::Database& db, const std::string& path) {
  SQLite::Statement q(db, "PRAGMA quick_check(1)");
  std::string verdict = q.executeStep() ? q.getColumn(0).getString() : "no answer";
  if (verdict == "ok") return;
  // One line: SQLite heads its findings with "*** in database main ***" and a line break.
  if (const auto heading = verdict.find("***\n"); verdict.rfind("***", 0) == 0 && heading != std::string::npos)
    verdict.erase(0, heading + 4);
  std::replace(verdict.begin(), verdict.end(), '\n', ' ');
  throw InputError(path + ": damaged order journal (SQLite quick_check: " + verdict +
                   "); restore it from a backup, or reconcile with the broker and start a new journal");
}

// Every write is its own transaction, so a failed one leaves the journal as it was before it: an
// order whose intent could not be written was never sent, and one sent but not yet journaled is
// found at the broker by the next session's reconciliation.
[[noreturn]] void failed(const std::string& path, const SQLite::Exception& e) {
  const std::string what = std::string(e.what()) + ", SQLite code " + std::to_string(e.getExtendedErrorCode());
  if (e.getErrorCode() == SQLITE_CORRUPT || e.getErrorCode() == SQLITE_NOTADB)
    throw InputError(path + ": damaged order journal (" + what + ")");
  throw IoError(path + ": the order journal failed (" + what +
                "); everything journaled before is intact, and a session restarted once the cause is fixed "
                "reconciles with the broker");
}

}  // namespace

ExclusiveFileLock lock_session(const std::string& journal_path) {
  const auto parent = std::filesystem::path(journal_path).parent_path();
  if (!parent.empty()) ensure_writable_directory(parent);
  return ExclusiveFileLock(journal_path + ".lock", "a trading session on " + journal_path);
}

std::optional<std::string> running_session(const std::string& journal_path) {
  return ExclusiveFileLock::holder(journal_path + ".lock");
}

Journal::Journal(const std::string& path, bool durable) : path_(path) {
  try {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) ensure_writable_directory(parent);
    db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->setBusyTimeout(5000);
    check_integrity(*db_, path);
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db_->exec(kSchema);
    // Journals from before bracket legs were journaled lack orders.parent (added empty), and those
    // from before fills knew their cycle fills.cycle (added NULL: unknown).
    add_missing_column(*db_, "orders", "parent", "TEXT NOT NULL DEFAULT ''");
    add_missing_column(*db_, "fills", "cycle", "INTEGER");
    if (auto id = meta("run_id")) {
      run_id_ = *id;
    } else {
      // Unique per journal: a new journal never reuses the client order ids of an old one.
      const std::string created = now_text();
      char hex[17];
      std::snprintf(hex, sizeof hex, "%08llx",
                    static_cast<unsigned long long>(fnv1a64(std::filesystem::absolute(path).string() + "|" + created) &
                                                    0xffffffffULL));
      run_id_ = hex;
      set_meta("run_id", run_id_);
      set_meta("created_at", created);
    }
  } catch (const SQLite::Exception& e) {
    if (e.getErrorCode() == SQLITE_CORRUPT || e.getErrorCode() == SQLITE_NOTADB)
      throw InputError(path + ": damaged or not an order journal (" + e.what() + ")");
    throw IoError(path + ": cannot open the journal (" + e.what() + ")");
  }
}

Journal::~Journal() = default;

std::optional<std::string> Journal::meta(const std::string& key) const try {
  SQLite::Statement q(*db_, "SELECT value FROM meta WHERE key = ?");
  q.bind(1, key);
  if (q.executeStep()) return q.getColumn(0).getString();
  return std::nullopt;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::set_meta(const std::string& key, const std::string& value) try {
  SQLite::Statement q(*db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  q.bind(1, key);
  q.bind(2, value);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::int64_t Journal::begin_cycle(const std::string& t) try {
  SQLite::Statement ins(*db_, "INSERT OR IGNORE INTO cycles (decision_time, started_at) VALUES (?, ?)");
  ins.bind(1, t);
  ins.bind(2, now_text());
  ins.exec();
  SQLite::Statement q(*db_, "SELECT seq FROM cycles WHERE decision_time = ?");
  q.bind(1, t);
  q.executeStep();
  return q.getColumn(0).getInt64();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

bool Journal::cycle_done(const std::string& t) const try {
  SQLite::Statement q(*db_, "SELECT finished_at IS NOT NULL FROM cycles WHERE decision_time = ?");
  q.bind(1, t);
  return q.executeStep() && q.getColumn(0).getInt() != 0;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::finish_cycle(const std::string& t) try {
  SQLite::Statement q(*db_, "UPDATE cycles SET finished_at = ? WHERE decision_time = ?");
  q.bind(1, now_text());
  q.bind(2, t);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::int64_t Journal::cycles_done() const try {
  SQLite::Statement q(*db_, "SELECT COUNT(*) FROM cycles WHERE finished_at IS NOT NULL");
  q.executeStep();
  return q.getColumn(0).getInt64();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

namespace {
std::vector<std::string> strings(SQLite::Statement& q) {
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}
}  // namespace

std::vector<std::string> Journal::finished_cycle_times() const try {
  SQLite::Statement q(*db_, "SELECT decision_time FROM cycles WHERE finished_at IS NOT NULL ORDER BY seq");
  return strings(q);
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<std::string> Journal::unfinished_cycle_times() const try {
  SQLite::Statement q(*db_, "SELECT decision_time FROM cycles WHERE finished_at IS NULL ORDER BY seq");
  return strings(q);
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::record_decision(std::int64_t cycle, const std::string& symbol, int action) try {
  SQLite::Statement q(*db_, "INSERT OR IGNORE INTO decisions (cycle, symbol, action) VALUES (?, ?, ?)");
  q.bind(1, static_cast<std::int64_t>(cycle));
  q.bind(2, symbol);
  q.bind(3, action);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<std::pair<std::string, int>> Journal::decisions(std::int64_t cycle) const try {
  SQLite::Statement q(*db_, "SELECT symbol, action FROM decisions WHERE cycle = ? ORDER BY symbol");
  q.bind(1, static_cast<std::int64_t>(cycle));
  std::vector<std::pair<std::string, int>> out;
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt());
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::record_intent(const JournalOrder& o) try {
  SQLite::Statement q(*db_,
                      "INSERT OR IGNORE INTO orders (client_order_id, cycle, decision_time, symbol, side, quantity, "
                      "intent, state, created_at, updated_at, parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const std::string now = now_text();
  q.bind(1, o.client_order_id);
  q.bind(2, static_cast<std::int64_t>(o.cycle));
  q.bind(3, o.decision_time);
  q.bind(4, o.symbol);
  q.bind(5, broker::to_string(o.side));
  q.bind(6, o.quantity);
  q.bind(7, o.intent);
  q.bind(8, o.state);
  q.bind(9, now);
  q.bind(10, now);
  q.bind(11, o.parent);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::optional<JournalOrder> Journal::order(const std::string& cid) const try {
  SQLite::Statement q(*db_, std::string(kOrderColumns) + "WHERE client_order_id = ?");
  q.bind(1, cid);
  if (q.executeStep()) return order_from(q);
  return std::nullopt;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<JournalOrder> Journal::unsettled_orders() const try {
  SQLite::Statement q(
      *db_, std::string(kOrderColumns) + "WHERE state IN ('intended', 'new', 'partially_filled') ORDER BY rowid");
  std::vector<JournalOrder> out;
  while (q.executeStep()) out.push_back(order_from(q));
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<JournalOrder> Journal::orders() const try {
  SQLite::Statement q(*db_, std::string(kOrderColumns) + "ORDER BY rowid");
  std::vector<JournalOrder> out;
  while (q.executeStep()) out.push_back(order_from(q));
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::set_state(const std::string& cid, const std::string& state, const std::string& detail) try {
  SQLite::Statement q(*db_, "UPDATE orders SET state = ?, detail = ?, updated_at = ? WHERE client_order_id = ?");
  q.bind(1, state);
  q.bind(2, detail);
  q.bind(3, now_text());
  q.bind(4, cid);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::apply_broker_order(const std::string& cid, const broker::Order& b) try {
  SQLite::Transaction tx(*db_);
  const auto before = order(cid);
  if (!before) throw Error("journal: no order '" + cid + "' to update");
  const double delta = b.filled_quantity - before->filled_quantity;
  if (delta > 1e-12) {
    // The broker reports cumulative quantity and average price; the new fill is the difference.
    const double notional = b.filled_avg_price * b.filled_quantity - before->filled_avg_price * before->filled_quantity;
    SQLite::Statement f(*db_,
                        "INSERT OR IGNORE INTO fills (client_order_id, symbol, side, quantity, price, fees, at, "
                        "cumulative_quantity, cycle) VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT MAX(seq) FROM cycles))");
    f.bind(1, cid);
    f.bind(2, before->symbol);
    f.bind(3, broker::to_string(before->side));
    f.bind(4, delta);
    f.bind(5, notional / delta);
    f.bind(6, b.fees - before->fees);
    f.bind(7, now_text());
    f.bind(8, b.filled_quantity);
    f.exec();
  }
  SQLite::Statement u(*db_,
                      "UPDATE orders SET state = ?, detail = ?, broker_order_id = ?, filled_quantity = ?, "
                      "filled_avg_price = ?, fees = ?, updated_at = ? WHERE client_order_id = ?");
  u.bind(1, broker::to_string(b.status));
  u.bind(2, b.reject_reason);
  u.bind(3, b.id);
  u.bind(4, std::max(b.filled_quantity, before->filled_quantity));
  u.bind(5, delta > 1e-12 ? b.filled_avg_price : before->filled_avg_price);
  u.bind(6, std::max(b.fees, before->fees));
  u.bind(7, now_text());
  u.bind(8, cid);
  u.exec();
  tx.commit();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::record_response(const std::string& cid, const std::string& what) try {
  SQLite::Statement q(*db_, "INSERT INTO responses (client_order_id, at, what) VALUES (?, ?, ?)");
  q.bind(1, cid);
  q.bind(2, now_text());
  q.bind(3, what);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::optional<std::int64_t> Journal::last_trade_cycle(const std::string& symbol) const try {
  SQLite::Statement q(
      *db_, "SELECT MAX(cycle) FROM orders WHERE symbol = ? AND filled_quantity > 0 AND intent IN ('buy', 'sell')");
  q.bind(1, symbol);
  if (q.executeStep() && !q.getColumn(0).isNull()) return q.getColumn(0).getInt64();
  return std::nullopt;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::int64_t Journal::orders_on_day(const std::string& day_prefix) const try {
  SQLite::Statement q(*db_,
                      "SELECT COUNT(*) FROM orders WHERE substr(decision_time, 1, 10) = ? AND state NOT IN "
                      "('rejected', 'not_sent', 'dry_run') AND intent IN ('buy', 'sell')");
  q.bind(1, day_prefix.substr(0, 10));
  q.executeStep();
  return q.getColumn(0).getInt64();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<JournalFill> Journal::fills() const try {
  SQLite::Statement q(*db_,
                      "SELECT client_order_id, symbol, side, quantity, price, fees, at, cycle FROM fills ORDER BY id");
  std::vector<JournalFill> out;
  while (q.executeStep()) {
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), side_from(q.getColumn(2).getString()),
                   q.getColumn(3).getDouble(), q.getColumn(4).getDouble(), q.getColumn(5).getDouble(),
                   q.getColumn(6).getString(), q.getColumn(7).isNull() ? 0 : q.getColumn(7).getInt64()});
  }
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::map<std::string, double> Journal::positions() const try {
  SQLite::Statement q(*db_,
                      "SELECT symbol, SUM(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) FROM fills "
                      "GROUP BY symbol");
  std::map<std::string, double> out;
  while (q.executeStep()) {
    const double quantity = q.getColumn(1).getDouble();
    if (std::abs(quantity) >= 1e-9) out[q.getColumn(0).getString()] = quantity;
  }
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::record_positions(const std::string& at, const std::vector<broker::Position>& positions) try {
  SQLite::Transaction tx(*db_);
  for (const auto& p : positions) {
    SQLite::Statement q(*db_, "INSERT INTO positions VALUES (?, ?, ?, ?, ?)");
    q.bind(1, at);
    q.bind(2, p.symbol);
    q.bind(3, p.quantity);
    q.bind(4, p.avg_entry_price);
    q.bind(5, p.market_price);
    q.exec();
  }
  tx.commit();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::record_equity(const std::string& at, double cash, double equity) try {
  SQLite::Statement q(*db_, "INSERT INTO equity VALUES (?, ?, ?)");
  q.bind(1, at);
  q.bind(2, cash);
  q.bind(3, equity);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<JournalEquity> Journal::equity_curve() const try {
  SQLite::Statement q(*db_, "SELECT at, cash, equity FROM equity ORDER BY rowid");
  std::vector<JournalEquity> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getDouble(), q.getColumn(2).getDouble()});
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<broker::Position> Journal::positions_at(const std::string& at) const try {
  SQLite::Statement q(
      *db_, "SELECT symbol, quantity, avg_entry_price, market_price FROM positions WHERE at = ? ORDER BY rowid");
  q.bind(1, at);
  // Two snapshots share a time only where a sim session ended and the next began on that bar, with
  // no fill between them: one row a symbol is the position.
  std::map<std::string, broker::Position> latest;
  while (q.executeStep()) {
    broker::Position p;
    p.symbol = q.getColumn(0).getString();
    p.quantity = q.getColumn(1).getDouble();
    p.avg_entry_price = q.getColumn(2).getDouble();
    p.market_price = q.getColumn(3).getDouble();
    latest[p.symbol] = p;
  }
  std::vector<broker::Position> out;
  for (auto& [symbol, p] : latest) out.push_back(std::move(p));
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

namespace {
std::optional<double> single_double(SQLite::Statement& q) {
  if (q.executeStep() && !q.getColumn(0).isNull()) return q.getColumn(0).getDouble();
  return std::nullopt;
}
}  // namespace

std::optional<double> Journal::first_equity() const try {
  SQLite::Statement q(*db_, "SELECT equity FROM equity ORDER BY rowid LIMIT 1");
  return single_double(q);
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::optional<double> Journal::peak_equity() const try {
  SQLite::Statement q(*db_, "SELECT MAX(equity) FROM equity");
  return single_double(q);
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::optional<double> Journal::last_equity_before(const std::string& at_prefix) const try {
  SQLite::Statement q(*db_, "SELECT equity FROM equity WHERE at < ? ORDER BY at DESC, rowid DESC LIMIT 1");
  q.bind(1, at_prefix);
  return single_double(q);
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

void Journal::record_event(const std::string& kind, const std::string& message) try {
  SQLite::Statement q(*db_, "INSERT INTO events (at, kind, message) VALUES (?, ?, ?)");
  q.bind(1, now_text());
  q.bind(2, kind);
  q.bind(3, message);
  q.exec();
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

std::vector<JournalEvent> Journal::events(const std::string& kind) const try {
  SQLite::Statement q(*db_, "SELECT at, kind, message FROM events WHERE ? = '' OR kind = ? ORDER BY id");
  q.bind(1, kind);
  q.bind(2, kind);
  std::vector<JournalEvent> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
  return out;
} catch (const SQLite::Exception& e) {
  failed(path_, e);
}

}  // namespace ploutos::trading
