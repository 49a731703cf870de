#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/features/engine.hpp"
#include "ploutos/features/export.hpp"

namespace ploutos::cli {
void add_features_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string data, tickers, interval, out, feature_set;
    bool all = false;
    bool markdown = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "features",
      "Compute the causal feature matrix per ticker and export it as CSV; `features list` explains each column");
  cmd->require_subcommand(0, 1);
  cmd->add_option(
      "--data", o->data,
      "Directory with TICKER.csv files (e.g. ../shared/data/daily), a data directory, or `synthetic` for the "
      "built-in market (default: data.dir and data.source)");
  cmd->add_option("--tickers", o->tickers, "Comma-separated tickers (default: data.tickers)");
  cmd->add_option("--interval", o->interval, "Override data.interval (1d, 1h, 4h)");
  cmd->add_option("--out", o->out, "CSV file to write (atomically); default: standard output");
  cmd->add_option(
      "--feature-set", o->feature_set,
      "v2 (scale-free observation features) or seed_v2 (the seed's 85 columns); default: features.feature_set");
  cmd->add_flag("--all", o->all,
                "Also the raw TA-Lib-comparable columns (sma_20, rsi_14, macd, bb_upper, atr_14, adx_14, ...)");
  cmd->footer(
      "Examples:\n"
      "  ploutos features --data ../shared/data/daily --tickers AAPL,MSFT --out features.csv --all\n"
      "  ploutos features --config quickstart --out synthetic_features.csv\n"
      "  ploutos features list\n"
      "One row per (ticker, bar): ticker, date (or UTC time for intraday bars), valid (0 during warm-up),\n"
      "then the features. The bars are the ones training sees: data.start/end and data.quality_policy apply.");
  cmd->callback([&globals, o, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // `features list` set its own action
    globals.action = [&globals, o]() -> int {
      auto config = load_effective_config(globals);
      apply_data_options(config, o->data, o->interval, o->tickers);
      config::validate(config, "command line");
      const features::FeatureEngine engine(o->feature_set.empty() ? config.features.feature_set : o->feature_set);
      // The bars the environment would see (same sources, window and quality policy), per ticker.
      const auto loaded = env::load_series(config, o->data);
      std::vector<features::FeatureMatrix> matrices;
      for (const auto& series : loaded.series) {
        matrices.push_back(engine.compute(series, o->all));
        spdlog::info("{}: {} bars x {} features ({} valid rows)", series.ticker, matrices.back().rows(),
                     matrices.back().cols(), std::count(matrices.back().valid.begin(), matrices.back().valid.end(), 1));
      }
      const bool daily = loaded.timeframe == data::Timeframe::k1d;
      const std::string csv = features::to_csv(matrices, daily);
      if (o->out.empty()) {
        std::cout << csv;
      } else {
        write_file_atomic(o->out, csv);
        spdlog::info("wrote {} ({} feature set {})", o->out, engine.feature_set(), engine.version());
      }
      return 0;
    };
  });

  auto* list = cmd->add_subcommand(
      "list", "Every feature of a set with its one-line definition (--json, or --markdown for docs)");
  list->add_flag("--markdown", o->markdown, "A Markdown table (docs/features.md embeds it)");
  list->add_option("--feature-set", o->feature_set, "v2 or seed_v2 (default: features.feature_set)");
  list->footer("Examples:\n  ploutos features list\n  ploutos features list --feature-set seed_v2 --json");
  list->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      const auto config = load_effective_config(globals);
      const features::FeatureEngine engine(o->feature_set.empty() ? config.features.feature_set : o->feature_set);
      if (globals.json) {
        nlohmann::ordered_json j{{"feature_set", engine.feature_set()}, {"version", engine.version()}};
        for (const auto* group : {&engine.features(), &features::FeatureEngine::raw_features()}) {
          auto& arr = j[group == &engine.features() ? "observation" : "raw"];
          arr = nlohmann::ordered_json::array();
          for (const auto& f : *group) arr.push_back({{"name", f.name}, {"definition", f.description}});
        }
        std::cout << json_text(j, 2) << "\n";
      } else if (o->markdown) {
        std::cout << features::to_markdown(engine.features());
      } else {
        std::cout << engine.feature_set() << " (" << engine.version() << "): " << engine.features().size()
                  << " observation features\n";
        for (const auto& f : engine.features()) std::printf("  %-22s %s\n", f.name.c_str(), f.description.c_str());
        std::cout << "raw columns (export with --all, not fed to the agent):\n";
        for (const auto& f : features::FeatureEngine::raw_features())
          std::printf("  %-22s %s\n", f.name.c_str(), f.description.c_str());
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
