#pragma once
// What a paper or live session did, read back from its order journal: the after-cost equity curve
// and its metrics, the open positions, orders by state, closed round trips and the events worth a
// look (kill switch, rejections, reconciliation reports, suggestions). `ploutos journal` prints it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ploutos/broker/types.hpp"
#include "ploutos/diagnose/suggestions.hpp"
#include "ploutos/risk/metrics.hpp"
#include "ploutos/trading/journal.hpp"

namespace ploutos::trading {

struct JournalReport {
  std::string path, run_id, broker, created_at;
  std::string account;                    // paper | live ("" in journals from before it was recorded)
  std::string model, decision_precision;  // of the latest session ("" in journals from before they were recorded)
  std::string interval;  // the decision interval the session recorded (older journals: from the decision times)
  std::int64_t cycles_done = 0;
  std::string first_decision, last_decision;
  std::vector<std::string> unfinished;  // cycles begun and not finished: the next run finishes them
  std::string running_session;          // "pid 1234 since ..." while a session runs on the journal, else ""
  std::vector<JournalEquity> equity;    // one point a snapshot time, the latest where a time repeats
  double peak_equity = 0;
  risk::Metrics metrics;  // of `equity`: the broker's equity, so every cost is already paid
  double fees = 0;        // over all fills
  std::vector<JournalFill> fills;
  std::map<std::string, std::size_t> orders_by_state;
  std::vector<JournalOrder> orders;
  std::vector<broker::Position> positions;  // at the last snapshot
  std::vector<diagnose::RoundTrip> round_trips;
  std::vector<JournalEvent> events;
};

// Closed round trips from the journal's fills, against average cost; bars_held counts cycles.
std::vector<diagnose::RoundTrip> journal_round_trips(const Journal& journal);

// Reads the journal at `path`; InputError when there is none (it is never created here).
JournalReport read_journal_report(const std::string& path);

std::string journal_report_json(const JournalReport& report);
std::string journal_report_text(const JournalReport& report, std::size_t max_events = 10);

// equity.csv, orders.csv, fills.csv, round_trips.csv and journal.html (equity and drawdown charts),
// each written atomically. Returns the file names written.
std::vector<std::string> write_journal_report(const JournalReport& report, const std::filesystem::path& dir);

}  // namespace ploutos::trading
