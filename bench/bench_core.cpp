// Foundation benchmarks. Each reports a ratio against a baseline run in the same process:
//  - NYSE calendar: is_session on a precomputed table vs. std::set lookup of the same holidays;
//  - Rng: xoshiro256** vs. std::mt19937_64 (the obvious standard alternative);
//  - LibTorch matmul GFLOP/s (OpenBLAS health: ~120 GFLOP/s per core here, ~5 with reference BLAS).
#include <benchmark/benchmark.h>

#include <random>
#include <set>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/rl/runtime.hpp"

using namespace ploutos;

static void BM_CalendarIsSession(benchmark::State& state) {
  const auto& cal = calendar::nyse();
  const Day first = parse_day("1990-01-01");
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cal.is_session(first + std::chrono::days{i}));
    i = (i + 1) % 36000;
  }
}
BENCHMARK(BM_CalendarIsSession);

static void BM_BaselineSetLookup(benchmark::State& state) {
  const auto& cal = calendar::nyse();
  std::set<int> closed;
  const Day first = parse_day("1990-01-01");
  for (int d = 0; d < 36000; ++d) {
    if (!cal.is_session(first + std::chrono::days{d})) closed.insert(d);
  }
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(closed.count(i) == 0);
    i = (i + 1) % 36000;
  }
}
BENCHMARK(BM_BaselineSetLookup);

static void BM_RngXoshiroUniform(benchmark::State& state) {
  Rng rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(rng.uniform());
}
BENCHMARK(BM_RngXoshiroUniform);

static void BM_BaselineMt19937Uniform(benchmark::State& state) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(dist(rng));
}
BENCHMARK(BM_BaselineMt19937Uniform);

static void BM_TorchMatmul512(benchmark::State& state) {
  double gflops = 0;
  for (auto _ : state) gflops = rl::torch_matmul_gflops(512, 8);
  state.counters["GFLOP/s"] = gflops;
}
BENCHMARK(BM_TorchMatmul512)->Unit(benchmark::kMillisecond)->Iterations(3);
