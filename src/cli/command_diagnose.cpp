#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/diagnose/timing.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/rl/ppo.hpp"

namespace ploutos::cli {

void add_diagnose_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string model, out, data, decision_precision = "float32";
    int days = 0;
    int horizon = 10;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "diagnose", "Why a model wins or fails: buy-low vs buy-high timing, entry percentile, per-ticker P&L");
  cmd->add_option("--model", o->model, "Model file")->required();
  cmd->add_option("--days", o->days,
                  "Window of the last N trading days (sessions; default: backtest.days of the model's config)")
      ->check(kPositive);
  cmd->add_option("--data", o->data, "Data directory, folder of TICKER.csv, or `synthetic`");
  cmd->add_option("--horizon", o->horizon, "Bars after a decision whose mean close judges it (the seed: 10)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--out", o->out, "Also write diagnose.json and diagnose.html into this directory");
  add_decision_precision_option(*cmd, o->decision_precision, ", as `trade --decision-precision int8` takes them");
  cmd->footer(
      "Examples:\n"
      "  ploutos diagnose --model data/models/brain_tech.pt --days 90\n"
      "  ploutos diagnose --model data/models/quickstart.pt --data synthetic --json\n"
      "A BUY is 'low' (good) when the mean close of the next 10 bars is above its fill price x 1.01; a\n"
      "SELL is 'high' when that mean is below its fill price x 0.99 (the seed's analyze_why_fails_v6).");
  cmd->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      const auto precision = decision_precision_from(o->decision_precision);
      const auto loaded = backtest::load_model_with_market(o->model, o->data, {}, precision);
      const auto& m = *loaded.market.market;
      const auto [first, last] = recent_window(m, o->days, loaded.config.backtest.days);
      const auto run = backtest::run_strategy(
          loaded.market.market, env::env_config_from(loaded.config, env::Mode::kBacktest), first, last, "agent",
          [&](std::span<const float> obs, std::span<std::int32_t> a) { loaded.agent->act(obs, a); });
      const auto e = env::env_config_from(loaded.config, env::Mode::kBacktest);
      auto report =
          diagnose::analyze_timing(m, run, static_cast<std::size_t>(o->horizon), 0.01,
                                   {e.stop_loss_pct, e.take_profit_pct, e.min_holding_period, e.max_trades_per_day},
                                   loaded.config.backtest.benchmark);
      report.decision_precision = rl::to_string(precision);
      report.seen = backtest::seen_by_model(loaded.agent->manifest(), m, loaded.market.source, first, last);
      if (!o->out.empty()) {
        write_file_atomic(std::filesystem::path(o->out) / "diagnose.json", diagnose::to_json(report) + "\n");
        write_file_atomic(std::filesystem::path(o->out) / "diagnose.html", diagnose::to_html(report));
      }
      std::cout << (globals.json ? diagnose::to_json(report) + "\n" : diagnose::to_text(report));
      if (!globals.json && !o->out.empty()) std::cout << "report in " << o->out << "/ (diagnose.html, diagnose.json)\n";
      return 0;
    };
  });
}

}  // namespace ploutos::cli
