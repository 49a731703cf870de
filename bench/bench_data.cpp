// Market-data benchmarks against in-process baselines:
//  - CSV: our from_chars parser vs. a straightforward getline + std::stod parser, on the 15 shared
//    daily files (skipped without ../shared/data);
//  - synthetic market generation (bars per second);
//  - 1h -> 4h resampling.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ploutos/data/csv.hpp"
#include "ploutos/data/resample.hpp"
#include "ploutos/data/synthetic.hpp"

using namespace ploutos;
namespace fs = std::filesystem;

namespace {
const char* kTickers[] = {"NVDA", "MSFT", "AAPL", "GOOGL", "AMZN", "META", "TSLA", "SPY",
                          "QQQ",  "VOO",  "VTI",  "XLE",   "XLF",  "XLK",  "XLV"};
fs::path shared_daily() {
  return fs::path(PLOUTOS_SOURCE_DIR) / ".." / "shared" / "data" / "daily";
}

bool skip_without_shared_data(benchmark::State& state) {
  if (fs::is_directory(shared_daily())) return false;
  state.SkipWithError("../shared/data absent");
  return true;
}

// The obvious implementation: iostreams, getline, stod.
std::size_t baseline_read(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<double> close;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string field;
    std::vector<double> values;
    std::getline(row, field, ',');  // date
    while (std::getline(row, field, ',')) values.push_back(std::stod(field));
    close.push_back(values.at(3));
  }
  return close.size();
}
}  // namespace

static void BM_CsvLoad15Daily(benchmark::State& state) {
  if (skip_without_shared_data(state)) return;
  std::size_t rows = 0;
  for (auto _ : state) {
    rows = 0;
    for (const char* t : kTickers) rows += data::read_csv(shared_daily() / (std::string(t) + ".csv")).series.size();
  }
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CsvLoad15Daily)->Unit(benchmark::kMillisecond);

static void BM_BaselineCsvLoad15Daily(benchmark::State& state) {
  if (skip_without_shared_data(state)) return;
  std::size_t rows = 0;
  for (auto _ : state) {
    rows = 0;
    for (const char* t : kTickers) rows += baseline_read(shared_daily() / (std::string(t) + ".csv"));
  }
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BaselineCsvLoad15Daily)->Unit(benchmark::kMillisecond);

static void BM_SyntheticMarket15x2500(benchmark::State& state) {
  data::SyntheticOptions o;
  o.tickers.assign(std::begin(kTickers), std::end(kTickers));
  o.sessions = 2500;
  for (auto _ : state) benchmark::DoNotOptimize(data::generate_synthetic(o));
  state.counters["bars/s"] = benchmark::Counter(15.0 * 2500, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SyntheticMarket15x2500)->Unit(benchmark::kMillisecond);

static void BM_Resample1hTo4h(benchmark::State& state) {
  const fs::path spy = fs::path(PLOUTOS_SOURCE_DIR) / ".." / "shared" / "data" / "hourly" / "SPY.csv";
  if (!fs::exists(spy)) {
    state.SkipWithError("../shared/data absent");
    return;
  }
  const auto hourly = data::read_csv(spy).series;
  for (auto _ : state) benchmark::DoNotOptimize(data::resample_1h_to_4h(hourly));
  state.counters["bars/s"] =
      benchmark::Counter(static_cast<double>(hourly.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Resample1hTo4h)->Unit(benchmark::kMillisecond);
