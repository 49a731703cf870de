// Benchmark entry point: the same BLAS kernel check and allocator tuning as the ploutos binary, then
// Google Benchmark.
#include <benchmark/benchmark.h>

#include "ploutos/core/allocator.hpp"
#include "ploutos/rl/runtime.hpp"

int main(int argc, char** argv) {
  ploutos::rl::ensure_fast_blas_kernels(argv);
  ploutos::tune_allocator_for_numeric_work();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
