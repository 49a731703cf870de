#include "ploutos/trading/session.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/data/fetch.hpp"

namespace ploutos::trading {
namespace {

bool stopping(const SessionRequest& r) {
  return r.stop != nullptr && r.stop->load();
}

// Sleeps until `when`, waking each second to see whether the session is asked to stop; false then.
bool sleep_until(Instant when, const SessionRequest& r) {
  while (!stopping(r) && now_utc() < when)
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(std::chrono::seconds{1}, when - now_utc()));
  return !stopping(r);
}

// After a cycle: the losing-trade analysis when it closed a trading day, the caller's callback, the
// record. True when the request's cycle budget (--once, --cycles) is spent; `ended` then says so.
bool record_cycle(Trader& trader, CycleReport report, bool day_over, const SessionRequest& request,
                  SessionResult& result) {
  if (day_over) {
    result.suggestions = trader.end_of_day_analysis();
  }
  if (request.on_cycle) request.on_cycle(report);
  result.cycles.push_back(std::move(report));
  const auto done = static_cast<int>(result.cycles.size());
  if (request.once || (request.max_cycles > 0 && done >= request.max_cycles)) {
    result.ended = request.once ? "one cycle (--once)" : "cycle limit";
    return true;
  }
  return false;
}

// Keeps the simulator's state on disk after every change: a crash then loses nothing the
// "broker" accepted, as with a remote one.
class PersistentSim : public broker::SimBroker {
 public:
  PersistentSim(std::shared_ptr<const broker::SimBars> bars, broker::SimOptions options, std::size_t start,
                std::string path)
      : SimBroker(std::move(bars), std::move(options), start), path_(std::move(path)) {}
  broker::Order submit(const broker::OrderRequest& r) override {
    auto o = SimBroker::submit(r);
    save();
    return o;
  }
  void cancel(const std::string& id) override {
    SimBroker::cancel(id);
    save();
  }
  bool step() {
    const bool moved = advance();
    if (moved) save();
    return moved;
  }
  void save() const { write_file_atomic(path_, save_state()); }

 private:
  std::string path_;
};

// What the journal says of the session that writes to it (`ploutos journal` prints it). A journal
// belongs to one broker and one account (paper or live): its positions and equity are that
// account's, and another's would fail reconciliation at best and mix two equity curves at worst.
void record_session(Journal& journal, const std::string& broker, const SessionRequest& request) {
  const std::string account = request.live ? "live" : "paper";
  const auto held_broker = journal.meta("broker");
  const auto held_account = journal.meta("account");
  if ((held_broker && *held_broker != broker) || (held_account && *held_account != account)) {
    throw InputError(journal.path() + ": the journal of a " + (held_account ? *held_account + " " : "") +
                     held_broker.value_or("?") + " session; this one trades " + account + " on " + broker +
                     ": give it its own journal (--journal or trading.journal)");
  }
  journal.set_meta("broker", broker);
  journal.set_meta("account", account);
  journal.set_meta("interval", request.interval);
  for (const auto& [key, value] : request.meta) journal.set_meta(key, value);
}

}  // namespace

broker::SimBars sim_bars_from(const env::MarketData& m) {
  broker::SimBars b;
  b.symbols = m.tickers;
  b.time = m.time;
  b.open = m.open;
  b.high = m.high;
  b.low = m.low;
  b.close = m.close;
  b.volume = m.volume;
  b.volatility = m.volatility;
  b.adv = m.adv;
  b.tradable = m.tradable;
  return b;
}

Instant latest_bar_end(Instant now, const std::string& interval) {
  const auto& cal = calendar::nyse();
  const auto step = interval == "4h" ? std::chrono::hours{4} : std::chrono::hours{1};
  const Day day = cal.new_york_day(now);
  if (!cal.is_session(day) || now < cal.session(day).open + step) return cal.previous_close(now);
  const auto session = cal.session(day);
  Instant latest = session.open + step;
  for (Instant end = latest; end <= now && end <= session.close; end += step) latest = end;
  return now >= session.close ? session.close : latest;
}

Instant next_decision_time(Instant now, const std::string& interval) {
  const auto& cal = calendar::nyse();
  if (interval == "1d") return cal.next_close(now) + std::chrono::minutes{5};
  const auto step = interval == "4h" ? std::chrono::hours{4} : std::chrono::hours{1};
  const Day day = cal.new_york_day(now);
  const auto session = cal.is_session(day) && now < cal.session(day).close
                           ? cal.session(day)
                           : cal.session(cal.new_york_day(cal.next_open(now)));
  for (Instant end = session.open + step;; end += step) {
    if (end >= session.close) return session.close + std::chrono::minutes{1};
    if (end > now) return end + std::chrono::minutes{1};
  }
}

SessionResult run_sim_session(const env::MarketData& m, const DecideFn& decide, const TraderConfig& config,
                              const costs::CostParams& costs, const SessionRequest& request) {
  SessionResult result;
  result.journal = request.journal_path;
  const auto lock = lock_session(request.journal_path);
  Journal journal(request.journal_path, request.durable);
  record_session(journal, "sim", request);
  const std::string state_path = request.journal_path + ".sim.json";
  broker::SimOptions options;
  options.initial_cash = config.initial_balance;
  options.costs = costs;
  options.seed = request.seed;
  std::size_t start = m.last_bar > m.first_bar + request.start_bars ? m.last_bar - request.start_bars : m.first_bar;
  if (!request.start_day.empty()) {
    const Day day = parse_day(request.start_day);
    start = m.first_bar;
    while (start < m.last_bar && std::chrono::floor<std::chrono::days>(m.time[start]) < day) ++start;
  }
  PersistentSim sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), options, start, state_path);
  if (std::filesystem::exists(state_path)) {
    std::ifstream in(state_path);
    std::stringstream text;
    text << in.rdbuf();
    sim.load_state(text.str(), state_path);
    spdlog::info("sim broker: continuing at {} from {}", format_instant(m.time[sim.bar()]), state_path);
  } else {
    if (journal.cycles_done() > 0)
      throw InputError(request.journal_path + ": the journal has cycles but " + state_path +
                       " (the simulated broker) is missing; start a new journal");
    sim.save();
  }
  Trader trader(sim, journal, config, decide);
  trader.reconcile();
  while (true) {
    if (stopping(request)) {
      result.ended = "stopped by signal";
      break;
    }
    if (sim.bar() > m.last_bar || sim.at_end()) {
      result.ended = "end of the data (" + format_instant(m.time[sim.bar()]) + ")";
      break;
    }
    const std::size_t decided = sim.bar();
    if (result.first_bar_decided > result.last_bar_decided) result.first_bar_decided = decided;
    result.last_bar_decided = decided;
    auto report = trader.run_cycle(m, decided);
    sim.step();          // the market moves: orders fill at the next bar's open
    trader.reconcile();  // and the journal learns the fills
    const bool day_over = sim.bar() == decided || m.new_york_day[sim.bar()] != m.new_york_day[decided];
    if (record_cycle(trader, std::move(report), day_over, request, result)) break;
  }
  trader.snapshot(format_instant(m.time[sim.bar()]));
  return result;
}

SessionResult run_broker_session(broker::Broker& broker,
                                 const std::function<std::shared_ptr<const env::MarketData>()>& load_market,
                                 const DecideFn& decide, const TraderConfig& config, const SessionRequest& request) {
  SessionResult result;
  result.journal = request.journal_path;
  const auto lock = lock_session(request.journal_path);
  Journal journal(request.journal_path, request.durable);
  record_session(journal, broker.name(), request);
  Trader trader(broker, journal, config, decide);
  trader.reconcile();
  const auto& cal = calendar::nyse();
  // Why `market` should not be decided on at `clock` yet: `missing` when its latest bar has ended
  // but is not in the data, `hard` when the data are too old to decide on at all.
  struct Staleness {
    std::string why;
    bool hard = false;
  };
  const auto staleness = [&](const env::MarketData& market, const broker::MarketClock& clock) -> Staleness {
    const std::size_t bar = market.last_bar;
    if (request.interval == "1d") {
      const Day data_day = market.new_york_day[bar];  // daily bars are stamped with the session date
      const Day closed_day = cal.new_york_day(cal.previous_close(clock.now) - std::chrono::seconds{1});
      if (data_day < closed_day)
        return {"the market data ends on " + format_day(data_day) + " but the latest closed session is " +
                    format_day(closed_day),
                true};
      return {};
    }
    const Instant ended = latest_bar_end(clock.now, request.interval);
    const Instant data_end = data::bar_end(data::parse_timeframe(request.interval), market.time[bar]);
    if (data_end >= ended) return {};
    if (data_end < latest_bar_end(ended - std::chrono::seconds{1}, request.interval))
      return {
          "the market data ends at " + format_instant(data_end) + ", more than one bar before " + format_instant(ended),
          true};
    return {"the bar that ended at " + format_instant(ended) + " is not in the market data yet", false};
  };
  while (!stopping(request)) {
    auto clock = broker.clock();  // the broker's clock, never the local one
    auto market = load_market();
    // A source publishes a bar some minutes after it ends: a cycle waits for it, loading (and so
    // fetching) again every data_retry, up to data_wait; then an intraday cycle decides on the bar
    // before, a daily one (or data more than a bar behind) stops.
    const Instant give_up = now_utc() + request.data_wait;
    for (Staleness s = staleness(*market, clock); !s.why.empty(); s = staleness(*market, clock)) {
      if (now_utc() >= give_up) {
        if (!s.hard) {
          spdlog::warn("{}: deciding on the bar before", s.why);
          break;
        }
        const auto waited = request.data_wait.count();
        throw InputError(s.why +
                         (waited <= 0 ? ""
                          : waited < 60
                              ? " (still after waiting " + std::to_string(waited) + " s for the source)"
                              : " (still after waiting " + std::to_string(waited / 60) + " min for the source)") +
                         ": run `ploutos data fetch` first");
      }
      spdlog::info("{}: loading again in {} s", s.why, request.data_retry.count());
      if (!sleep_until(now_utc() + request.data_retry, request)) {
        result.ended = "stopped by signal";
        return result;
      }
      clock = broker.clock();
      market = load_market();
    }
    const std::size_t bar = market->last_bar;
    const Instant wake = next_decision_time(clock.now, request.interval);
    const bool day_over = cal.new_york_day(wake) != cal.new_york_day(clock.now);
    if (record_cycle(trader, trader.run_cycle(*market, bar), day_over, request, result)) return result;
    spdlog::info("next cycle after {}", format_instant(wake));
    sleep_until(wake, request);
  }
  result.ended = "stopped by signal";
  return result;
}

}  // namespace ploutos::trading
