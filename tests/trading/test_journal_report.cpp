// The journal report reads back what a session did: a hand-written journal whose every number is
// known, then a real simulated session whose report must agree with the broker's own state. A
// report never creates a journal or changes a file that is not one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../env/market_fixture.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/trading/journal_report.hpp"
#include "ploutos/trading/session.hpp"

namespace ploutos::trading {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("ploutos_journal_report_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void order(Journal& j, const std::string& cid, std::int64_t cycle, const std::string& symbol, broker::Side side,
           double quantity, double price, double fees, const std::string& intent = "") {
  JournalOrder o;
  o.client_order_id = cid;
  o.cycle = cycle;
  o.decision_time = "2024-01-0" + std::to_string(cycle + 1) + "T00:00:00Z";
  o.symbol = symbol;
  o.side = side;
  o.quantity = quantity;
  o.intent = intent.empty() ? broker::to_string(side) : intent;
  j.record_intent(o);
  broker::Order b;
  b.id = "b-" + cid;
  b.client_order_id = cid;
  b.symbol = symbol;
  b.side = side;
  b.status = broker::OrderStatus::kFilled;
  b.quantity = quantity;
  b.filled_quantity = quantity;
  b.filled_avg_price = price;
  b.fees = fees;
  j.apply_broker_order(cid, b);
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(JournalReport, EveryNumberOfAHandWrittenJournal) {
  const auto dir = fresh_dir("hand");
  const std::string path = (dir / "j.sqlite").string();
  {
    Journal j(path, false);
    // Four daily cycles; buy 10 AAPL at 100 (fee 1), sell them at 110 (fee 1), buy 5 MSFT at 200.
    for (const char* day : {"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"}) {
      const std::string at = std::string(day) + "T00:00:00Z";
      j.begin_cycle(at);
      j.finish_cycle(at);
    }
    j.begin_cycle("2024-01-05T00:00:00Z");  // the process died in this cycle
    order(j, "a-buy", 1, "AAPL", broker::Side::kBuy, 10, 100, 1);
    order(j, "a-sell", 3, "AAPL", broker::Side::kSell, 10, 110, 1, "take_profit");
    order(j, "m-buy", 3, "MSFT", broker::Side::kBuy, 5, 200, 0.5);
    JournalOrder rejected;
    rejected.client_order_id = "m-more";
    rejected.cycle = 4;
    rejected.decision_time = "2024-01-04T00:00:00Z";
    rejected.symbol = "MSFT";
    rejected.quantity = 1000;
    rejected.intent = "buy";
    j.record_intent(rejected);
    j.set_state("m-more", "rejected", "insufficient buying power");
    j.record_equity("2024-01-01T00:00:00Z", 10000, 10000);
    j.record_equity("2024-01-02T00:00:00Z", 8999, 10099);
    j.record_equity("2024-01-03T00:00:00Z", 9098, 9898);  // a 1.99% drawdown from 10099
    j.record_equity("2024-01-03T00:00:00Z", 9098, 9898);  // a session's end and the next start
    j.record_positions("2024-01-04T00:00:00Z", {{"MSFT", 5, 200.1, 210}});
    j.record_equity("2024-01-04T00:00:00Z", 9098, 10148);
    j.record_event("suggestion", "try x");
    j.record_event("suggestion", "try x");
    j.record_event("kill_switch", "equity low");
  }
  const std::string before = bytes_of(path);
  const JournalReport r = read_journal_report(path);
  EXPECT_EQ(r.interval, "1d") << "a journal without the interval: daily when every cycle is at midnight";
  EXPECT_EQ(r.cycles_done, 4);
  EXPECT_EQ(r.first_decision, "2024-01-01T00:00:00Z");
  EXPECT_EQ(r.last_decision, "2024-01-04T00:00:00Z");
  EXPECT_EQ(r.unfinished, std::vector<std::string>{"2024-01-05T00:00:00Z"});
  ASSERT_EQ(r.equity.size(), 4u) << "the repeated snapshot time counts once";
  EXPECT_DOUBLE_EQ(r.metrics.total_return, 10148.0 / 10000.0 - 1);
  EXPECT_DOUBLE_EQ(r.metrics.max_drawdown, 1 - 9898.0 / 10099.0);
  EXPECT_DOUBLE_EQ(r.fees, 2.5);
  EXPECT_EQ(r.fills.size(), 3u);
  EXPECT_EQ(r.orders_by_state.at("filled"), 3u);
  EXPECT_EQ(r.orders_by_state.at("rejected"), 1u);
  ASSERT_EQ(r.positions.size(), 1u);
  EXPECT_EQ(r.positions[0].symbol, "MSFT");
  EXPECT_DOUBLE_EQ(r.positions[0].market_price, 210);
  ASSERT_EQ(r.round_trips.size(), 1u);
  EXPECT_NEAR(r.round_trips[0].pnl, 10 * 110 - 1 - (10 * 100 + 1), 1e-9);
  EXPECT_EQ(r.round_trips[0].exit_reason, "take_profit");
  EXPECT_EQ(r.round_trips[0].bars_held, 2u) << "cycles from entry to exit";
  EXPECT_EQ(r.metrics.trades, 1u);
  EXPECT_EQ(r.events.size(), 3u);

  const auto text = journal_report_text(r);
  EXPECT_NE(text.find("10000.00 -> 10148.00 (1.48% after costs)"), std::string::npos) << text;
  EXPECT_NE(text.find("(2024-01-01 .. 2024-01-04); unfinished (a crash"), std::string::npos) << text;
  EXPECT_NE(text.find("MSFT 5.0000 @ 200.10 (last 210.00, 4.95%)"), std::string::npos) << text;
  EXPECT_NE(text.find("filled 3, rejected 1"), std::string::npos) << text;
  EXPECT_NE(text.find("try x (2 times"), std::string::npos) << "repeated events are one line\n" << text;
  const auto json = nlohmann::json::parse(journal_report_json(r));
  EXPECT_DOUBLE_EQ(json["equity"]["end"].get<double>(), 10148);
  EXPECT_DOUBLE_EQ(json["equity"]["peak"].get<double>(), 10148);
  EXPECT_EQ(json["orders"]["rejected"], 1);
  EXPECT_EQ(json["round_trips"][0]["exit_reason"], "take_profit");

  const auto written = write_journal_report(r, dir / "report");
  for (const auto& name : written) EXPECT_TRUE(fs::exists(dir / "report" / name)) << name;
  // One self-contained page: charts inline, nothing it could load.
  const std::string html = bytes_of(dir / "report" / "journal.html");
  EXPECT_EQ(std::count(html.begin(), html.end(), '\0'), 0);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  for (const char* needle : {"<script", "<link", "src=", "href=", "url(", "@import", "<iframe", "<img"})
    EXPECT_EQ(html.find(needle), std::string::npos) << needle;
  EXPECT_NE(html.find("<td>take_profit</td>"), std::string::npos) << "the round trip's exit";
  std::ifstream equity_csv(dir / "report" / "equity.csv");
  std::string header, first, second, third;
  std::getline(equity_csv, header);
  std::getline(equity_csv, first);
  std::getline(equity_csv, second);
  std::getline(equity_csv, third);
  EXPECT_EQ(header, "at,cash,equity,drawdown_pct");
  EXPECT_EQ(first, "2024-01-01T00:00:00Z,10000.000000,10000.000000,0.000000");
  EXPECT_EQ(third.substr(third.rfind(',') + 1), "-1.990296") << third;
  EXPECT_EQ(bytes_of(path), before) << "reading the report changed the journal";
  fs::remove_all(dir);
}

// A bracket leg is journaled with its entry's cycle, when the entry fills; the broker fills it
// cycles later. The round trip lasts until then, and the fills say when they were seen.
TEST(JournalReport, ABracketLegIsHeldUntilTheCycleItFilledIn) {
  const auto dir = fresh_dir("legs");
  const std::string path = (dir / "j.sqlite").string();
  {
    Journal j(path, false);
    for (int day = 1; day <= 5; ++day) {
      const std::string at = "2024-01-0" + std::to_string(day) + "T00:00:00Z";
      if (day == 5) {  // the reconciliation before cycle 5 sees the leg filled, in bar 4 -> 5
        broker::Order hit;
        hit.id = "b-sl";
        hit.client_order_id = "entry-sl";
        hit.side = broker::Side::kSell;
        hit.status = broker::OrderStatus::kFilled;
        hit.quantity = hit.filled_quantity = 10;
        hit.filled_avg_price = 95;
        j.apply_broker_order("entry-sl", hit);
      }
      j.begin_cycle(at);  // cycle `day`
      if (day == 1) {
        order(j, "entry", 1, "AAPL", broker::Side::kBuy, 10, 100, 1);
        JournalOrder leg;
        leg.client_order_id = "entry-sl";
        leg.cycle = 1;
        leg.decision_time = at;
        leg.symbol = "AAPL";
        leg.side = broker::Side::kSell;
        leg.quantity = 10;
        leg.intent = "stop_loss";
        leg.parent = "entry";
        j.record_intent(leg);
      }
      j.finish_cycle(at);
    }
  }
  const auto r = read_journal_report(path);
  ASSERT_EQ(r.round_trips.size(), 1u);
  EXPECT_EQ(r.round_trips[0].exit_reason, "stop_loss");
  EXPECT_EQ(r.round_trips[0].bars_held, 3u) << "from the entry's cycle 1 to cycle 4, the one the leg filled after";
  write_journal_report(r, dir / "report");
  std::ifstream fills_csv(dir / "report" / "fills.csv");
  std::string header, entry, leg;
  std::getline(fills_csv, header);
  std::getline(fills_csv, entry);
  std::getline(fills_csv, leg);
  EXPECT_EQ(header, "at,cycle,client_order_id,symbol,side,quantity,price,fees");
  EXPECT_NE(entry.find(",1,entry,AAPL,buy,"), std::string::npos) << entry;
  EXPECT_NE(leg.find(",4,entry-sl,AAPL,sell,"), std::string::npos) << leg;
  fs::remove_all(dir);
}

TEST(JournalReport, RefusesWhatIsNotAJournalAndCreatesNothing) {
  const auto dir = fresh_dir("refuse");
  const auto missing = dir / "none.sqlite";
  try {
    read_journal_report(missing.string());
    FAIL() << "a missing journal";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no journal there"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(missing)) << "the report created a journal";
  for (const std::string& content : {std::string(), std::string("date,open\n2024-01-02,1\n")}) {
    const auto other = dir / "other.sqlite";
    std::ofstream(other, std::ios::binary) << content;
    EXPECT_THROW(read_journal_report(other.string()), InputError) << "content '" << content << "'";
    EXPECT_EQ(bytes_of(other), content) << "the report changed a file that is not a journal";
  }
  fs::remove_all(dir);
}

// A report beside a running session says that one is running (which explains its unfinished
// cycle), and by looking never keeps a session from starting.
TEST(JournalReport, SaysWhenASessionIsRunningOnTheJournal) {
  const auto dir = fresh_dir("running");
  const auto path = (dir / "j.sqlite").string();
  Journal(path, false).set_meta("broker", "sim");
  {
    const auto session = lock_session(path);
    const auto r = read_journal_report(path);
    EXPECT_EQ(r.running_session.rfind("pid " + std::to_string(::getpid()) + " since ", 0), 0u) << r.running_session;
    EXPECT_NE(journal_report_text(r).find("\n  session      running now: pid "), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(journal_report_json(r))["running_session"], r.running_session);
  }
  const auto r = read_journal_report(path);
  EXPECT_EQ(r.running_session, "");
  EXPECT_EQ(journal_report_text(r).find("running now"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(journal_report_json(r))["running_session"].is_null());
  EXPECT_NO_THROW(lock_session(path)) << "the report took no lock";
  fs::remove_all(dir);
}

// A journal whose pages were damaged after it was written stops a report and a session at the
// door, with one line naming it, instead of showing or trading on part of its history.
TEST(JournalReport, ADamagedJournalIsRefusedByTheReportAndBySessions) {
  const auto dir = fresh_dir("damaged");
  const auto path = (dir / "journal.sqlite").string();
  {
    Journal j(path, false);
    j.set_meta("broker", "sim");
    for (int i = 0; i < 400; ++i) j.record_event("note", "event " + std::to_string(i) + std::string(100, 'x'));
  }
  std::string bytes = bytes_of(path);
  ASSERT_GT(bytes.size(), 8u * 4096) << "the journal should span pages";
  EXPECT_NO_THROW(read_journal_report(path));
  for (std::size_t i = 5 * 4096; i < 5 * 4096 + 200; ++i) bytes[i] = static_cast<char>(0xA5);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  for (const auto& open :
       std::vector<std::function<void()>>{[&] { read_journal_report(path); }, [&] { Journal session(path, true); }}) {
    try {
      open();
      ADD_FAILURE() << "a damaged journal was opened";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path + ": damaged order journal (", 0), 0u) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
  fs::remove_all(dir);
}

// A whole simulated session: the report's last equity and positions are the simulated broker's,
// and its round trips add up, with the unrealised P&L, to the change in equity.
TEST(JournalReport, ASimulatedSessionReadsBackAsTheBrokerLeftIt) {
  auto m = test::flat_market(2, 40, 100.0);
  for (std::size_t t = 0; t < 40; ++t) {
    const double p = 100 + 10 * std::sin(0.4 * static_cast<double>(t));
    test::set_bar(m, t, 0, p, p * 1.01, p * 0.99, p);
    test::set_bar(m, t, 1, 200 - p, (200 - p) * 1.01, (200 - p) * 0.99, 200 - p);
  }
  const auto dir = fresh_dir("session");
  SessionRequest request;
  request.journal_path = (dir / "j.sqlite").string();
  request.durable = false;
  request.start_bars = 35;
  request.interval = "1d";
  TraderConfig config;
  config.min_holding_period = 1;
  auto alternate = [](const env::MarketData&, std::size_t bar, std::span<const double>, const env::PortfolioState&,
                      std::span<std::int32_t> a) {
    a[0] = bar % 6 == 0 ? env::kBuy : bar % 6 == 3 ? env::kSell : env::kHold;
    a[1] = bar % 8 == 1 ? env::kBuy : bar % 8 == 5 ? env::kSell : env::kHold;
  };
  const auto result = run_sim_session(m, alternate, config, costs::CostParams{}, request);
  // The bars decided on, for the in-sample check of `trade --broker sim`: the last 35 but the last one.
  EXPECT_EQ(result.first_bar_decided, m.last_bar - 35);
  EXPECT_EQ(result.last_bar_decided, m.last_bar - 1);
  EXPECT_EQ(result.cycles.size(), 35u);
  const auto r = read_journal_report(request.journal_path);
  EXPECT_EQ(r.interval, "1d");
  EXPECT_EQ(r.broker, "sim");
  EXPECT_EQ(r.account, "paper");
  EXPECT_NE(journal_report_text(r).find(", broker sim (paper), 1d decisions"), std::string::npos);
  EXPECT_EQ(r.cycles_done, static_cast<std::int64_t>(result.cycles.size()));
  ASSERT_FALSE(r.round_trips.empty());
  ASSERT_FALSE(r.equity.empty());
  double realised = 0, unrealised = 0;
  for (const auto& t : r.round_trips) realised += t.pnl;
  for (const auto& p : r.positions) unrealised += (p.market_price - p.avg_entry_price) * p.quantity;
  // The average entry price of an open position carries its buy fees, as the round trips' basis does.
  EXPECT_NEAR(r.equity.back().equity - r.equity.front().equity, realised + unrealised, 1e-6 * r.equity.front().equity);
  EXPECT_GT(r.fees, 0) << "costs are paid";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ploutos::trading
