#pragma once
// What LibTorch runs on. This header stays free of torch includes; only src/rl/*.cpp include them.
#include <string>

namespace ploutos::rl {

struct TorchRuntime {
  std::string torch_version;  // e.g. 1.13.1
  int threads = 0;            // intra-op threads
  std::string blas_library;   // resolved path of the BLAS actually loaded (libblas.so.3 target)
  bool blas_is_openblas = false;
};

TorchRuntime torch_runtime();
// 0 keeps LibTorch's default (all cores).
void set_torch_threads(int threads);
// Multiplies two random n x n float matrices `repeats` times and returns GFLOP/s (a BLAS health check).
double torch_matmul_gflops(int n, int repeats);

}  // namespace ploutos::rl
