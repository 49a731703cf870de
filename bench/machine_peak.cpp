#include "machine_peak.hpp"

#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace ploutos::bench {
namespace {

// Twelve independent accumulators cover the FMA latency (4 cycles) times two FMA ports with room to
// spare, and never leave the registers: nothing but the FMA ports is measured. The chains are
// written out for each instruction set because a target attribute does not reach into a lambda.
constexpr int kChains = 12;
constexpr long kRoundsPerCheck = 1 << 20;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

__attribute__((target("avx512f"))) double fma_avx512(double seconds, float& sink) {
  __m512 acc[kChains];
  for (auto& v : acc) v = _mm512_set1_ps(1.0f);
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  long rounds = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (long r = 0; r < kRoundsPerCheck; ++r) {
#pragma GCC unroll 12
      for (auto& v : acc) v = _mm512_fmadd_ps(v, mul, add);
    }
    rounds += kRoundsPerCheck;
    elapsed = seconds_since(start);
  }
  alignas(64) float lanes[16];  // not _mm512_reduce_add_ps: GCC 12's header warns inside it
  sink = 0;
  for (auto& v : acc) {
    _mm512_store_ps(lanes, v);
    for (const float x : lanes) sink += x;
  }
  return static_cast<double>(rounds) * kChains * 16 * 2.0 / elapsed / 1e9;
}

__attribute__((target("avx2,fma"))) double fma_avx2(double seconds, float& sink) {
  __m256 acc[kChains];
  for (auto& v : acc) v = _mm256_set1_ps(1.0f);
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  long rounds = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (long r = 0; r < kRoundsPerCheck; ++r) {
#pragma GCC unroll 12
      for (auto& v : acc) v = _mm256_fmadd_ps(v, mul, add);
    }
    rounds += kRoundsPerCheck;
    elapsed = seconds_since(start);
  }
  alignas(32) float lanes[8];
  sink = 0;
  for (auto& v : acc) {
    _mm256_store_ps(lanes, v);
    for (const float x : lanes) sink += x;
  }
  return static_cast<double>(rounds) * kChains * 8 * 2.0 / elapsed / 1e9;
}

}  // namespace

double machine_fma_peak_gflops(int threads, double seconds) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
  std::vector<double> rates(static_cast<std::size_t>(threads));
  std::vector<float> sinks(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const auto i = static_cast<std::size_t>(t);
      rates[i] = avx512 ? fma_avx512(seconds, sinks[i]) : fma_avx2(seconds, sinks[i]);
    });
  }
  for (auto& w : workers) w.join();
  double total = 0;
  for (const double r : rates) total += r;
  static std::atomic<float> keep{0};  // the accumulators' values are used, so the loops stay
  keep = keep + sinks[0];
  return total;
}

}  // namespace ploutos::bench
