// Backtest speed (issue #6): a 90-day backtest of the 15 shared tickers with the seed's V6 network,
// including model load and feature warm-up, as `ploutos backtest --days 90` does it. Target: under
// 0.5 s. Baseline in the same process: reading the 15 CSV files alone (the I/O floor). Skipped
// without ../shared/data.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>

#include "ploutos/backtest/backtest.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/rl/ppo.hpp"

using namespace ploutos;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A model with the V6 network and the V6 config (daily shared data), trained for one tiny update:
// its size and shape are what load and inference cost, not its quality.
std::string v6_model(const std::string& data_dir) {
  const fs::path path = fs::temp_directory_path() / "ploutos_bench_backtest_v6.pt";
  if (fs::exists(path)) return path.string();
  auto config =
      config::load_config_file(fs::path(PLOUTOS_SOURCE_DIR) / "config" / "training_config_v6_better_timing.yaml");
  config.data.interval = "1d";
  config.ppo.n_steps = 64;
  config.ppo.batch_size = 64;
  config.ppo.n_epochs = 1;
  config.training.n_envs = 1;
  rl::TrainRequest req;
  req.config = config;
  req.market = env::load_market(config, data_dir);
  req.output = path.string();
  req.total_timesteps = 64;
  req.validation_fraction = 0;
  req.progress = false;
  rl::train(req);
  return path.string();
}

}  // namespace

static void BM_Backtest90DaysV6(benchmark::State& state) {
  const std::string data_dir = (fs::path(PLOUTOS_SOURCE_DIR) / ".." / "shared" / "data" / "daily").string();
  if (!fs::is_directory(data_dir)) {
    state.SkipWithError("../shared/data absent");
    return;
  }
  const std::string model = v6_model(data_dir);
  double load = 0, market = 0, run = 0, csv = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto agent = agent::Agent::load(model);
    load = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto config = agent->config();
    config.data.interval = "1d";
    const auto loaded = env::load_market(config, data_dir);
    market = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const auto [first, last] = backtest::last_sessions(*loaded.market, 90);
    const auto result = backtest::run_backtest(
        loaded.market, env::env_config_from(config, env::Mode::kBacktest), first, last,
        [&](std::span<const float> obs, std::span<std::int32_t> a) { agent->act(obs, a); }, 1);
    benchmark::DoNotOptimize(result.agent.metrics.sharpe);
    run = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    for (const auto& ticker : config.data.tickers)
      benchmark::DoNotOptimize(data::read_csv(fs::path(data_dir) / (ticker + ".csv")).series.size());
    csv = seconds_since(t0);
  }
  const double total = load + market + run;
  state.counters["total_s"] = total;
  state.counters["model_load_s"] = load;
  state.counters["market_features_s"] = market;
  state.counters["backtest_s"] = run;
  state.counters["x_csv_read"] = total / csv;
  state.counters["target_0.5s_met"] = total < 0.5 ? 1 : 0;
}
BENCHMARK(BM_Backtest90DaysV6)->Unit(benchmark::kMillisecond)->Iterations(5);
