#include <gtest/gtest.h>

#include <cstdlib>

#include "ploutos/rl/runtime.hpp"

TEST(TorchRuntime, ReportsVersionThreadsAndComputes) {
  const auto info = ploutos::rl::torch_runtime();
  EXPECT_EQ(info.torch_version.rfind("1.", 0), 0u) << info.torch_version;
  EXPECT_GE(info.threads, 1);
  EXPECT_GT(ploutos::rl::torch_matmul_gflops(64, 4), 0.0);
}

// Debian 12's OpenBLAS falls back to SSE3 kernels on CPUs it does not know; main() of every program
// re-executes with OPENBLAS_CORETYPE so GEMM runs on the AVX2/AVX-512 kernels the CPU has.
TEST(TorchRuntime, OpenBlasRunsKernelsThatUseTheCpusVectorUnits) {
  const auto info = ploutos::rl::torch_runtime();
  if (info.blas_kernels.empty()) GTEST_SKIP() << "the loaded BLAS is not OpenBLAS";
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr && !info.blas_kernels_overridden) {
    GTEST_SKIP() << "OPENBLAS_CORETYPE set by the user: " << std::getenv("OPENBLAS_CORETYPE");
  }
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "CPU without AVX2/FMA";
  for (const char* slow : {"Prescott", "Core2", "Penryn", "Nehalem", "Sandybridge", "Atom", "Barcelona"}) {
    EXPECT_NE(info.blas_kernels, slow) << "OpenBLAS runs its " << slow << " kernels on a CPU with AVX2";
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && info.blas_kernels_overridden) {
    EXPECT_EQ(info.blas_kernels, "SkylakeX");
  }
}

// The benchmarks' yardsticks: the median repeat of the fastest shape can be no faster than its best.
TEST(TorchRuntime, MachineGemmRateGivesTheBestRepeatAndTheMedianBelowIt) {
  const auto rate = ploutos::rl::machine_gemm_rate();
  EXPECT_GT(rate.median, 0.0);
  EXPECT_LE(rate.median, rate.best);
}
