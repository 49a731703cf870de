#pragma once
// What LibTorch runs on. This header stays free of torch includes; only src/rl/*.cpp include them.
#include <string>

namespace ploutos::rl {

struct TorchRuntime {
  std::string torch_version;  // e.g. 1.13.1
  int threads = 0;            // intra-op threads
  std::string blas_library;   // resolved path of the BLAS actually loaded (libblas.so.3 target)
  bool blas_is_openblas = false;
  std::string blas_kernels;  // OpenBLAS's kernel family (SkylakeX, Haswell, Prescott, ...); empty if not OpenBLAS
  bool blas_kernels_overridden = false;  // chosen by ensure_fast_blas_kernels, not by OpenBLAS's own detection
  // Non-empty when the environment's OPENBLAS_CORETYPE holds OpenBLAS to narrower vector units than
  // the CPU has (Haswell's 256-bit kernels on an AVX-512 CPU): what it costs and what to do.
  std::string blas_kernels_warning;
};

TorchRuntime torch_runtime();

// OpenBLAS picks its kernels when it loads, from the CPU model. Debian 12's OpenBLAS 0.3.21 does not
// know recent models (Emerald Rapids among them) and falls back to its SSE3 "Prescott" kernels: five
// times slower float GEMM on a machine with AVX-512. When the loaded OpenBLAS runs a kernel family
// without AVX2 on a CPU that has AVX2 and FMA, this sets OPENBLAS_CORETYPE (SkylakeX with AVX-512,
// else Haswell) and re-executes the program once with the same arguments. A user's own
// OPENBLAS_CORETYPE is left alone. Called first thing in main() of every Ploutos program.
void ensure_fast_blas_kernels(char** argv);

// Logs TorchRuntime::blas_kernels_warning once a process, when there is one (every training calls it).
void warn_about_slow_blas_kernels();

// 0 keeps LibTorch's default (all cores).
void set_torch_threads(int threads);
// OpenBLAS's thread count for a scope (threads <= 0, or a BLAS that is not OpenBLAS: unchanged).
class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int threads);
  ~ScopedBlasThreads();
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int saved_;
};
// Multiplies two random n x n float matrices `repeats` times and returns GFLOP/s (a BLAS health check).
double torch_matmul_gflops(int n, int repeats);
// The machine's float32 GEMM rate as the benchmarks quote it: the best of 1024^3, 2048^3 and
// 8192 x 1024 x 1173 (the V6 update's largest product), with every BLAS thread.
double machine_gemm_gflops();
// The same measurement, also with the median repeat of the shape whose best repeat is fastest:
// on a VM whose neighbours come and go, the best repeat is the rate of a quiet moment and the
// median the rate sustained work meets (docs/training.md, "Work for a thread that waits").
struct GemmRate {
  double best = 0, median = 0;  // GFLOP/s
};
GemmRate machine_gemm_rate();

}  // namespace ploutos::rl
