#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "cli.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/backtest/reliability.hpp"
#include "ploutos/backtest/walk_forward.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/diagnose/timing.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/rl/ppo.hpp"
#include "ploutos/trading/simulate.hpp"

namespace ploutos::cli {

void add_backtest_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string model, start, end, tickers, data, fill, costs, out, engine = "env", decision_precision = "float32";
    int days = 0, folds = 3, seeds = 3, purge_days = 5, embargo_days = 5, test_months = 6, threads = 0, jobs = 1;
    double train_years = 3;
    std::int64_t timesteps = 0;
    bool walk_forward = false, reliability = false;
    int reliability_seeds = 5;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("backtest", "After-cost evaluation of a model against baselines; walk-forward validation");
  cmd->add_option("--model", o->model, "Model file, e.g. data/models/brain_tech.pt");
  auto* days =
      cmd->add_option("--days", o->days,
                      "Evaluate the last N trading days (sessions; default: backtest.days of the model's config)")
          ->check(kPositive);
  cmd->add_option("--start", o->start, "First day of the window (YYYY-MM-DD); not with --days")->excludes(days);
  cmd->add_option("--end", o->end, "Last day of the window (YYYY-MM-DD); not with --days")->excludes(days);
  cmd->add_option("--tickers", o->tickers, "Comma-separated tickers; must be the model's (checked)");
  cmd->add_option("--data", o->data,
                  "Data directory, folder of TICKER.csv, or `synthetic` (default: the model's data config)");
  cmd->add_option("--fill", o->fill, "next_open (default) or close (optimistic, marked in every output)");
  cmd->add_option("--costs", o->costs, "Config file whose costs section replaces the model's");
  cmd->add_option("--out", o->out,
                  "Report directory: summary.json, equity.csv, trades.csv (default: backtest.out_dir)");
  cmd->add_option("--engine", o->engine,
                  "env: the training environment (default); broker: the live trader's path (risk overlay, orders, "
                  "SimBroker) with an in-memory journal")
      ->check(CLI::IsMember({"env", "broker"}))
      ->capture_default_str();
  add_decision_precision_option(*cmd, o->decision_precision, "; the run counts how often");
  cmd->add_flag("--walk-forward", o->walk_forward, "Retrain per fold and seed, evaluate out of sample");
  cmd->add_flag("--reliability", o->reliability,
                "Also: regimes (bull/bear/sideways windows), seeds of the stochastic parts, bootstrap CI of the "
                "Sharpe, one-bar delay sensitivity (reliability.json)");
  cmd->add_option("--reliability-seeds", o->reliability_seeds, "Seeds for --reliability")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--folds", o->folds, "Walk-forward: consecutive test windows ending at the data's end")
      ->capture_default_str();
  cmd->add_option("--train-years", o->train_years, "Walk-forward: training window before each test window")
      ->capture_default_str();
  cmd->add_option("--test-months", o->test_months, "Walk-forward: length of each test window")->capture_default_str();
  cmd->add_option("--purge-days", o->purge_days,
                  "Walk-forward: sessions dropped after training (>= 1: the reward horizon)")
      ->capture_default_str();
  cmd->add_option("--embargo-days", o->embargo_days,
                  "Walk-forward: further sessions dropped before testing (serial correlation)")
      ->capture_default_str();
  cmd->add_option("--seeds", o->seeds, "Walk-forward: fresh agents per fold (mean ± std over them)")
      ->capture_default_str();
  cmd->add_option("--timesteps", o->timesteps, "Walk-forward: training steps per agent (default: the config's)")
      ->check(kPositive);
  cmd->add_option("--threads", o->threads, "Walk-forward: threads of each training (0 = every core)")
      ->check(kNonNegative);
  cmd->add_option("--jobs", o->jobs,
                  "Walk-forward: trainings side by side, each on one thread (the runs' numbers are those of --jobs 1 "
                  "--threads 1); for many small trainings on several cores")
      ->check(kPositive)
      ->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  ploutos backtest --model data/models/brain_tech.pt --days 90\n"
      "  ploutos backtest --model data/models/quickstart.pt --data synthetic --days 250 --json\n"
      "  ploutos backtest --walk-forward --config v6_better_timing.yaml --data ../shared/data/daily --folds 5 --seeds "
      "3\n"
      "  ploutos backtest --walk-forward --config walk_forward_small --data ../shared/data/daily --jobs 2   side by "
      "side\n"
      "Baselines run through the same engine and costs: equal-weight buy-and-hold, SPY buy-and-hold (when\n"
      "SPY is a ticker), and a seeded random agent trading as often as the model.");
  cmd->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      if (o->walk_forward) {
        if (!o->model.empty()) throw UsageError("--walk-forward trains its own agents: give --config, not --model");
        const auto config = load_effective_config(globals);
        const auto market = env::load_market(config, o->data);
        backtest::WalkForwardSpec spec;
        spec.folds = o->folds;
        spec.seeds = o->seeds;
        spec.train_years = o->train_years;
        spec.test_months = o->test_months;
        spec.purge_days = o->purge_days;
        spec.embargo_days = o->embargo_days;
        spec.timesteps = o->timesteps;
        if (o->jobs > 1 && o->threads > 1)
          throw UsageError("--jobs " + std::to_string(o->jobs) + " trains each run on one thread: drop --threads " +
                           std::to_string(o->threads));
        spec.threads = o->threads;
        spec.jobs = o->jobs;
        spec.out_dir = o->out.empty() ? "reports/walk_forward" : o->out;
        spec.progress = !globals.quiet && !globals.json;
        const auto result = [&] {
          const StopOnSignals signals;
          spec.stop = signals.flag();
          return backtest::run_walk_forward(config, market, spec);
        }();
        if (result.interrupted) {
          std::cerr << "walk-forward interrupted after " << result.runs.size() << " of " << spec.folds * spec.seeds
                    << " runs; the same command continues (finished runs in " << spec.out_dir
                    << "/folds/ are reused)\n";
          return 130;
        }
        const std::filesystem::path dir(spec.out_dir);
        write_file_atomic(dir / "walk_forward.json", backtest::walk_forward_json(result) + "\n");
        std::string csv = "step,agent,buy_and_hold\n";
        for (std::size_t i = 0; i < result.oos_equity.size(); ++i)
          csv += std::to_string(i) + "," + std::to_string(result.oos_equity[i]) + "," +
                 std::to_string(result.oos_buy_and_hold[i]) + "\n";
        write_file_atomic(dir / "oos_equity.csv", csv);
        write_file_atomic(dir / "report.html", backtest::walk_forward_html(result));
        if (globals.json) {
          std::cout << backtest::walk_forward_json(result) << "\n";
        } else {
          std::cout << backtest::walk_forward_table(result) << "reports in " << spec.out_dir
                    << "/ (walk_forward.json, oos_equity.csv, report.html; folds/ resumes a rerun)\n";
        }
        return 0;
      }
      if (o->model.empty()) throw UsageError("backtest: --model is required");
      if (!o->fill.empty() && o->fill != "next_open" && o->fill != "close") {
        throw UsageError("--fill: expected next_open or close, got '" + o->fill + "'");
      }
      const auto precision = decision_precision_from(o->decision_precision);
      const auto loaded = backtest::load_model_with_market(
          o->model, o->data,
          [&](config::Config& c) {
            if (!o->costs.empty())
              c.costs = config::load_config_file(config::resolve_config_path(o->costs, "--costs")).costs;
            if (!o->fill.empty()) c.environment.fill = o->fill;
            if (!o->tickers.empty()) c.data.tickers = split_list(o->tickers);  // the manifest check refuses others
          },
          precision);
      if (precision != rl::DecisionPrecision::kFloat32) loaded.agent->compare_with_float32();
      const auto& config = loaded.config;
      const auto& m = *loaded.market.market;
      // The window: the last --days bars, or --start/--end; features warm up on the bars before it.
      std::size_t first = m.first_bar, last = m.last_bar;
      if (!o->start.empty() || !o->end.empty()) {
        const Day start = o->start.empty() ? Day::min() : parse_day(o->start);
        const Day end = o->end.empty() ? Day::max() : parse_day(o->end);
        while (first < last && m.new_york_day[first] < start) ++first;
        while (last > first && m.new_york_day[last] > end) --last;
      } else {
        std::tie(first, last) = recent_window(m, o->days, config.backtest.days);
      }
      if (last <= first) throw InputError("backtest: the window holds fewer than two tradable bars");
      if (config.environment.fill == "close")
        spdlog::warn("--fill close: fills at the decision bar's close; results are OPTIMISTIC");
      const auto env_config = env::env_config_from(config, env::Mode::kBacktest);
      std::optional<backtest::StrategyResult> through_broker;
      if (o->engine == "broker") {
        if (config.environment.fill == "close") throw UsageError("--engine broker fills at the next open only");
        through_broker = trading::simulate_trading(
            loaded.market.market, trading::trader_config_from(config), env_config.costs, first, last,
            [&](const env::MarketData& mk, std::size_t bar, std::span<const double> q, const env::PortfolioState& p,
                std::span<std::int32_t> a) { loaded.agent->decide(mk, bar, q, p, a); },
            "agent", config.training.seed);
      }
      auto result = backtest::run_backtest(
          loaded.market.market, env_config, first, last,
          [&](std::span<const float> obs, std::span<std::int32_t> actions) { loaded.agent->act(obs, actions); },
          config.training.seed, through_broker ? &*through_broker : nullptr);
      result.seen = backtest::seen_by_model(loaded.agent->manifest(), m, loaded.market.source, first, last);
      if (const auto in_sample = backtest::seen_by_model_warning(result.seen); !in_sample.empty()) {
        spdlog::warn("{}", in_sample);
      }
      result.decision_precision = rl::to_string(precision);
      result.agreement_with_float32 = loaded.agent->agreement();
      const std::string out_dir = o->out.empty() ? config.backtest.out_dir : o->out;
      backtest::write_outputs(result, out_dir);
      // The self-improvement step after every backtest: the losing-trade analysis of the agent's fills.
      const auto suggestions =
          diagnose::losing_trade_suggestions(diagnose::round_trips(diagnose::fill_events(m, result.agent)),
                                             {env_config.stop_loss_pct, env_config.take_profit_pct,
                                              env_config.min_holding_period, env_config.max_trades_per_day});
      nlohmann::ordered_json suggestions_json = nlohmann::ordered_json::array();
      for (const auto& x : suggestions)
        suggestions_json.push_back({{"key", x.key}, {"value", x.value}, {"why", x.why}});
      write_file_atomic(std::filesystem::path(out_dir) / "suggestions.json", json_text(suggestions_json, 2) + "\n");
      for (const auto& x : suggestions) spdlog::info("suggestion: try {} = {} ({})", x.key, x.value, x.why);
      if (o->reliability) {
        backtest::ReliabilitySpec spec;
        spec.first = first;
        spec.last = last;
        spec.benchmark = config.backtest.benchmark;
        spec.seeds = o->reliability_seeds;
        spec.seed = config.training.seed;
        const auto rel = backtest::run_reliability(
            loaded.market.market, env_config,
            [&](std::span<const float> obs, std::span<std::int32_t> a) { loaded.agent->act(obs, a); },
            [&](std::span<const float> obs, std::span<std::int32_t> a, Rng& rng) { loaded.agent->sample(obs, a, rng); },
            spec);
        write_file_atomic(std::filesystem::path(out_dir) / "reliability.json",
                          backtest::reliability_json(rel, m) + "\n");
        if (globals.json) {
          auto j = nlohmann::ordered_json::parse(backtest::summary_json(result));
          j["reliability"] = nlohmann::ordered_json::parse(backtest::reliability_json(rel, m));
          std::cout << json_text(j, 2) << "\n";
          return 0;
        }
        std::cout << "reliability\n" << backtest::reliability_text(rel, m);
        if (rel.suspicious) spdlog::warn("{}", rel.verdict);
      }
      if (globals.json) {
        std::cout << backtest::summary_json(result) << "\n";
      } else {
        std::cout << "backtest " << o->model << " on " << m.tickers.size() << " tickers, "
                  << (result.daily ? format_day(std::chrono::floor<std::chrono::days>(result.time.front()))
                                   : format_instant(result.time.front()))
                  << " .. "
                  << (result.daily ? format_day(std::chrono::floor<std::chrono::days>(result.time.back()))
                                   : format_instant(result.time.back()))
                  << " (" << result.time.size() << " bars, after costs)\n"
                  << backtest::summary_table(result) << "reports in " << out_dir
                  << "/ (report.html, summary.json, equity.csv, trades.csv, suggestions.json"
                  << (o->reliability ? ", reliability.json)\n" : ")\n");
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
