#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.hpp"
#include "ploutos/agent/agent.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/broker/broker.hpp"
#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/data/fetch.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/trading/session.hpp"

namespace ploutos::cli {
namespace {

nlohmann::ordered_json report_json(const trading::CycleReport& r, const std::vector<std::string>& tickers) {
  nlohmann::ordered_json actions = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < r.actions.size() && k < tickers.size(); ++k)
    actions[tickers[k]] = r.actions[k] == env::kBuy ? "buy" : r.actions[k] == env::kSell ? "sell" : "hold";
  nlohmann::ordered_json orders = nlohmann::ordered_json::array();
  for (const auto& o : r.orders)
    orders.push_back({{"client_order_id", o.client_order_id},
                      {"symbol", o.symbol},
                      {"side", broker::to_string(o.side)},
                      {"quantity", o.quantity},
                      {"intent", o.intent},
                      {"outcome", o.outcome}});
  return {{"decision_time", r.decision_time},
          {"skipped", r.skipped},
          {"skip_reason", r.skip_reason},
          {"actions", actions},
          {"orders_sent", r.orders_sent},
          {"orders_rejected", r.orders_rejected},
          {"orders", orders},
          {"kill_switch", r.kill_switch},
          {"cash", r.cash},
          {"equity", r.equity},
          {"notes", r.notes}};
}

// A cycle as a person reads it: one line, then each order and note indented below it.
std::string report_text(const trading::CycleReport& r) {
  const auto count = [&r](std::int32_t action) { return std::count(r.actions.begin(), r.actions.end(), action); };
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << bar_time_text(r.decision_time);
  if (r.skipped) {
    out << "  skipped: " << r.skip_reason << "\n";
    return out.str();
  }
  out << "  buy " << count(env::kBuy) << " sell " << count(env::kSell) << " hold " << count(env::kHold) << "  orders "
      << r.orders_sent << " (rejected " << r.orders_rejected << ")  cash " << r.cash << "  equity " << r.equity
      << (r.kill_switch ? "  KILL SWITCH" : "") << "\n";
  for (const auto& o : r.orders) {
    out << "    " << broker::to_string(o.side) << " " << std::setprecision(4) << o.quantity << " " << o.symbol;
    if (o.intent != broker::to_string(o.side)) out << " (" << o.intent << ")";
    out << ": " << o.outcome << "  " << o.client_order_id << "\n";
  }
  for (const auto& note : r.notes) out << "    note: " << note << "\n";
  return out.str();
}

void confirm_live(bool yes_really_live) {
  if (yes_really_live) return;
  if (isatty(STDIN_FILENO) == 0)
    throw UsageError("--live needs a typed confirmation on a terminal, or --yes-really-live");
  std::cerr << "LIVE TRADING with real money. Type 'trade live' to continue: " << std::flush;
  std::string line;
  std::getline(std::cin, line);
  if (line != "trade live") throw UsageError("live trading not confirmed");
}

}  // namespace

void add_trade_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string broker, model, data, journal, start, decision_precision = "float32";
    bool paper = true, live = false, once = false, dry_run = false, yes_really_live = false, no_fetch = false;
    int cycles = 0;
    std::size_t start_bars = 60;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "trade", "Paper (default) or live trading loop on the NYSE calendar with risk limits and an order journal");
  auto* paper = cmd->add_flag("--paper", o->paper, "Paper trading (the default)");
  cmd->add_option("--broker", o->broker, "etoro (the default, or $BROKER), alpaca, or sim (offline, no credentials)")
      ->check(CLI::IsMember({"etoro", "alpaca", "sim"}));
  cmd->add_option("--model", o->model, "Model file (default: trading.model of the config)");
  cmd->add_option("--data", o->data, "Bars: data directory, folder of TICKER.csv, or `synthetic` (sim)");
  cmd->add_option("--journal", o->journal, "SQLite order journal (default: trading.journal of the config)");
  add_decision_precision_option(*cmd, o->decision_precision, "; backtest with the same setting first");
  cmd->add_flag("--once", o->once, "Run one decision cycle and exit");
  cmd->add_option("--cycles", o->cycles, "Stop after this many cycles (sim default: to the end of the data)")
      ->check(kPositive);
  cmd->add_option("--start", o->start, "sim: first decision day YYYY-MM-DD of a new session");
  cmd->add_option("--start-bars", o->start_bars, "sim: a new session starts this many bars before the data end");
  cmd->add_flag("--dry-run", o->dry_run, "Decide and journal, but send no orders");
  cmd->add_flag("--no-fetch", o->no_fetch, "Real brokers: use the stored bars as they are (default: trading.fetch)");
  auto* live = cmd->add_flag("--live", o->live, "Real money: asks for a typed confirmation")->excludes(paper);
  cmd->add_flag("--yes-really-live", o->yes_really_live, "Confirm --live without the prompt")->needs(live);
  cmd->footer(
      "Each cycle: reconcile journal and broker, decide on the last final bar, apply the risk overlay\n"
      "(stops, kill switch, caps, sizing), send orders with deterministic client order ids (journaled\n"
      "before sending), record fills, positions and equity. The sim broker fills at the next bar's open\n"
      "through the cost model and keeps its state beside the journal (<journal>.sim.json).\n"
      "One session a journal: a second one on the same journal is refused (<journal>.lock).\n"
      "Examples:\n"
      "  ploutos trade --paper --broker sim --model data/models/brain_tech.pt --once\n"
      "  ploutos trade --broker sim --model data/models/quickstart.pt --data synthetic --cycles 20 --json\n"
      "  ploutos trade --paper --broker alpaca --model data/models/brain_tech.pt");
  cmd->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      const auto file_config = load_effective_config(globals);
      const std::string broker_name = broker::resolve_broker_name(o->broker, file_config.broker.name);
      if (o->live && broker_name == "sim") throw UsageError("--live with --broker sim: the simulator is paper only");
      if (o->live) confirm_live(o->yes_really_live);
      const std::string model = !o->model.empty() ? o->model : file_config.trading.model;
      const auto precision = decision_precision_from(o->decision_precision);
      auto agent = agent::Agent::load(model, precision);
      // The model's config decides the observation; the user's config the risk limits and journal.
      config::Config config = agent->config();
      config.risk = file_config.risk;
      config.trading = file_config.trading;
      config.broker = file_config.broker;
      const std::string data = o->data.empty() && broker_name == "sim" && config.data.source == "synthetic"
                                   ? std::string("synthetic")
                                   : o->data;
      if (data == "synthetic") config.data.interval = "1d";
      auto trader_config = trading::trader_config_from(config);
      trader_config.dry_run = o->dry_run;
      trading::SessionRequest request;
      request.journal_path = !o->journal.empty() ? o->journal : config.trading.journal;
      request.once = o->once;
      request.max_cycles = o->cycles;
      request.start_day = o->start;
      request.start_bars = o->start_bars;
      request.seed = config.training.seed;
      request.interval = trading::decision_interval(config);
      request.live = o->live;
      const bool fetching = config.trading.fetch && !o->no_fetch && data != "synthetic";
      // A source may publish a bar minutes after it ends: wait for it when fetching, not otherwise.
      if (fetching) request.data_wait = request.interval == "1d" ? std::chrono::minutes{30} : std::chrono::minutes{10};
      const StopOnSignals signals;  // the cycle in flight finishes, then the loop ends
      request.stop = signals.flag();
      request.meta = {{"model", model}, {"decision_precision", rl::to_string(precision)}};
      std::vector<std::string> tickers;
      request.on_cycle = [&](const trading::CycleReport& r) {
        if (globals.json) {
          auto line = report_json(r, tickers);
          line["decision_precision"] = rl::to_string(precision);
          std::cout << json_text(line) << "\n" << std::flush;
        } else if (!globals.quiet) {
          std::cout << report_text(r) << std::flush;
        }
      };
      auto decide = [&agent](const env::MarketData& m, std::size_t bar, std::span<const double> q,
                             const env::PortfolioState& p,
                             std::span<std::int32_t> a) { agent->decide(m, bar, q, p, a); };
      trading::SessionResult result;
      if (broker_name == "sim") {
        const auto loaded = env::load_market(config, data);
        agent->check_compatible(*loaded.market, config.features.feature_set);
        tickers = loaded.market->tickers;
        result = trading::run_sim_session(*loaded.market, decide, trader_config, env::cost_params_from(config.costs),
                                          request);
        if (result.first_bar_decided <= result.last_bar_decided) {
          // The last decision is paid on the bar after it.
          const auto paid_until = std::min(result.last_bar_decided + 1, loaded.market->last_bar);
          const auto seen = backtest::seen_by_model(agent->manifest(), *loaded.market, loaded.source,
                                                    result.first_bar_decided, paid_until);
          if (const auto in_sample = backtest::seen_by_model_warning(seen); !in_sample.empty()) {
            spdlog::warn("this simulated session's decisions: {}", in_sample);
          }
        }
      } else {
        broker::BrokerOptions options;
        options.name = broker_name;
        options.paper = !o->live;
        options.timeout_seconds = config.broker.timeout_seconds;
        options.max_retries = config.broker.max_retries;
        options.requests_per_minute = config.broker.requests_per_minute;
        auto broker = broker::make_broker(options);
        tickers = config.data.tickers;
        result = trading::run_broker_session(
            *broker,
            [&]() {
              if (fetching) {
                auto timeframe = data::parse_timeframe(config.data.interval);
                if (timeframe == data::Timeframe::k4h) timeframe = data::Timeframe::k1h;
                const Day today = calendar::nyse().new_york_day(now_utc());
                const auto [start, end] = data::resolve_window(config.data.start, "", config.data.period, today);
                const auto fetched = fetch_bars(config, data.empty() ? config.data.dir : data, config.data.tickers,
                                                timeframe, start, end, config.data.source_order, true, false);
                for (const auto& r : fetched) {
                  if (r.contains("error"))
                    throw Error("trade: fetching " + r["ticker"].get<std::string>() +
                                " failed: " + r["error"].get<std::string>());
                }
              }
              auto loaded = env::load_market(config, data);
              agent->check_compatible(*loaded.market, config.features.feature_set);
              return loaded.market;
            },
            decide, trader_config, request);
      }
      if (!globals.json && !globals.quiet) {
        std::cout << result.cycles.size() << " cycle(s); " << result.ended << "; journal " << result.journal << "\n";
        for (const auto& s : result.suggestions) std::cout << "suggestion: " << s << "\n";
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
