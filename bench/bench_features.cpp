// Feature-engine speed on the 15 shared daily tickers (~98,600 bars): all v2 features, against a
// pass that only sums the closes (the memory-bound floor) in the same run. The seed's pandas code
// took 1.32 s for 15 x 2,500 bars on this machine (shared/seed-spec.md, section 8).
#include <benchmark/benchmark.h>

#include <filesystem>

#include "ploutos/data/csv.hpp"
#include "ploutos/features/engine.hpp"

using namespace ploutos;
namespace fs = std::filesystem;

namespace {
const std::vector<data::BarSeries>& shared_daily() {
  static const std::vector<data::BarSeries> series = [] {
    std::vector<data::BarSeries> out;
    const fs::path dir = fs::path(PLOUTOS_SOURCE_DIR) / ".." / "shared" / "data" / "daily";
    for (const char* t : {"NVDA", "MSFT", "AAPL", "GOOGL", "AMZN", "META", "TSLA", "SPY", "QQQ", "VOO", "VTI", "XLE",
                          "XLF", "XLK", "XLV"}) {
      if (fs::exists(dir / (std::string(t) + ".csv")))
        out.push_back(data::read_csv(dir / (std::string(t) + ".csv")).series);
    }
    return out;
  }();
  return series;
}
std::size_t total_bars() {
  std::size_t n = 0;
  for (const auto& s : shared_daily()) n += s.size();
  return n;
}
}  // namespace

static void BM_FeaturesV2Panel15Daily(benchmark::State& state) {
  if (shared_daily().empty()) {
    state.SkipWithError("../shared/data absent");
    return;
  }
  const features::FeatureEngine engine("v2");
  for (auto _ : state) {
    for (const auto& s : shared_daily()) benchmark::DoNotOptimize(engine.compute(s));
  }
  const double cells = static_cast<double>(total_bars() * engine.features().size());
  state.counters["bars"] = static_cast<double>(total_bars());
  state.counters["features"] = static_cast<double>(engine.features().size());
  state.counters["cells/s"] = benchmark::Counter(cells, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FeaturesV2Panel15Daily)->Unit(benchmark::kMillisecond);

static void BM_FeaturesSeedV2Panel15Daily(benchmark::State& state) {
  if (shared_daily().empty()) {
    state.SkipWithError("../shared/data absent");
    return;
  }
  const features::FeatureEngine engine("seed_v2");
  for (auto _ : state) {
    for (const auto& s : shared_daily()) benchmark::DoNotOptimize(engine.compute(s));
  }
}
BENCHMARK(BM_FeaturesSeedV2Panel15Daily)->Unit(benchmark::kMillisecond);

static void BM_BaselineSumCloses15Daily(benchmark::State& state) {
  for (auto _ : state) {
    double sum = 0;
    for (const auto& s : shared_daily()) {
      for (const double c : s.close) sum += c;
    }
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_BaselineSumCloses15Daily)->Unit(benchmark::kMillisecond);
