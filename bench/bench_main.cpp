// Benchmark entry point: the same allocator tuning as the ploutos binary, then Google Benchmark.
#include <benchmark/benchmark.h>

#include "ploutos/core/allocator.hpp"

int main(int argc, char** argv) {
  ploutos::tune_allocator_for_numeric_work();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
