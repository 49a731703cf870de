#include "ploutos/trading/journal_report.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/svg.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/risk/metrics_json.hpp"

namespace ploutos::trading {
namespace {

// Opening a Journal creates what is missing; a report must neither create a file nor turn some
// other database into a journal.
void require_journal(const std::string& path) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError(path + ": no journal there (`ploutos trade` writes one; see trading.journal or --journal)");
  try {
    const SQLite::Database db(path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT value FROM meta WHERE key = 'run_id'");
    if (q.executeStep()) return;
  } catch (const SQLite::Exception&) {
  }
  throw InputError(path + ": not a Ploutos order journal (expected an SQLite file with a run id)");
}

// Journals written before sessions recorded their interval: daily cycles are stamped at midnight.
std::string interval_of(const Journal& journal, const std::vector<std::string>& cycle_times) {
  if (auto recorded = journal.meta("interval")) return *recorded;
  return std::all_of(cycle_times.begin(), cycle_times.end(),
                     [](const std::string& at) { return bar_time_text(at).size() == 10; })
             ? "1d"
             : "1h";
}

std::string percent(double fraction, int precision = 2) {
  return svg::num(100 * fraction, precision) + "%";
}

std::vector<double> drawdown_percent(const std::vector<double>& equity) {
  std::vector<double> out;
  double peak = 0;
  for (const double e : equity) {
    peak = std::max(peak, e);
    out.push_back(e < peak ? 100.0 * (e / peak - 1) : 0.0);
  }
  return out;
}

std::vector<double> equity_values(const JournalReport& r) {
  std::vector<double> out;
  for (const auto& p : r.equity) out.push_back(p.equity);
  return out;
}

std::map<std::string, std::size_t> events_by_kind(const JournalReport& r) {
  std::map<std::string, std::size_t> out;
  for (const auto& e : r.events) ++out[e.kind];
  return out;
}

std::string journal_html(const JournalReport& r) {
  using namespace svg;
  const std::vector<double> equity = equity_values(r);
  const std::vector<double> drawdown = drawdown_percent(equity);
  const std::string first = r.equity.empty() ? "" : bar_time_text(r.equity.front().at);
  const std::string last = r.equity.empty() ? "" : bar_time_text(r.equity.back().at);
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Ploutos journal</title>"
      "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
      "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}"
      "td:first-child,th:first-child{text-align:left}</style></head><body>";
  html += "<h1>Journal " + escape(r.path) + "</h1>";
  html += "<p>Run " + escape(r.run_id) + ", broker " + escape(r.broker) +
          (r.account.empty() ? "" : " (" + escape(r.account) + ")") + ", " + escape(r.interval) + " decisions, " +
          std::to_string(r.cycles_done) + " cycles " + escape(bar_time_text(r.first_decision)) + " .. " +
          escape(bar_time_text(r.last_decision)) + ". Equity is the broker's: every cost is paid.</p>";
  const auto& m = r.metrics;
  html +=
      "<table><tr><th>return</th><th>annual</th><th>sharpe</th><th>sortino</th><th>max drawdown</th>"
      "<th>exposure</th><th>round trips</th><th>win rate</th><th>fees</th></tr><tr><td>" +
      percent(m.total_return) + "</td><td>" + percent(m.annual_return) + "</td><td>" + num(m.sharpe) + "</td><td>" +
      num(m.sortino) + "</td><td>" + percent(m.max_drawdown) + "</td><td>" + percent(m.exposure, 1) + "</td><td>" +
      std::to_string(m.trades) + "</td><td>" + (m.trades > 0 ? percent(m.win_rate, 1) : "-") + "</td><td>" +
      num(r.fees) + "</td></tr></table>";
  if (equity.size() >= 2) {
    html += "<h2>Equity</h2>" + line_chart("equity (USD)", {{"equity", &equity, kColours[0]}}, first, last);
    html +=
        "<h2>Drawdown</h2>" + line_chart("drawdown (%)", {{"drawdown", &drawdown, kColours[3]}}, first, last, 900, 180);
  }
  html += "<h2>Positions</h2>";
  if (r.positions.empty()) {
    html += "<p>Flat.</p>";
  } else {
    html += "<table><tr><th>symbol</th><th>shares</th><th>entry</th><th>last</th><th>unrealised</th></tr>";
    for (const auto& p : r.positions)
      html += "<tr><td>" + escape(p.symbol) + "</td><td>" + num(p.quantity, 4) + "</td><td>" + num(p.avg_entry_price) +
              "</td><td>" + num(p.market_price) + "</td><td>" + num((p.market_price - p.avg_entry_price) * p.quantity) +
              "</td></tr>";
    html += "</table>";
  }
  html += "<h2>Round trips</h2>";
  if (r.round_trips.empty()) {
    html += "<p>None closed yet.</p>";
  } else {
    html +=
        "<table><tr><th>symbol</th><th>shares</th><th>entry</th><th>exit</th><th>P&amp;L</th><th>return</th>"
        "<th>cycles</th><th>exit</th></tr>";
    for (const auto& t : r.round_trips)
      html += "<tr><td>" + escape(t.symbol) + "</td><td>" + num(t.quantity, 4) + "</td><td>" + num(t.entry_price) +
              "</td><td>" + num(t.exit_price) + "</td><td>" + num(t.pnl) + "</td><td>" + percent(t.return_pct) +
              "</td><td>" + std::to_string(t.bars_held) + "</td><td>" + escape(t.exit_reason) + "</td></tr>";
    html += "</table>";
  }
  html += "<h2>Events</h2>";
  if (r.events.empty()) html += "<p>None.</p>";
  for (const auto& e : r.events)
    html += "<p><b>" + escape(e.kind) + "</b> " + escape(e.at) + ": " + escape(e.message) + "</p>";
  html += "<p>Data: equity.csv, orders.csv, fills.csv, round_trips.csv.</p></body></html>\n";
  return html;
}

}  // namespace

std::vector<diagnose::RoundTrip> journal_round_trips(const Journal& journal) {
  std::map<std::string, JournalOrder> order_of;
  for (auto& o : journal.orders()) order_of[o.client_order_id] = std::move(o);
  std::vector<diagnose::FillEvent> fills;
  for (const auto& f : journal.fills()) {
    const JournalOrder& o = order_of[f.client_order_id];
    // The trader's own orders count from the cycle that decided them (a fill at the next open
    // belongs to it); a bracket leg, which the broker fills when the price gets there, from the
    // cycle in which it filled (it carries its entry's cycle).
    const std::int64_t cycle = !o.parent.empty() && f.cycle > 0 ? f.cycle : o.cycle;
    fills.push_back({f.symbol, f.side == broker::Side::kBuy, f.quantity, f.price, f.fees,
                     static_cast<std::size_t>(cycle), o.intent == "sell" || o.intent == "buy" ? "decision" : o.intent});
  }
  return diagnose::round_trips(fills);
}

JournalReport read_journal_report(const std::string& path) {
  require_journal(path);
  // Damage that quick_check did not see shows when a row is read: the journal says so (InputError).
  const Journal journal(path, false);
  JournalReport r;
  r.path = path;
  r.run_id = journal.run_id();
  r.broker = journal.meta("broker").value_or("?");
  r.account = journal.meta("account").value_or("");
  r.created_at = journal.meta("created_at").value_or("?");
  r.model = journal.meta("model").value_or("");
  r.decision_precision = journal.meta("decision_precision").value_or("");
  const auto cycle_times = journal.finished_cycle_times();
  r.interval = interval_of(journal, cycle_times);
  r.cycles_done = static_cast<std::int64_t>(cycle_times.size());
  r.unfinished = journal.unfinished_cycle_times();
  r.running_session = running_session(path).value_or("");
  if (!cycle_times.empty()) {
    r.first_decision = cycle_times.front();
    r.last_decision = cycle_times.back();
  }
  for (const auto& p : journal.equity_curve()) {
    if (!r.equity.empty() && r.equity.back().at == p.at) {
      r.equity.back() = p;
    } else {
      r.equity.push_back(p);
    }
  }
  for (const auto& p : r.equity) r.peak_equity = std::max(r.peak_equity, p.equity);
  r.orders = journal.orders();
  for (const auto& o : r.orders) ++r.orders_by_state[o.state];
  r.fills = journal.fills();
  double notional = 0;
  for (const auto& f : r.fills) {
    r.fees += f.fees;
    notional += f.quantity * f.price;
  }
  if (!r.equity.empty()) r.positions = journal.positions_at(r.equity.back().at);
  r.round_trips = journal_round_trips(journal);
  r.events = journal.events();

  std::vector<double> exposure;
  for (const auto& p : r.equity) exposure.push_back(p.equity > 0 ? std::clamp(1 - p.cash / p.equity, 0.0, 1.0) : 0.0);
  std::vector<risk::ClosedTrade> trades;
  for (const auto& t : r.round_trips) trades.push_back({t.pnl, t.return_pct, t.bars_held});
  const double per_year = data::bars_per_year(data::parse_timeframe(r.interval));
  r.metrics = risk::compute_metrics(equity_values(r), trades, notional, per_year, exposure);
  return r;
}

std::string journal_report_json(const JournalReport& r) {
  nlohmann::ordered_json positions = nlohmann::ordered_json::array();
  for (const auto& p : r.positions)
    positions.push_back({{"symbol", p.symbol},
                         {"quantity", p.quantity},
                         {"avg_entry_price", p.avg_entry_price},
                         {"market_price", p.market_price}});
  nlohmann::ordered_json trips = nlohmann::ordered_json::array();
  for (const auto& t : r.round_trips)
    trips.push_back({{"symbol", t.symbol},
                     {"quantity", t.quantity},
                     {"entry_price", t.entry_price},
                     {"exit_price", t.exit_price},
                     {"pnl", t.pnl},
                     {"return_pct", t.return_pct},
                     {"fees", t.fees},
                     {"cycles_held", t.bars_held},
                     {"exit_reason", t.exit_reason}});
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (const auto& e : r.events) events.push_back({{"at", e.at}, {"kind", e.kind}, {"message", e.message}});
  nlohmann::ordered_json j;
  j["journal"] = r.path;
  j["run_id"] = r.run_id;
  j["broker"] = r.broker;
  j["account"] = r.account.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.account);
  j["interval"] = r.interval;
  j["created_at"] = r.created_at;
  j["model"] = r.model;
  j["decision_precision"] = r.decision_precision;
  j["cycles_done"] = r.cycles_done;
  j["first_decision"] = r.first_decision;
  j["last_decision"] = r.last_decision;
  j["unfinished_cycles"] = r.unfinished;
  j["running_session"] =
      r.running_session.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.running_session);
  if (!r.equity.empty()) {
    j["equity"] = {{"start", r.equity.front().equity},
                   {"end", r.equity.back().equity},
                   {"peak", r.peak_equity},
                   {"cash", r.equity.back().cash},
                   {"points", r.equity.size()}};
  } else {
    j["equity"] = nullptr;
  }
  j["metrics"] = risk::metrics_to_json(r.metrics);
  j["fees"] = r.fees;
  j["fills"] = r.fills.size();
  j["orders"] = r.orders_by_state;
  j["positions"] = positions;
  j["round_trips"] = trips;
  j["events"] = events;
  return json_text(j, 2);
}

std::string journal_report_text(const JournalReport& r, std::size_t max_events) {
  std::string out = "journal " + r.path + "\n";
  out += "  run          " + r.run_id + ", broker " + r.broker + (r.account.empty() ? "" : " (" + r.account + ")") +
         ", " + r.interval + " decisions, created " + r.created_at + "\n";
  if (!r.model.empty())
    out += "  model        " + r.model + (r.decision_precision.empty() ? "" : " (" + r.decision_precision + ")") + "\n";
  out += "  cycles       " + std::to_string(r.cycles_done);
  if (r.cycles_done > 0) out += " (" + bar_time_text(r.first_decision) + " .. " + bar_time_text(r.last_decision) + ")";
  for (std::size_t i = 0; i < r.unfinished.size(); ++i)
    out += (i == 0 ? "; unfinished (a crash or a stop mid-cycle; the next run finishes it): " : ", ") +
           bar_time_text(r.unfinished[i]);
  out += "\n";
  if (!r.running_session.empty()) out += "  session      running now: " + r.running_session + "\n";
  if (r.equity.empty()) {
    out += "  equity       no snapshot yet\n";
  } else {
    const auto& m = r.metrics;
    out += "  equity       " + svg::num(r.equity.front().equity) + " -> " + svg::num(r.equity.back().equity) + " (" +
           percent(m.total_return) + " after costs), peak " + svg::num(r.peak_equity) + ", max drawdown " +
           percent(m.max_drawdown) + ", cash " + svg::num(r.equity.back().cash) + "\n";
    out += "  risk         sharpe " + svg::num(m.sharpe) + ", sortino " + svg::num(m.sortino) + ", volatility " +
           percent(m.volatility, 1) + ", exposure " + percent(m.exposure, 1) + " (" + std::to_string(r.equity.size()) +
           " snapshots, annualised at " + svg::num(data::bars_per_year(data::parse_timeframe(r.interval)), 0) +
           " a year)\n";
  }
  out += "  fees         " + svg::num(r.fees) + " over " + std::to_string(r.fills.size()) +
         " fills (spread, slippage, impact and latency are in the fill prices)\n";
  out += "  orders       " + std::to_string(r.orders.size());
  std::string separator = ": ";
  for (const auto& [state, n] : r.orders_by_state) {
    out += separator + state + " " + std::to_string(n);
    separator = ", ";
  }
  out += "\n";
  if (r.positions.empty()) out += "  positions    flat\n";
  for (std::size_t i = 0; i < r.positions.size(); ++i) {
    const auto& p = r.positions[i];
    const double change = p.avg_entry_price > 0 ? p.market_price / p.avg_entry_price - 1 : 0.0;
    out += std::string(i == 0 ? "  positions    " : "               ") + p.symbol + " " + svg::num(p.quantity, 4) +
           " @ " + svg::num(p.avg_entry_price) + " (last " + svg::num(p.market_price) + ", " + percent(change) + ")\n";
  }
  std::size_t won = 0;
  double pnl = 0;
  for (const auto& t : r.round_trips) {
    won += t.pnl > 0;
    pnl += t.pnl;
  }
  out += "  round trips  " + std::to_string(r.round_trips.size());
  if (!r.round_trips.empty())
    out += ": " + std::to_string(won) + " won, " + std::to_string(r.round_trips.size() - won) + " lost, P&L " +
           svg::num(pnl) + " after costs";
  out += "\n";
  out += "  events       " + std::to_string(r.events.size());
  separator = ": ";
  for (const auto& [kind, n] : events_by_kind(r)) {
    out += separator + kind + " " + std::to_string(n);
    separator = ", ";
  }
  out += "\n";
  // The end-of-day analysis repeats a suggestion every day until it changes: one line a run of them.
  struct Run {
    const JournalEvent* last;
    std::size_t times;
  };
  std::vector<Run> runs;
  for (const auto& e : r.events) {
    if (!runs.empty() && runs.back().last->kind == e.kind && runs.back().last->message == e.message) {
      runs.back() = {&e, runs.back().times + 1};
    } else {
      runs.push_back({&e, 1});
    }
  }
  const std::size_t from = runs.size() > max_events ? runs.size() - max_events : 0;
  for (std::size_t i = from; i < runs.size(); ++i) {
    const auto& e = *runs[i].last;
    out += "    " + e.at + "  " + e.kind + "  " + e.message +
           (runs[i].times > 1 ? " (" + std::to_string(runs[i].times) + " times, the last shown)" : "") + "\n";
  }
  return out;
}

std::vector<std::string> write_journal_report(const JournalReport& r, const std::filesystem::path& dir) {
  ensure_writable_directory(dir);
  std::string equity = "at,cash,equity,drawdown_pct\n";
  const auto drawdown = drawdown_percent(equity_values(r));
  for (std::size_t i = 0; i < r.equity.size(); ++i)
    equity += r.equity[i].at + "," + svg::num(r.equity[i].cash, 6) + "," + svg::num(r.equity[i].equity, 6) + "," +
              svg::num(drawdown[i], 6) + "\n";
  std::string orders =
      "client_order_id,cycle,decision_time,symbol,side,quantity,intent,state,broker_order_id,filled_quantity,"
      "filled_avg_price,fees,created_at,parent\n";
  for (const auto& o : r.orders)
    orders += o.client_order_id + "," + std::to_string(o.cycle) + "," + o.decision_time + "," + o.symbol + "," +
              broker::to_string(o.side) + "," + svg::num(o.quantity, 6) + "," + o.intent + "," + o.state + "," +
              o.broker_order_id + "," + svg::num(o.filled_quantity, 6) + "," + svg::num(o.filled_avg_price, 6) + "," +
              svg::num(o.fees, 6) + "," + o.created_at + "," + o.parent + "\n";
  std::string fills = "at,cycle,client_order_id,symbol,side,quantity,price,fees\n";
  for (const auto& f : r.fills)
    fills += f.at + "," + (f.cycle > 0 ? std::to_string(f.cycle) : "") + "," + f.client_order_id + "," + f.symbol +
             "," + broker::to_string(f.side) + "," + svg::num(f.quantity, 6) + "," + svg::num(f.price, 6) + "," +
             svg::num(f.fees, 6) + "\n";
  std::string trips = "symbol,quantity,entry_price,exit_price,pnl,return_pct,fees,cycles_held,exit_reason\n";
  for (const auto& t : r.round_trips)
    trips += t.symbol + "," + svg::num(t.quantity, 6) + "," + svg::num(t.entry_price, 6) + "," +
             svg::num(t.exit_price, 6) + "," + svg::num(t.pnl, 6) + "," + svg::num(t.return_pct, 6) + "," +
             svg::num(t.fees, 6) + "," + std::to_string(t.bars_held) + "," + t.exit_reason + "\n";
  write_file_atomic(dir / "equity.csv", equity);
  write_file_atomic(dir / "orders.csv", orders);
  write_file_atomic(dir / "fills.csv", fills);
  write_file_atomic(dir / "round_trips.csv", trips);
  write_file_atomic(dir / "journal.html", journal_html(r));
  return {"journal.html", "equity.csv", "orders.csv", "fills.csv", "round_trips.csv"};
}

}  // namespace ploutos::trading
