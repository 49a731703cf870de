// Environment speed: random-action steps per second on the 15 shared daily tickers with the full
// observation (15 x 77 features + 18), for one env and a VecEnv of 16, next to a memcpy of the same
// observation bytes (the floor) in the same run. Target: >= 1,000,000 env-steps/s on one core; the
// seed's Python env did 840 steps/s on this machine.
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>

#include "ploutos/core/rng.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/panel.hpp"
#include "ploutos/env/vec_env.hpp"
#include "ploutos/features/engine.hpp"

using namespace ploutos;
namespace fs = std::filesystem;

namespace {
std::shared_ptr<const env::MarketData> shared_market() {
  static const std::shared_ptr<const env::MarketData> market = []() -> std::shared_ptr<const env::MarketData> {
    const fs::path dir = fs::path(PLOUTOS_SOURCE_DIR) / ".." / "shared" / "data" / "daily";
    if (!fs::is_directory(dir)) return nullptr;
    std::vector<data::BarSeries> series;
    for (const char* t : {"NVDA", "MSFT", "AAPL", "GOOGL", "AMZN", "META", "TSLA", "SPY", "QQQ", "VOO", "VTI", "XLE",
                          "XLF", "XLK", "XLV"}) {
      series.push_back(data::read_csv(dir / (std::string(t) + ".csv")).series);
    }
    return std::make_shared<const env::MarketData>(
        env::build_market(data::build_panel(series), features::FeatureEngine("v2"), 10.0));
  }();
  return market;
}

std::vector<std::int32_t> random_actions(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int32_t> a(n);
  for (auto& x : a) x = static_cast<std::int32_t>(rng.uniform_int(std::uint64_t{3}));
  return a;
}
}  // namespace

static void BM_EnvStepSingle(benchmark::State& state) {
  const auto market = shared_market();
  if (!market) {
    state.SkipWithError("../shared/data absent");
    return;
  }
  env::EnvConfig config;
  env::TradingEnv e(market, config);
  std::vector<float> obs(e.obs_dim());
  e.reset(1, obs);
  // A pool of pre-drawn random actions, so the benchmark measures the env, not the RNG.
  const auto actions = random_actions(market->n_tickers * 4096, 2);
  std::size_t i = 0;
  bool term = false, trunc = false;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        e.step(std::span<const std::int32_t>(actions.data() + (i & 4095) * market->n_tickers, market->n_tickers), obs,
               term, trunc));
    if (term || trunc) e.reset(obs);
    ++i;
  }
  state.counters["steps/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["obs_dim"] = static_cast<double>(e.obs_dim());
}
BENCHMARK(BM_EnvStepSingle);

static void BM_VecEnv16(benchmark::State& state) {
  const auto market = shared_market();
  if (!market) {
    state.SkipWithError("../shared/data absent");
    return;
  }
  env::EnvConfig config;
  env::VecEnv vec(market, config, 16, 1, static_cast<int>(state.range(0)));
  const auto actions = random_actions(16 * market->n_tickers * 256, 3);
  std::size_t i = 0;
  for (auto _ : state) {
    vec.step(
        std::span<const std::int32_t>(actions.data() + (i & 255) * 16 * market->n_tickers, 16 * market->n_tickers));
    ++i;
  }
  state.counters["env-steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 16, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_VecEnv16)->Arg(1)->Arg(2)->UseRealTime();

static void BM_BaselineMemcpyObservation(benchmark::State& state) {
  const auto market = shared_market();
  if (!market) {
    state.SkipWithError("../shared/data absent");
    return;
  }
  const std::size_t dim = market->n_tickers * market->n_features + market->n_tickers + 3;
  std::vector<float> obs(dim);
  std::size_t bar = market->first_bar;
  const std::size_t row = market->n_tickers * market->n_features;
  for (auto _ : state) {
    std::memcpy(obs.data(), market->features.data() + bar * row, dim * sizeof(float));
    benchmark::DoNotOptimize(obs.data());
    bar = bar + 1 < market->last_bar ? bar + 1 : market->first_bar;
  }
  state.counters["copies/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BaselineMemcpyObservation);
