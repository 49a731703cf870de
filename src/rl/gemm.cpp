#include "gemm.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ploutos/core/error.hpp"

namespace ploutos::rl::gemm {

namespace avx512 {
void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const Operand& a, const Operand& b, float* c,
              std::int64_t ldc, const RowsDone& rows_done);
}

namespace {

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
}

// PLOUTOS_GEMM=blas keeps the update on LibTorch's BLAS (an A/B switch; `own` or unset: the kernel
// where the CPU has AVX-512).
bool enabled_by_default() {
  const char* choice = std::getenv("PLOUTOS_GEMM");
  if (choice != nullptr && std::string(choice) == "blas") return false;
  return cpu_has_avx512();
}

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{enabled_by_default()};
  return flag;
}

}  // namespace

bool available() {
  static const bool has = cpu_has_avx512();
  return has;
}

bool enabled() {
  return enabled_flag().load(std::memory_order_relaxed);
}

void set_enabled(bool on) {
  enabled_flag().store(on && available(), std::memory_order_relaxed);
}

void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const Operand& a, const Operand& b, float* c,
              std::int64_t ldc, const RowsDone& rows_done) {
  if (!available()) throw Error("gemm::multiply: this CPU lacks AVX-512 (use LibTorch's BLAS)");
  avx512::multiply(m, n, k, a, b, c, ldc, rows_done);
}

double gflops(std::int64_t m, std::int64_t n, std::int64_t k, int threads, int repeats) {
  if (!available()) return 0;
  threads = std::max(1, threads);
  std::vector<float> a(static_cast<std::size_t>(m * k)), w(static_cast<std::size_t>(n * k)),
      c(static_cast<std::size_t>(m * n));
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 97) * 0.01f - 0.5f;
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 89) * 0.01f - 0.4f;
  // Threads that live through the warm-up and every repeat (their packing buffers are thread-local),
  // lined up by a barrier before and after each repeat.
  std::barrier sync(threads);
  std::vector<double> seconds(static_cast<std::size_t>(repeats));
  auto worker = [&](int t) {
    const std::int64_t first = m * t / threads, rows = m * (t + 1) / threads - first;
    for (int r = -1; r < repeats; ++r) {  // r = -1: warm-up (buffers allocated, pages touched)
      sync.arrive_and_wait();
      const auto start = std::chrono::steady_clock::now();
      multiply(rows, n, k, {a.data() + first * k, k, 1}, {w.data(), 1, k}, c.data() + first * n, n);
      sync.arrive_and_wait();
      if (t == 0 && r >= 0)
        seconds[static_cast<std::size_t>(r)] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  };
  std::vector<std::thread> others;
  for (int t = 1; t < threads; ++t) others.emplace_back(worker, t);
  worker(0);
  for (auto& t : others) t.join();
  double best = 0;
  for (const double s : seconds)
    best = std::max(best, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / s / 1e9);
  return best;
}

}  // namespace ploutos::rl::gemm
