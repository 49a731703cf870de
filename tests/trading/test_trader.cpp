// The trading loop against the simulated broker: a consistent journal over a multi-day session,
// deterministic client order ids, reconciliation, lost responses, the kill switch, monitored stops,
// and the crash/restart property: at 200 random crash points, no order is sent twice, no fill is
// lost, and the end state equals an uninterrupted run.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "../env/market_fixture.hpp"
#include "ploutos/broker/sim_broker.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/trading/session.hpp"
#include "ploutos/trading/trader.hpp"

namespace ploutos::trading {
namespace {

namespace fs = std::filesystem;

// A random walk over 4 tickers; bar t's prices depend on the seed only.
env::MarketData walk_market(std::size_t n_bars = 40, std::uint64_t seed = 7) {
  auto m = test::flat_market(4, n_bars, 100.0);
  Rng rng(seed);
  for (std::size_t k = 0; k < 4; ++k) {
    double price = 100;
    for (std::size_t t = 0; t < n_bars; ++t) {
      const double open = price * (1 + 0.005 * rng.normal());
      const double close = open * (1 + 0.015 * rng.normal());
      test::set_bar(m, t, k, open, std::max(open, close) * 1.005, std::min(open, close) * 0.995, close);
      price = close;
    }
  }
  return m;
}

// Decisions from the bar and ticker only (a scripted agent): any two runs decide the same.
void scripted(const env::MarketData&, std::size_t bar, std::span<const double>, const env::PortfolioState&,
              std::span<std::int32_t> actions) {
  for (std::size_t k = 0; k < actions.size(); ++k) {
    Rng rng(derive_seed(99, "decision", bar * 16 + k));
    const double u = rng.uniform();
    actions[k] = u < 0.35 ? env::kBuy : u < 0.6 ? env::kSell : env::kHold;
  }
}

// One ticker bought on even bars and sold on odd ones: on flat prices, a losing round trip a day.
void buy_even_bars_sell_odd(const env::MarketData&, std::size_t bar, std::span<const double>,
                            const env::PortfolioState&, std::span<std::int32_t> actions) {
  actions[0] = bar % 2 == 0 ? env::kBuy : env::kSell;
}

TraderConfig test_config() {
  TraderConfig c;
  c.min_holding_period = 1;
  return c;
}

// Forwards to a SimBroker, counting what it accepted per client order id; can lose the response
// of chosen submissions after the broker accepted them.
class CountingBroker : public broker::Broker {
 public:
  explicit CountingBroker(broker::SimBroker& sim) : sim_(sim) {}
  std::string name() const override { return "counting-sim"; }
  broker::Account account() override { return sim_.account(); }
  std::vector<broker::Position> positions() override { return sim_.positions(); }
  broker::Order submit(const broker::OrderRequest& r) override {
    if (r.symbol == reject_symbol)
      throw broker::BrokerError(broker::BrokerError::Kind::kRejected, "refused (injected)");
    auto o = sim_.submit(r);
    ++accepted[r.client_order_id];
    if (lose_every > 0 && ++submissions % lose_every == 0)
      throw broker::BrokerError(broker::BrokerError::Kind::kTransient, "response lost (injected)");
    return o;
  }
  std::optional<broker::Order> order_by_client_id(const std::string& cid) override {
    return sim_.order_by_client_id(cid);
  }
  std::vector<broker::Order> open_orders() override { return sim_.open_orders(); }
  void cancel(const std::string& id) override { sim_.cancel(id); }
  broker::MarketClock clock() override { return fixed_clock ? *fixed_clock : sim_.clock(); }
  double latest_price(const std::string& s) override { return sim_.latest_price(s); }
  bool supports_brackets() const override { return brackets; }
  std::vector<broker::Order> legs_of(const broker::Order& parent) override { return sim_.legs_of(parent); }

  std::map<std::string, int> accepted;
  bool brackets = true;       // false: a broker that takes no stop-loss/take-profit legs (eToro here)
  std::string reject_symbol;  // every order for it is rejected
  int lose_every = 0;
  int submissions = 0;
  std::optional<broker::MarketClock> fixed_clock;  // a real broker's clock at a chosen moment

 private:
  broker::SimBroker& sim_;
};

// The one-line error with which a real-broker session refuses the market `load` gives it.
std::string refused(CountingBroker& broker, const std::function<std::shared_ptr<const env::MarketData>()>& load,
                    const SessionRequest& request) {
  try {
    run_broker_session(broker, load, scripted, test_config(), request);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(not refused: the session decided)";
}

struct InjectedCrash {};

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ploutos_trader_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Runs cycles from the sim's bar to `last`, the market moving after each; crashes when the crash
// hook has been called `crash_at` times (0: never). Returns the hook calls made.
int run_until(const env::MarketData& m, broker::SimBroker& sim, CountingBroker& broker, const std::string& journal_path,
              std::size_t last, int crash_at, std::vector<CycleReport>* reports = nullptr,
              const TraderConfig& config = test_config()) {
  Journal journal(journal_path, false);
  Trader trader(broker, journal, config, scripted);
  int calls = 0;
  trader.set_crash_hook([&](const char*) {
    if (++calls == crash_at) throw InjectedCrash{};
  });
  trader.reconcile();
  while (sim.bar() < last) {
    if (!journal.cycle_done(format_instant(m.time[sim.bar()]))) {
      auto report = trader.run_cycle(m, sim.bar());
      if (reports) reports->push_back(std::move(report));
    }
    sim.advance();
    trader.reconcile();
  }
  return calls;
}

TEST(ClientOrderId, DeterministicAndDistinctPerDecision) {
  const Instant t = parse_instant("2024-11-29T21:00:00Z");
  EXPECT_EQ(client_order_id("abc", t, "AAPL", "buy"), client_order_id("abc", t, "AAPL", "buy"));
  EXPECT_EQ(client_order_id("abc", t, "AAPL", "buy"), "pl-abc-20241129T2100-AAPL-buy");
  EXPECT_NE(client_order_id("abc", t, "AAPL", "buy"), client_order_id("abc", t, "AAPL", "sell"));
  EXPECT_NE(client_order_id("abc", t, "AAPL", "buy"), client_order_id("abd", t, "AAPL", "buy"));
  EXPECT_LE(client_order_id("abcdefgh", t, "BRK.B", "take_profit").size(), 128u) << "Alpaca's limit";
}

TEST(Trader, TheDecisionIntervalIsTheModelsBarInterval) {
  config::Config c;
  c.data.interval = "1h";
  EXPECT_EQ(trading::decision_interval(c), "1h") << "auto, the default";
  EXPECT_DOUBLE_EQ(trading::trader_config_from(c).bars_per_year, 252.0 * 7);
  c.trading.interval = "1h";
  EXPECT_EQ(trading::decision_interval(c), "1h");
  // An hourly policy deciding once a day (the old default, 1d) sees a step of seven bars it was
  // never trained on.
  c.trading.interval = "1d";
  try {
    trading::decision_interval(c);
    ADD_FAILURE() << "1d accepted for an hourly model";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("the model decides on 1h bars"), std::string::npos) << e.what();
  }
  c.data.interval = "4h";
  EXPECT_DOUBLE_EQ(trading::trader_config_from(c).bars_per_year, 252.0 * 2);
}

TEST(Trader, MultiDaySessionLeavesAConsistentJournal) {
  const auto m = walk_market();
  const auto dir = fresh_dir("session");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 5);
  CountingBroker broker(sim);
  run_until(m, sim, broker, (dir / "j.sqlite").string(), 35, 0);
  Journal journal((dir / "j.sqlite").string(), false);
  EXPECT_EQ(journal.cycles_done(), 30);
  // Positions implied by the journal's fills are the broker's.
  std::map<std::string, double> broker_positions;
  for (const auto& p : sim.positions()) broker_positions[p.symbol] = p.quantity;
  const auto mine = journal.positions();
  ASSERT_EQ(mine.size(), broker_positions.size());
  for (const auto& [s, q] : broker_positions) EXPECT_NEAR(mine.at(s), q, 1e-9) << s;
  // Every order the broker accepted is in the journal with its fills, exactly once.
  std::size_t orders_with_fills = 0;
  for (const auto& o : sim.all_orders()) {
    const auto j = journal.order(o.client_order_id);
    ASSERT_TRUE(j) << o.client_order_id;
    EXPECT_EQ(j->broker_order_id, o.id);
    EXPECT_NEAR(j->filled_quantity, o.filled_quantity, 1e-9);
    orders_with_fills += o.filled_quantity > 0;
  }
  EXPECT_GT(orders_with_fills, 10u) << "the session traded";
  for (const auto& [cid, n] : broker.accepted) EXPECT_EQ(n, 1) << cid;
  // Re-running a finished cycle does nothing.
  Trader again(broker, journal, test_config(), scripted);
  const auto report = again.run_cycle(m, 10);
  EXPECT_TRUE(report.skipped);
  fs::remove_all(dir);
}

TEST(Trader, AnUnexplainedPositionStopsTradingWithAReport) {
  const auto m = walk_market();
  const auto dir = fresh_dir("mismatch");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 5);
  CountingBroker broker(sim);
  run_until(m, sim, broker, (dir / "j.sqlite").string(), 10, 0);
  sim.set_position("T3", 42, 100);  // someone traded in the account behind our back
  Journal journal((dir / "j.sqlite").string(), false);
  Trader trader(broker, journal, test_config(), scripted);
  try {
    trader.run_cycle(m, sim.bar());
    FAIL() << "a position nobody journaled must stop trading";
  } catch (const ReconciliationError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(" T3: journal "), std::string::npos) << what;
    EXPECT_NE(what.find(", broker 42; trading stopped. Check the broker's activity"), std::string::npos) << what;
  }
  EXPECT_EQ(journal.events("reconciliation").size(), 1u);
  EXPECT_FALSE(journal.cycle_done(format_instant(m.time[sim.bar()])));
  // A new journal on an account that already holds positions: they are someone else's.
  Journal fresh((dir / "fresh.sqlite").string(), false);
  Trader newcomer(broker, fresh, test_config(), scripted);
  try {
    newcomer.run_cycle(m, sim.bar());
    FAIL() << "positions this journal never traded must stop trading";
  } catch (const ReconciliationError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(" T3: 42 at the broker, never traded by this journal;"), std::string::npos) << what;
    EXPECT_NE(what.find("Ploutos must be the only one trading the account: close the positions it did not open"),
              std::string::npos)
        << what;
  }
  fs::remove_all(dir);
}

TEST(Trader, ALostResponseIsRecoveredNotResent) {
  const auto m = walk_market();
  const auto dir = fresh_dir("lost");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 5);
  CountingBroker broker(sim);
  broker.lose_every = 2;  // every second response never arrives
  std::vector<CycleReport> reports;
  run_until(m, sim, broker, (dir / "j.sqlite").string(), 30, 0, &reports);
  EXPECT_GT(broker.submissions, 6);
  for (const auto& [cid, n] : broker.accepted) EXPECT_EQ(n, 1) << cid << " sent twice";
  // The cycles' reports name every order once, a recovered one with the status the broker had.
  std::map<std::string, int> reported;
  std::size_t recovered = 0;
  for (const auto& r : reports) {
    recovered += r.orders_recovered;
    EXPECT_EQ(r.orders.size(), r.orders_sent);
    for (const auto& o : r.orders) {
      ++reported[o.client_order_id];
      EXPECT_NE(o.outcome, "no_answer") << o.client_order_id << ": the sim broker has every order";
    }
  }
  EXPECT_EQ(reported, broker.accepted);
  EXPECT_EQ(recovered, static_cast<std::size_t>(broker.submissions / 2));
  Journal journal((dir / "j.sqlite").string(), false);
  for (const auto& o : sim.all_orders())
    EXPECT_NEAR(journal.order(o.client_order_id)->filled_quantity, o.filled_quantity, 1e-9);
  fs::remove_all(dir);
}

TEST(Trader, KillSwitchStopsNewEntriesAfterTheDrawdownLimit) {
  auto m = test::flat_market(2, 12, 100.0);
  for (std::size_t t = 4; t < 12; ++t) {  // both tickers fall 30%
    for (std::size_t k = 0; k < 2; ++k) test::set_bar(m, t, k, 70, 70, 70, 70);
  }
  const auto dir = fresh_dir("kill");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 0);
  Journal journal((dir / "j.sqlite").string(), false);
  TraderConfig c = test_config();
  c.buy_pct = 1.0;
  c.max_position_pct = 0.5;
  c.kill_max_drawdown = 0.10;
  auto always_buy = [](const env::MarketData&, std::size_t, std::span<const double>, const env::PortfolioState&,
                       std::span<std::int32_t> a) { std::fill(a.begin(), a.end(), env::kBuy); };
  Trader trader(sim, journal, c, always_buy);
  bool tripped = false;
  while (sim.bar() < 10) {
    const auto r = trader.run_cycle(m, sim.bar());
    if (tripped) {
      EXPECT_EQ(r.orders_sent, 0u) << "no entries once the kill switch tripped";
    }
    tripped = tripped || r.kill_switch;
    sim.advance();
    trader.reconcile();
  }
  EXPECT_TRUE(tripped);
  EXPECT_FALSE(journal.events("kill_switch").empty());
  fs::remove_all(dir);
}

TEST(Trader, KellySizingStopsEntriesOnceTwentyLosingTradesShowNoEdge) {
  auto m = test::flat_market(1, 80, 100.0);  // flat prices: every round trip loses its costs
  const auto dir = fresh_dir("kelly");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 0);
  Journal journal((dir / "j.sqlite").string(), false);
  TraderConfig c = test_config();
  c.min_holding_period = 0;
  c.sizing = env::EnvConfig::Sizing::kKelly;
  Trader trader(sim, journal, c, buy_even_bars_sell_odd);
  while (sim.bar() < 78) {
    trader.run_cycle(m, sim.bar());
    sim.advance();
    trader.reconcile();
  }
  std::size_t buys = 0;
  for (const auto& o : journal.orders()) buys += o.intent == "buy";
  EXPECT_EQ(buys, 20u) << "fixed-fraction entries until 20 closed trades, then Kelly's zero";
  fs::remove_all(dir);
}

// Losing round trips every other day: the analysis keeps proposing a change of the same keys with
// growing evidence; the journal and the log get each once, the caller gets today's evidence.
TEST(Trader, AProposalThatHoldsEveryDayIsJournaledOnce) {
  auto m = test::flat_market(1, 40, 100.0);  // flat prices: every round trip loses its costs
  const auto dir = fresh_dir("suggest");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 0);
  Journal journal((dir / "j.sqlite").string(), false);
  TraderConfig c = test_config();
  c.min_holding_period = 0;
  Trader trader(sim, journal, c, buy_even_bars_sell_odd);
  std::vector<std::string> last;
  int analyses_with_suggestions = 0;
  while (sim.bar() < 38) {
    trader.run_cycle(m, sim.bar());
    sim.advance();
    trader.reconcile();
    last = trader.end_of_day_analysis();
    analyses_with_suggestions += !last.empty();
  }
  ASSERT_GT(analyses_with_suggestions, 5) << "the losers should keep the analysis proposing";
  std::map<std::string, int> journaled;
  for (const auto& e : journal.events()) {
    if (e.kind == "suggestion") ++journaled[e.message.substr(0, e.message.find(" = "))];  // "try KEY"
  }
  ASSERT_FALSE(journaled.empty());
  for (const auto& [key, n] : journaled) EXPECT_EQ(n, 1) << key;
  ASSERT_FALSE(last.empty());
  for (const auto& line : last) {
    EXPECT_TRUE(journaled.count(line.substr(0, line.find(" = ")))) << line;
  }
  fs::remove_all(dir);
}

// A ticker that cannot trade at the decision bar (no bar there, or no features yet) trades nothing
// that cycle, as in the environment: neither the agent's sell nor a stop judged on that bar.
TEST(Trader, ATickerThatCannotTradeAtTheDecisionBarTradesNothingThatCycle) {
  auto m = test::flat_market(1, 8, 100.0);
  test::set_bar(m, 3, 0, 100, 100, 93, 95);  // low 93 would break a 5% stop
  m.tradable[m.at(3, 0)] = 0;
  const auto dir = fresh_dir("untradable");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 0);
  Journal journal((dir / "j.sqlite").string(), false);
  TraderConfig c = test_config();
  c.stop_loss_pct = 0.05;
  auto buy_then_sell_at_3 = [](const env::MarketData&, std::size_t bar, std::span<const double>,
                               const env::PortfolioState&, std::span<std::int32_t> a) {
    a[0] = bar == 0 ? env::kBuy : bar == 3 ? env::kSell : env::kHold;
  };
  Trader trader(sim, journal, c, buy_then_sell_at_3);
  while (sim.bar() < 6) {
    trader.run_cycle(m, sim.bar());
    sim.advance();
    trader.reconcile();
  }
  ASSERT_EQ(journal.orders().size(), 1u) << "the buy at bar 0 only";
  EXPECT_EQ(journal.orders()[0].intent, "buy");
  EXPECT_EQ(sim.positions().size(), 1u) << "still held";
  fs::remove_all(dir);
}

// Also in bracket mode on a broker that takes no legs (eToro): the stops are then the trader's to
// watch, not dropped.
TEST(Trader, MonitoredStopLossSellsWhenTheBarBreaksTheLevel) {
  // Without bracket mode; in bracket mode on a broker without brackets; and in bracket mode on one
  // with them whose legs were canceled behind the trader's back (expired GTC legs or a sell that
  // failed after releasing them do the same): a position is never left without its stop.
  for (const std::string mode : {"monitored", "broker without brackets", "legs lost"}) {
    auto m = test::flat_market(1, 8, 100.0);
    test::set_bar(m, 3, 0, 100, 100, 93, 95);  // low 93 breaks a 5% stop
    const auto dir = fresh_dir("stop");
    broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 0);
    CountingBroker broker(sim);
    broker.brackets = mode == "legs lost";
    Journal journal((dir / "j.sqlite").string(), false);
    TraderConfig c = test_config();
    c.stop_loss_pct = 0.05;
    c.bracket_orders = mode != "monitored";
    c.min_holding_period = 100;  // the agent could not sell: only the stop does
    auto buy_first = [](const env::MarketData&, std::size_t bar, std::span<const double>, const env::PortfolioState&,
                        std::span<std::int32_t> a) { a[0] = bar == 0 ? env::kBuy : env::kHold; };
    Trader trader(broker, journal, c, buy_first);
    while (sim.bar() < 6) {
      trader.run_cycle(m, sim.bar());
      sim.advance();
      if (mode == "legs lost" && sim.bar() == 2) {
        ASSERT_EQ(sim.open_orders().size(), 1u) << "the entry's stop-loss leg";
        sim.cancel(sim.open_orders().front().id);
      }
      trader.reconcile();
    }
    bool stopped = false;  // by the trader: an order of its own, not a leg
    for (const auto& o : journal.orders())
      stopped = stopped || (o.intent == "stop_loss" && o.parent.empty() && o.state == "filled");
    EXPECT_TRUE(stopped) << mode;
    EXPECT_TRUE(sim.positions().empty()) << mode;
    fs::remove_all(dir);
  }
}

// Two bracketed entries of one symbol, the first one's stop-loss leg canceled behind the trader's
// back: the second's leg guards its own shares only, and the trader's stop sells the first's.
TEST(Trader, SharesWhoseLegIsGoneGetTheTradersStopWhileAnotherEntrysLegStands) {
  auto m = test::flat_market(1, 8, 100.0);
  test::set_bar(m, 1, 0, 100, 100, 96, 96);  // entry 1 fills at 100 (leg at 95); entry 2 decided at 96
  test::set_bar(m, 2, 0, 96, 96, 95.5, 96);  // entry 2 fills at 96 (leg at 91.2); leg 1 untouched
  test::set_bar(m, 3, 0, 96, 96, 92, 92);    // breaks the trader's stop (~99 avg entry: 94.1), not leg 2
  for (std::size_t b = 4; b < 8; ++b) test::set_bar(m, b, 0, 92, 92, 92, 92);
  const auto dir = fresh_dir("partly_guarded");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 0);
  CountingBroker broker(sim);
  Journal journal((dir / "j.sqlite").string(), false);
  TraderConfig c = test_config();
  c.stop_loss_pct = 0.05;
  c.bracket_orders = true;
  c.min_holding_period = 1;  // a buy a cycle; the agent never sells: only the stops do
  auto buy_twice = [](const env::MarketData&, std::size_t bar, std::span<const double>, const env::PortfolioState&,
                      std::span<std::int32_t> a) { a[0] = bar <= 1 ? env::kBuy : env::kHold; };
  Trader trader(broker, journal, c, buy_twice);
  double first_entry = 0, second_entry = 0;
  while (sim.bar() < 6) {
    trader.run_cycle(m, sim.bar());
    sim.advance();
    trader.reconcile();  // journals the legs of the entries that filled
    if (sim.bar() == 2) {
      const auto legs = sim.open_orders();
      ASSERT_EQ(legs.size(), 2u) << "one stop-loss leg per entry";
      const std::string first_buy = journal.orders().front().client_order_id;  // decided at 100
      for (const auto& l : legs) {
        const auto mine = journal.order(l.client_order_id.empty() ? l.id : l.client_order_id);
        ASSERT_TRUE(mine) << "journaled as a leg";
        if (mine->parent == first_buy) {
          first_entry = l.quantity;
          sim.cancel(l.id);
        } else {
          second_entry = l.quantity;
        }
      }
      ASSERT_GT(first_entry * second_entry, 0);
    }
  }
  double stopped = 0;  // by the trader: orders of its own, not legs
  for (const auto& o : journal.orders()) {
    if (o.intent == "stop_loss" && o.parent.empty() && o.state == "filled") stopped += o.filled_quantity;
  }
  EXPECT_NEAR(stopped, first_entry, 1e-6) << "the unguarded shares, and only those";
  ASSERT_EQ(sim.positions().size(), 1u);
  EXPECT_NEAR(sim.positions().front().quantity, second_entry, 1e-6) << "still guarded by its leg";
  EXPECT_EQ(sim.open_orders().size(), 1u);
  fs::remove_all(dir);
}

// A cycle repeated after a crash counts the orders it already sent once against the daily cap, and
// a rejected order not at all: at every crash point of a cycle whose cap binds, the repeated cycle
// leaves the broker with the orders of an uninterrupted one.
TEST(Trader, ARepeatedCycleCountsItsOrdersOnceAgainstTheDailyCap) {
  const auto m = walk_market(6);
  const auto bars = std::make_shared<broker::SimBars>(sim_bars_from(m));
  TraderConfig config = test_config();
  config.max_trades_per_day = 2;  // four tickers want to buy; the broker rejects the first
  auto buy_all = [](const env::MarketData&, std::size_t, std::span<const double>, const env::PortfolioState&,
                    std::span<std::int32_t> a) { std::fill(a.begin(), a.end(), env::kBuy); };
  const auto dir = fresh_dir("daily_cap");
  broker::SimBroker reference(bars, {}, 2);
  CountingBroker reference_broker(reference);
  reference_broker.reject_symbol = "T0";
  int points = 0;
  {
    Journal journal((dir / "ref.sqlite").string(), false);
    Trader trader(reference_broker, journal, config, buy_all);
    trader.set_crash_hook([&](const char*) { ++points; });
    trader.run_cycle(m, 2);
  }
  auto sent = [](broker::SimBroker& broker) {
    std::map<std::string, double> quantities;  // by client order id without the journal's run id
    for (const auto& o : broker.all_orders())
      quantities[o.client_order_id.substr(o.client_order_id.find('-', 3))] = o.quantity;
    return quantities;
  };
  ASSERT_EQ(sent(reference).size(), 2u) << "T1 and T2: the rejected T0 does not count";
  for (int crash_at = 1; crash_at <= points; ++crash_at) {
    const std::string path = (dir / ("t" + std::to_string(crash_at) + ".sqlite")).string();
    broker::SimBroker sim(bars, {}, 2);
    CountingBroker broker(sim);
    broker.reject_symbol = "T0";
    {
      Journal journal(path, false);
      Trader trader(broker, journal, config, buy_all);
      int calls = 0;
      trader.set_crash_hook([&](const char*) {
        if (++calls == crash_at) throw InjectedCrash{};
      });
      EXPECT_THROW(trader.run_cycle(m, 2), InjectedCrash);
    }
    Journal journal(path, false);
    Trader trader(broker, journal, config, buy_all);
    trader.run_cycle(m, 2);
    EXPECT_EQ(sent(sim), sent(reference)) << "crash at point " << crash_at;
  }
  fs::remove_all(dir);
}

// Sessions crashed at random hook points (again soon after each restart), then finished, against
// one never crashed: every order sent once, every broker order (bracket legs included) in the
// journal with its fills, the same positions, orders and cash.
void expect_crashes_change_nothing(const TraderConfig& config, int trials, const std::string& name) {
  const auto m = walk_market(40);
  const std::size_t start = 5, last = 25;
  const auto dir = fresh_dir(name);
  const auto bars = std::make_shared<broker::SimBars>(sim_bars_from(m));
  broker::SimOptions options;
  options.refuse_duplicate_ids = false;  // a resend would go through: the journal alone must prevent it

  // Reference: no crash.
  broker::SimBroker reference(bars, options, start);
  CountingBroker reference_broker(reference);
  const int points = run_until(m, reference, reference_broker, (dir / "ref.sqlite").string(), last, 0, nullptr, config);
  ASSERT_GT(points, 100);

  Rng rng(derive_seed(2024, "crash-points"));
  int crashes = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const std::string path = (dir / std::string(1, 't').append(std::to_string(trial)).append(".sqlite")).string();
    broker::SimBroker sim(bars, options, start);  // the broker outlives the trader's crashes
    CountingBroker broker(sim);
    int crash_at = 1 + static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(points)));
    for (int restart = 0; restart < 4; ++restart) {
      try {
        run_until(m, sim, broker, path, last, crash_at, nullptr, config);
        break;
      } catch (const InjectedCrash&) {
        ++crashes;
        crash_at = 1 + static_cast<int>(rng.uniform_int(40));  // crash again soon after the restart
      }
    }
    run_until(m, sim, broker, path, last, 0, nullptr, config);  // finish the session
    for (const auto& [cid, n] : broker.accepted)
      ASSERT_EQ(n, 1) << "trial " << trial << ": " << cid << " sent " << n << "x";
    Journal journal(path, false);
    for (const auto& o : sim.all_orders()) {
      const auto j = journal.order(o.client_order_id);
      ASSERT_TRUE(j) << "trial " << trial << ": broker order " << o.client_order_id << " missing from the journal";
      ASSERT_NEAR(j->filled_quantity, o.filled_quantity, 1e-9) << "trial " << trial << ": fill lost";
    }
    // A leg's fill comes after its entry's (round trips read the fills in order).
    std::set<std::string> filled;
    for (const auto& fill : journal.fills()) {
      const auto order = journal.order(fill.client_order_id);
      ASSERT_TRUE(order->parent.empty() || filled.count(order->parent))
          << "trial " << trial << ": " << fill.client_order_id << " before its entry";
      filled.insert(fill.client_order_id);
    }
    std::map<std::string, double> held;
    for (const auto& p : sim.positions()) held[p.symbol] = p.quantity;
    const auto mine = journal.positions();
    for (const auto& [s, q] : held) ASSERT_NEAR(mine.count(s) ? mine.at(s) : 0.0, q, 1e-9) << "trial " << trial;
    for (const auto& [s, q] : mine) ASSERT_NEAR(held.count(s) ? held.at(s) : 0.0, q, 1e-9) << "trial " << trial;
    // Same decisions, same fills: the crashes changed nothing the broker saw.
    ASSERT_EQ(sim.accepted_orders(), reference.accepted_orders()) << "trial " << trial;
    ASSERT_NEAR(sim.account().cash, reference.account().cash, 1e-6) << "trial " << trial;
    fs::remove(path);
  }
  EXPECT_GE(crashes, trials);
  fs::remove_all(dir);
}

TEST(Trader, CrashAtTwoHundredRandomPointsNeverDuplicatesOrLosesAnything) {
  expect_crashes_change_nothing(test_config(), 200, "crash");
}

TEST(Trader, CrashesInBracketModeNeverDuplicateOrLoseALeg) {
  TraderConfig c = test_config();
  c.bracket_orders = true;
  c.stop_loss_pct = 0.01;
  c.take_profit_pct = 0.015;
  expect_crashes_change_nothing(c, 60, "crash_bracket");
}

// A journal written before bracket legs were journaled has no `parent` column: opening it adds
// one, empty, and keeps every order it had.
TEST(Journal, AJournalFromBeforeLegsAndFillCyclesGainsTheColumnsAndKeepsItsRows) {
  const auto dir = fresh_dir("old_journal");
  const std::string path = (dir / "j.sqlite").string();
  JournalOrder entry;
  entry.client_order_id = "pl-x-20240102T0000-T0-buy";
  entry.cycle = 1;
  entry.decision_time = "2024-01-02T00:00:00Z";
  entry.symbol = "T0";
  entry.quantity = 10;
  entry.intent = "buy";
  broker::Order filled;
  filled.id = "b1";
  filled.client_order_id = entry.client_order_id;
  filled.status = broker::OrderStatus::kFilled;
  filled.quantity = filled.filled_quantity = 10;
  filled.filled_avg_price = 100;
  {
    Journal old(path, false);
    old.begin_cycle(entry.decision_time);
    old.record_intent(entry);
    old.apply_broker_order(entry.client_order_id, filled);
  }
  SQLite::Database(path, SQLite::OPEN_READWRITE).exec("ALTER TABLE orders DROP COLUMN parent");
  SQLite::Database(path, SQLite::OPEN_READWRITE).exec("ALTER TABLE fills DROP COLUMN cycle");
  Journal journal(path, false);
  const auto orders = journal.orders();
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].client_order_id, entry.client_order_id);
  EXPECT_EQ(orders[0].parent, "");
  ASSERT_EQ(journal.fills().size(), 1u);
  EXPECT_EQ(journal.fills()[0].cycle, 0) << "unknown in an old journal";
  EXPECT_DOUBLE_EQ(journal.positions().at("T0"), 10);
  JournalOrder leg = entry;
  leg.client_order_id += "-sl";
  leg.intent = "stop_loss";
  leg.side = broker::Side::kSell;
  leg.parent = entry.client_order_id;
  journal.record_intent(leg);
  EXPECT_EQ(journal.order(leg.client_order_id)->parent, entry.client_order_id);
  EXPECT_EQ(journal.orders_on_day("2024-01-02"), 1) << "a leg is not one of the day's trades";
  journal.begin_cycle("2024-01-03T00:00:00Z");
  broker::Order hit = filled;
  hit.id = "b2";
  hit.client_order_id = leg.client_order_id;
  hit.side = broker::Side::kSell;
  journal.apply_broker_order(leg.client_order_id, hit);
  EXPECT_EQ(journal.fills().back().cycle, 2) << "a new fill knows its cycle";
  fs::remove_all(dir);
}

// Runs cycles with `trigger` installed in the journal (an SQLite trigger that fails a chosen write,
// as a full disk would) until one fails; returns its message. The trigger is gone afterwards.
std::string run_until_the_journal_fails(const env::MarketData& m, broker::SimBroker& sim, CountingBroker& broker,
                                        const std::string& path, const std::string& trigger) {
  SQLite::Database(path, SQLite::OPEN_READWRITE).exec(trigger);
  std::string failure;
  {
    Journal journal(path, false);
    Trader trader(broker, journal, test_config(), scripted);
    try {
      trader.reconcile();
      for (; sim.bar() < 30; sim.advance(), trader.reconcile()) trader.run_cycle(m, sim.bar());
    } catch (const IoError& e) {
      failure = e.what();
      EXPECT_FALSE(journal.cycle_done(format_instant(m.time[sim.bar()]))) << "the failed cycle is not done";
    }
  }
  SQLite::Database(path, SQLite::OPEN_READWRITE).exec("DROP TRIGGER injected");
  return failure;
}

void expect_a_journal_failure(const std::string& failure, const std::string& path) {
  EXPECT_EQ(failure.rfind(path + ": the order journal failed (", 0), 0u) << failure;
  EXPECT_NE(failure.find("database or disk is full (injected)"), std::string::npos) << failure;
  EXPECT_EQ(failure.find('\n'), std::string::npos) << failure;
}

// The journal refuses an order's intent (the disk is full): the cycle stops with one line naming
// the file before the order reaches the broker, and once the cause is gone the session goes on
// and sends every order exactly once.
TEST(Trader, AnOrderWhoseIntentTheJournalCannotWriteIsNeverSent) {
  const auto m = walk_market();
  const auto dir = fresh_dir("intent_refused");
  const auto path = (dir / "j.sqlite").string();
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 5);
  CountingBroker broker(sim);
  run_until(m, sim, broker, path, 8, 0);
  const auto sent = broker.accepted;
  ASSERT_FALSE(sent.empty());
  const std::string failure =
      run_until_the_journal_fails(m, sim, broker, path,
                                  "CREATE TRIGGER injected BEFORE INSERT ON orders BEGIN "
                                  "SELECT RAISE(ABORT, 'database or disk is full (injected)'); END");
  expect_a_journal_failure(failure, path);
  EXPECT_EQ(broker.accepted, sent) << "nothing reached the broker";
  run_until(m, sim, broker, path, 30, 0);
  EXPECT_GT(broker.accepted.size(), sent.size()) << "the session went on";
  for (const auto& [cid, n] : broker.accepted) EXPECT_EQ(n, 1) << cid;
  Journal journal(path, false);
  for (const auto& o : sim.all_orders())
    EXPECT_NEAR(journal.order(o.client_order_id)->filled_quantity, o.filled_quantity, 1e-9) << o.client_order_id;
  fs::remove_all(dir);
}

// The broker took the order but the journal cannot record its answer: the next session finds the
// order at the broker instead of sending it again.
TEST(Trader, AnAcceptedOrderTheJournalCannotRecordIsRecoveredNotResent) {
  const auto m = walk_market();
  const auto dir = fresh_dir("answer_refused");
  const auto path = (dir / "j.sqlite").string();
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 5);
  CountingBroker broker(sim);
  run_until(m, sim, broker, path, 8, 0);
  const auto sent = broker.accepted.size();
  const std::string failure =
      run_until_the_journal_fails(m, sim, broker, path,
                                  "CREATE TRIGGER injected BEFORE UPDATE OF broker_order_id ON orders "
                                  "WHEN OLD.broker_order_id = '' AND NEW.broker_order_id <> '' BEGIN "
                                  "SELECT RAISE(ABORT, 'database or disk is full (injected)'); END");
  expect_a_journal_failure(failure, path);
  ASSERT_EQ(broker.accepted.size(), sent + 1) << "the broker has the order the journal could not record";
  {
    Journal journal(path, false);
    const auto unsettled = journal.unsettled_orders();
    ASSERT_EQ(unsettled.size(), 1u);
    EXPECT_EQ(unsettled[0].state, kIntended);
    EXPECT_EQ(broker.accepted.count(unsettled[0].client_order_id), 1u);
  }
  run_until(m, sim, broker, path, 30, 0);
  for (const auto& [cid, n] : broker.accepted) EXPECT_EQ(n, 1) << cid << " sent twice";
  Journal journal(path, false);
  for (const auto& o : sim.all_orders())
    EXPECT_NEAR(journal.order(o.client_order_id)->filled_quantity, o.filled_quantity, 1e-9) << o.client_order_id;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ploutos::trading

namespace ploutos::trading {
namespace {

TEST(Session, NextDecisionTimeFollowsTheNyseCalendar) {
  // Friday after Thanksgiving 2024: an early close at 13:00 New York (18:00 UTC).
  EXPECT_EQ(format_instant(next_decision_time(parse_instant("2024-11-29T15:00:00Z"), "1d")), "2024-11-29T18:05:00Z");
  EXPECT_EQ(format_instant(next_decision_time(parse_instant("2024-11-29T19:00:00Z"), "1d")), "2024-12-02T21:05:00Z");
  // Hourly bars start at 09:30 (14:30 UTC): the 10:30 bar ends at 11:30 (16:30 UTC).
  EXPECT_EQ(format_instant(next_decision_time(parse_instant("2024-12-02T15:45:00Z"), "1h")), "2024-12-02T16:31:00Z");
  EXPECT_EQ(format_instant(next_decision_time(parse_instant("2024-12-02T20:40:00Z"), "1h")), "2024-12-02T21:01:00Z");
  EXPECT_EQ(format_instant(next_decision_time(parse_instant("2024-12-02T15:00:00Z"), "4h")), "2024-12-02T18:31:00Z");
  // Before the open on a holiday weekend: the first bar of the next session.
  EXPECT_EQ(format_instant(next_decision_time(parse_instant("2024-11-28T15:00:00Z"), "1h")), "2024-11-29T15:31:00Z");
  // The latest bar that has ended: within a session, at its close, and before its first bar ends.
  EXPECT_EQ(format_instant(latest_bar_end(parse_instant("2024-12-02T16:31:00Z"), "1h")), "2024-12-02T16:30:00Z");
  EXPECT_EQ(format_instant(latest_bar_end(parse_instant("2024-12-02T20:59:00Z"), "1h")), "2024-12-02T20:30:00Z");
  EXPECT_EQ(format_instant(latest_bar_end(parse_instant("2024-12-02T21:00:30Z"), "1h")), "2024-12-02T21:00:00Z");
  EXPECT_EQ(format_instant(latest_bar_end(parse_instant("2024-12-02T20:00:00Z"), "4h")), "2024-12-02T18:30:00Z");
  EXPECT_EQ(format_instant(latest_bar_end(parse_instant("2024-12-02T15:00:00Z"), "1h")), "2024-11-29T18:00:00Z");
  EXPECT_EQ(format_instant(latest_bar_end(parse_instant("2024-11-30T12:00:00Z"), "1h")), "2024-11-29T18:00:00Z");
}

// Two sessions on one journal would both trade its cycles and both write the simulated broker's
// state: the second is refused before it opens anything, with who holds the journal.
TEST(Session, ASecondSessionOnAJournalIsRefusedBeforeItTouchesAnything) {
  const auto m = walk_market();
  const auto dir = fresh_dir("second_session");
  SessionRequest request;
  request.journal_path = (dir / "j.sqlite").string();
  request.durable = false;
  request.start_bars = 10;
  {
    const auto first = lock_session(request.journal_path);
    try {
      run_sim_session(m, scripted, test_config(), costs::CostParams{}, request);
      ADD_FAILURE() << "a second session ran on a held journal";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(request.journal_path + ".lock: held by pid " + std::to_string(::getpid()) + " since ", 0),
                0u)
          << what;
      EXPECT_NE(what.find("a trading session on " + request.journal_path), std::string::npos) << what;
    }
    EXPECT_FALSE(fs::exists(request.journal_path));
    EXPECT_FALSE(fs::exists(request.journal_path + ".sim.json"));
  }
  const auto result = run_sim_session(m, scripted, test_config(), costs::CostParams{}, request);
  EXPECT_EQ(result.cycles.size(), 10u) << "free once the first session ended";
  fs::remove_all(dir);
}

// A daily cycle on a real broker waits for the closed session's bar, loading (fetching) again, and
// gives up with a clear error when the source never publishes it.
TEST(Session, ADailyCycleWaitsForTheLatestSessionsBar) {
  const auto m = walk_market(40);  // its last bar: Monday 2020-02-10
  const auto dir = fresh_dir("data_wait");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 30);
  CountingBroker broker(sim);
  broker.fixed_clock = {parse_instant("2020-02-10T21:10:00Z"), false,  // 16:10 in New York
                        parse_instant("2020-02-11T14:30:00Z"), parse_instant("2020-02-11T21:00:00Z")};
  SessionRequest request;
  request.journal_path = (dir / "j.sqlite").string();
  request.durable = false;
  request.once = true;
  request.data_wait = std::chrono::seconds{5};
  request.data_retry = std::chrono::seconds{1};
  int loads = 0;
  auto published_late = [&] {
    auto loaded = std::make_shared<env::MarketData>(m);
    if (++loads < 3) loaded->last_bar = m.last_bar - 1;  // Sunday's: the session's bar is not there yet
    return std::shared_ptr<const env::MarketData>(loaded);
  };
  const auto result = run_broker_session(broker, published_late, scripted, test_config(), request);
  ASSERT_EQ(result.cycles.size(), 1u);
  EXPECT_EQ(result.cycles[0].decision_time, format_instant(m.time[m.last_bar])) << "decided on the session's bar";
  EXPECT_EQ(loads, 3);
  request.journal_path = (dir / "j2.sqlite").string();
  request.data_wait = std::chrono::seconds{2};
  auto never = [&] {
    auto loaded = std::make_shared<env::MarketData>(m);
    loaded->last_bar = m.last_bar - 1;
    return std::shared_ptr<const env::MarketData>(loaded);
  };
  EXPECT_EQ(refused(broker, never, request),
            "the market data ends on 2020-02-09 but the latest closed session is 2020-02-10 (still after waiting 2 s "
            "for the source): run `ploutos data fetch` first");
  fs::remove_all(dir);
}

// An hourly cycle waits for the bar that has just ended too; when the source never publishes it,
// it decides on the bar before (still within one bar of the clock) rather than stop.
TEST(Session, AnHourlyCycleWaitsForTheBarThatJustEndedThenDecidesOnTheOneBefore) {
  auto m = walk_market(7);  // the seven hourly bars of Tuesday 2024-03-05, 09:30 .. 15:30 New York
  for (std::size_t t = 0; t < 7; ++t) {
    m.time[t] = parse_instant("2024-03-05T14:30:00Z") + std::chrono::hours{t};
    m.new_york_day[t] = Day{std::chrono::year{2024} / 3 / 5};
  }
  m.last_bar = 3;  // the 12:30 bar, which ended at 13:30 New York
  const auto dir = fresh_dir("hourly_wait");
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), {}, 0);
  CountingBroker broker(sim);
  broker.fixed_clock = {parse_instant("2024-03-05T18:31:00Z"), true, parse_instant("2024-03-06T14:30:00Z"),
                        parse_instant("2024-03-05T21:00:00Z")};
  SessionRequest request;
  request.journal_path = (dir / "j.sqlite").string();
  request.durable = false;
  request.once = true;
  request.interval = "1h";
  request.data_wait = std::chrono::seconds{3};
  request.data_retry = std::chrono::seconds{1};
  int loads = 0;
  auto load = [&](std::size_t published_from_load) {
    return [&m, &loads, published_from_load] {
      auto loaded = std::make_shared<env::MarketData>(m);
      if (++loads < static_cast<int>(published_from_load)) loaded->last_bar = 2;  // the 12:30 bar is not there yet
      return std::shared_ptr<const env::MarketData>(loaded);
    };
  };
  auto result = run_broker_session(broker, load(2), scripted, test_config(), request);
  ASSERT_EQ(result.cycles.size(), 1u);
  EXPECT_EQ(result.cycles[0].decision_time, "2024-03-05T17:30:00Z") << "the bar that had just ended";
  EXPECT_EQ(loads, 2);
  loads = 0;
  request.journal_path = (dir / "j2.sqlite").string();
  result = run_broker_session(broker, load(1000), scripted, test_config(), request);
  ASSERT_EQ(result.cycles.size(), 1u);
  EXPECT_EQ(result.cycles[0].decision_time, "2024-03-05T16:30:00Z") << "after the wait, the bar before";
  EXPECT_GE(loads, 3);
  request.journal_path = (dir / "j3.sqlite").string();
  request.data_wait = std::chrono::seconds{0};
  m.last_bar = 1;  // the 10:30 bar: two bars behind
  EXPECT_EQ(refused(broker, load(0), request),
            "the market data ends at 2024-03-05T16:30:00Z, more than one bar before 2024-03-05T18:30:00Z: run "
            "`ploutos data fetch` first")
      << "data two bars old";
  fs::remove_all(dir);
}

// A journal is one account's record: a session on another broker, or live on a paper journal, is
// refused before it writes anything, the simulator's state included.
TEST(Session, AJournalOfAnotherBrokerOrAccountIsRefused) {
  const auto m = walk_market();
  const auto dir = fresh_dir("other_account");
  SessionRequest request;
  request.journal_path = (dir / "j.sqlite").string();
  request.durable = false;
  request.start_bars = 3;
  {
    Journal journal(request.journal_path, false);
    journal.set_meta("broker", "alpaca");
    journal.set_meta("account", "paper");
  }
  const auto before = Journal(request.journal_path, false).events().size();
  try {
    run_sim_session(m, scripted, test_config(), costs::CostParams{}, request);
    ADD_FAILURE() << "a sim session ran on an Alpaca journal";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), (request.journal_path +
                            ": the journal of a paper alpaca session; this one trades paper on sim: give it its own "
                            "journal (--journal or trading.journal)")
                               .c_str());
  }
  EXPECT_FALSE(fs::exists(request.journal_path + ".sim.json"));
  EXPECT_EQ(Journal(request.journal_path, false).meta("broker"), "alpaca");
  EXPECT_EQ(Journal(request.journal_path, false).events().size(), before);
  fs::remove_all(dir);
  // Paper, then live on the same journal.
  request.journal_path = (fresh_dir("paper_then_live") / "j.sqlite").string();
  EXPECT_EQ(run_sim_session(m, scripted, test_config(), costs::CostParams{}, request).cycles.size(), 3u);
  EXPECT_EQ(Journal(request.journal_path, false).meta("account"), "paper");
  request.live = true;
  EXPECT_THROW(run_sim_session(m, scripted, test_config(), costs::CostParams{}, request), InputError);
  fs::remove_all(fs::path(request.journal_path).parent_path());
}

}  // namespace
}  // namespace ploutos::trading
