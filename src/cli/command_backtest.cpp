#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "cli.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/diagnose/timing.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/rl/ppo.hpp"

namespace ploutos::cli {

void add_backtest_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string model, start, end, tickers, data, fill, costs, out;
    int days = 0, folds = 0, seeds = 0, purge_days = 0, embargo_days = 0, test_months = 0;
    double train_years = 0;
    bool walk_forward = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("backtest", "After-cost evaluation of a model against baselines; walk-forward validation");
  cmd->add_option("--model", o->model, "Model file, e.g. data/models/brain_tech.pt");
  cmd->add_option("--days", o->days, "Evaluate the last N bars (default: backtest.days of the model's config)");
  cmd->add_option("--start", o->start, "First day of the window (YYYY-MM-DD)");
  cmd->add_option("--end", o->end, "Last day of the window (YYYY-MM-DD)");
  cmd->add_option("--tickers", o->tickers, "Comma-separated tickers; must be the model's (checked)");
  cmd->add_option("--data", o->data,
                  "Data directory, folder of TICKER.csv, or `synthetic` (default: the model's data config)");
  cmd->add_option("--fill", o->fill, "next_open (default) or close (optimistic, marked in every output)");
  cmd->add_option("--costs", o->costs, "Config file whose costs section replaces the model's");
  cmd->add_option("--out", o->out,
                  "Report directory: summary.json, equity.csv, trades.csv (default: backtest.out_dir)");
  cmd->add_flag("--walk-forward", o->walk_forward, "Retrain per fold and seed, evaluate out of sample");
  cmd->add_option("--folds", o->folds, "Walk-forward folds");
  cmd->add_option("--train-years", o->train_years, "Training window per fold");
  cmd->add_option("--test-months", o->test_months, "Test window per fold");
  cmd->add_option("--purge-days", o->purge_days, "Gap removed between training and test");
  cmd->add_option("--embargo-days", o->embargo_days, "Gap after each test window");
  cmd->add_option("--seeds", o->seeds, "Seeds per fold");
  cmd->footer(
      "Examples:\n"
      "  ploutos backtest --model data/models/brain_tech.pt --days 90\n"
      "  ploutos backtest --model data/models/quickstart.pt --data synthetic --days 250 --json\n"
      "  ploutos backtest --walk-forward --config v6_better_timing.yaml --folds 5 --seeds 3   (not implemented yet)\n"
      "Baselines run through the same engine and costs: equal-weight buy-and-hold, SPY buy-and-hold (when\n"
      "SPY is a ticker), and a seeded random agent trading as often as the model.");
  cmd->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      if (o->walk_forward) throw NotImplementedError("ploutos backtest --walk-forward (issue #6)");
      if (o->model.empty()) throw UsageError("backtest: --model is required");
      if (!o->fill.empty() && o->fill != "next_open" && o->fill != "close") {
        throw UsageError("--fill: expected next_open or close, got '" + o->fill + "'");
      }
      const auto loaded = backtest::load_model_with_market(o->model, o->data, [&](config::Config& c) {
        if (!o->costs.empty()) c.costs = config::load_config_file(config::resolve_config_path(o->costs)).costs;
        if (!o->fill.empty()) c.environment.fill = o->fill;
        if (!o->tickers.empty()) c.data.tickers = split_list(o->tickers);  // the manifest check refuses others
      });
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
        std::tie(first, last) =
            backtest::last_bars(m, static_cast<std::size_t>(o->days > 0 ? o->days : config.backtest.days));
      }
      if (last <= first) throw InputError("backtest: the window holds fewer than two tradable bars");
      if (config.environment.fill == "close")
        spdlog::warn("--fill close: fills at the decision bar's close; results are OPTIMISTIC");
      const auto env_config = env::env_config_from(config, env::Mode::kBacktest);
      const auto result = backtest::run_backtest(
          loaded.market.market, env_config, first, last,
          [&](std::span<const float> obs, std::span<std::int32_t> actions) { loaded.agent->act(obs, actions); },
          config.training.seed);
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
      write_file_atomic(std::filesystem::path(out_dir) / "suggestions.json", suggestions_json.dump(2) + "\n");
      for (const auto& x : suggestions) spdlog::info("suggestion: try {} = {} ({})", x.key, x.value, x.why);
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
                  << "/ (summary.json, equity.csv, trades.csv)\n";
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
