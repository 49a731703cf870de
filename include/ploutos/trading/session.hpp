#pragma once
// The trading loop around Trader::run_cycle: the simulated session (SimBroker on stored or
// synthetic bars, state kept beside the journal so a paper session continues across runs) and the
// broker session (Alpaca, eToro: NYSE-calendar aligned, deciding after the close on final bars).
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ploutos/broker/sim_broker.hpp"
#include "ploutos/trading/trader.hpp"

namespace ploutos::trading {

broker::SimBars sim_bars_from(const env::MarketData& market);

// When the next cycle runs: a minute after the bar in progress at `now` ends (1h and 4h bars start
// at the session open and the last one ends at the close), or five minutes after the next close (1d).
Instant next_decision_time(Instant now, const std::string& interval);
// The end of the latest 1h or 4h bar that has ended at `now` (the session's last ends at the close;
// before a session's first bar ends, the previous session's close).
Instant latest_bar_end(Instant now, const std::string& interval);

struct SessionRequest {
  std::string journal_path = "data/journal.sqlite";
  bool once = false;
  bool durable = true;
  int max_cycles = 0;     // 0: sim to the end of its data; brokers until stopped
  std::string start_day;  // sim: first decision day; empty: `start_bars` sessions before the end
  std::size_t start_bars = 60;
  std::uint64_t seed = 2024;
  std::string interval = "1d";  // brokers: 1d decides after the close; 1h/4h after each bar of the session
  // The account traded. A journal belongs to one broker and one of paper/live: a session of another
  // is refused (InputError) before it touches anything.
  bool live = false;
  // Real brokers: a cycle whose data lack the latest bar that has ended loads them again every
  // `data_retry` (the caller's loader fetches) for up to `data_wait`. Then a daily cycle, or one
  // whose data are more than a bar behind, gives up (InputError); an intraday one decides on the
  // bar before.
  std::chrono::seconds data_wait{0};
  std::chrono::seconds data_retry{60};
  const std::atomic<bool>* stop = nullptr;  // set by SIGINT/SIGTERM: finish the cycle, then return
  std::function<void(const CycleReport&)> on_cycle;
  // Written to the journal's meta at the start (the model's path and precision, ...), so that a
  // journal says what traded in it; `ploutos journal` prints them.
  std::map<std::string, std::string> meta;
};

struct SessionResult {
  std::vector<CycleReport> cycles;
  std::vector<std::string> suggestions;  // the last trading day's analysis, over every round trip journaled
  // Sim sessions: the market bars this run decided on (first > last when it decided on none), for
  // the caller to say when the model trained on them.
  std::size_t first_bar_decided = 1, last_bar_decided = 0;
  std::string ended;  // why the loop ended
  std::string journal;
};

// Paper trading on the simulator. The simulator's state lives in `<journal>.sim.json` and is saved
// after every change, so the broker side survives a crash exactly like a remote broker would.
SessionResult run_sim_session(const env::MarketData& market, const DecideFn& decide, const TraderConfig& config,
                              const costs::CostParams& costs, const SessionRequest& request);

// A real broker. `load_market` returns the market with the latest final bars (data store); a
// cycle refuses data that does not end at the latest closed session.
SessionResult run_broker_session(broker::Broker& broker,
                                 const std::function<std::shared_ptr<const env::MarketData>()>& load_market,
                                 const DecideFn& decide, const TraderConfig& config, const SessionRequest& request);

}  // namespace ploutos::trading
