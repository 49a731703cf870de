#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/time.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/rl/ppo.hpp"

namespace ploutos::cli {

void add_train_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::int64_t timesteps = 0;
    std::string out, resume, data, interval, tickers, metrics_dir;
    int threads = 0;
    double validation = 0.2;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("train", "Train a PPO agent (LibTorch) on the V6 environment; writes data/models/NAME.pt");
  cmd->add_option("--timesteps", o->timesteps, "Environment steps (default: training.total_timesteps)")
      ->check(kPositive);
  cmd->add_option(
      "--out", o->out,
      "Model file to write (default: training.output); the best validation model goes beside it as NAME.best.pt");
  cmd->add_option("--resume", o->resume,
                  "Continue from this model/checkpoint (weights, optimiser, normaliser, RNG, step count)");
  cmd->add_option("--threads", o->threads,
                  "Threads for the update (data-parallel) and LibTorch (default: training.threads, 0 = every core); "
                  "the same seed and thread count give byte-identical models")
      ->check(kNonNegative);
  cmd->add_option("--data", o->data,
                  "Data directory, folder of TICKER.csv, or `synthetic` for the built-in market (overrides data.dir "
                  "and data.source)");
  cmd->add_option("--interval", o->interval, "Override data.interval (1d, 1h, 4h)");
  cmd->add_option("--tickers", o->tickers, "Override data.tickers (comma-separated)");
  cmd->add_option("--validation", o->validation, "Share of the bars held out for validation (default 0.2)")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--metrics-dir", o->metrics_dir,
                  "Where metrics.jsonl and metrics.csv go (default: training.runs_dir/<model name>)");
  cmd->footer(
      "Examples:\n"
      "  ploutos train --config quickstart\n"
      "  ploutos train --config v6_better_timing.yaml --timesteps 20000 --data ../shared/data/daily --interval 1d\n"
      "  ploutos train --config v6_better_timing.yaml --timesteps 20000 --data synthetic\n"
      "  ploutos train --config quickstart --resume data/models/quickstart.pt\n"
      "Ctrl-C saves a checkpoint to --out and exits with code 130; --resume continues from it.\n"
      "One training a run: a second one into the same metrics directory is refused while the first runs.");
  cmd->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      auto config = load_effective_config(globals);
      apply_data_options(config, o->data, o->interval, o->tickers);
      if (!o->out.empty()) config.training.output = o->out;
      config::validate(config, "command line");
      if (config.autonomous.search.enabled)
        spdlog::warn(
            "autonomous.search.enabled: `ploutos train` trains this config as it is, without the "
            "selection, search and acceptance test of `ploutos autonomous`");
      const auto market = env::load_market(config, o->data);
      spdlog::info("market: {} tickers x {} bars ({}), {} features, data {}", market.market->n_tickers,
                   market.market->n_bars, market.data_range, market.market->n_features, market.source);
      rl::TrainRequest request;
      request.config = config;
      request.market = market;
      request.output = config.training.output;
      request.resume = o->resume;
      request.total_timesteps = o->timesteps;
      request.threads = o->threads > 0 ? o->threads : config.training.threads;
      request.validation_fraction = o->validation;
      request.metrics_dir =
          o->metrics_dir.empty()
              ? (std::filesystem::path(config.training.runs_dir) / std::filesystem::path(request.output).stem())
                    .string()
              : o->metrics_dir;
      request.progress = !globals.quiet && !globals.json;
      const auto result = [&] {
        const StopOnSignals signals;
        request.stop = signals.flag();
        return rl::train(request);
      }();
      if (globals.json) {
        nlohmann::ordered_json j{{"model", result.model_path},
                                 {"timesteps", result.timesteps},
                                 {"interrupted", result.interrupted},
                                 {"metrics_dir", request.metrics_dir}};
        if (!result.history.empty()) {
          const auto& u = result.history.back();
          j["episode_reward_mean"] = u.episode_reward_mean;
          j["episode_return_mean"] = u.episode_return_mean;
          j["explained_variance"] = u.explained_variance;
          j["approx_kl"] = u.approx_kl;
          j["fps"] = u.fps;
        }
        if (!result.best_model_path.empty()) {
          j["best_model"] = result.best_model_path;
          j["best_validation_return"] = result.best_validation_return;
          j["validation_window"] = {{"first", result.validation_first}, {"last", result.validation_last}};
        }
        std::cout << json_text(j, 2) << "\n";
      } else {
        std::cout << (result.interrupted ? "interrupted; checkpoint " : "model ") << result.model_path << " ("
                  << result.timesteps << " timesteps; metrics in " << request.metrics_dir << ")\n";
        if (!result.history.empty()) {
          const auto& u = result.history.back();
          std::printf(
              "  last update   episode return %+.2f%% (%d episodes), explained variance %.3f, approx KL %.4f, "
              "%.0f steps/s\n",
              100 * u.episode_return_mean, u.episodes, u.explained_variance, u.approx_kl, u.fps);
        }
        if (!result.best_model_path.empty()) {
          std::printf("  best model    %s: validation return %+.2f%% on %s .. %s, after costs\n",
                      result.best_model_path.c_str(), 100 * result.best_validation_return,
                      bar_time_text(result.validation_first).c_str(), bar_time_text(result.validation_last).c_str());
        }
        if (result.interrupted)
          std::cout << "resume with: ploutos train --resume " << result.model_path << " [same options]\n";
      }
      return result.interrupted ? 130 : 0;
    };
  });
}

}  // namespace ploutos::cli
