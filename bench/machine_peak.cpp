#include "machine_peak.hpp"

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <chrono>
#include <thread>
#include <vector>

namespace ploutos::bench {
namespace {

// Twelve independent accumulators cover the FMA latency (4 cycles) times two FMA ports with room to
// spare, and stay in registers for a burst of 2^20 rounds: nothing but the FMA ports is measured.
// A target attribute does not reach into a template or lambda, so each instruction set has its
// own burst.
constexpr int kChains = 12;
constexpr long kRoundsPerBurst = 1 << 20;

__attribute__((target("avx512f"))) void burst_avx512(float* state) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_loadu_ps(state + 16 * c);
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  for (long r = 0; r < kRoundsPerBurst; ++r) {
#pragma GCC unroll 12
    for (auto& v : acc) v = _mm512_fmadd_ps(v, mul, add);
  }
  for (int c = 0; c < kChains; ++c) _mm512_storeu_ps(state + 16 * c, acc[c]);
}

__attribute__((target("avx2,fma"))) void burst_avx2(float* state) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_loadu_ps(state + 8 * c);
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  for (long r = 0; r < kRoundsPerBurst; ++r) {
#pragma GCC unroll 12
    for (auto& v : acc) v = _mm256_fmadd_ps(v, mul, add);
  }
  for (int c = 0; c < kChains; ++c) _mm256_storeu_ps(state + 8 * c, acc[c]);
}

// GFLOP/s of one thread running bursts for at least `seconds`.
double run_bursts(void (*burst)(float*), int lanes, double seconds) {
  std::vector<float> state(static_cast<std::size_t>(kChains * lanes), 1.0f);
  long bursts = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    burst(state.data());
    benchmark::DoNotOptimize(state.data());  // the results are used: the bursts stay
    benchmark::ClobberMemory();
    ++bursts;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return static_cast<double>(bursts) * kRoundsPerBurst * kChains * lanes * 2.0 / elapsed / 1e9;
}

}  // namespace

double machine_fma_peak_gflops(int threads, double seconds) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
  std::vector<double> rates(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      rates[static_cast<std::size_t>(t)] =
          avx512 ? run_bursts(burst_avx512, 16, seconds) : run_bursts(burst_avx2, 8, seconds);
    });
  }
  for (auto& w : workers) w.join();
  double total = 0;
  for (const double r : rates) total += r;
  return total;
}

}  // namespace ploutos::bench
