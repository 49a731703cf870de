#pragma once
// The update's matrix products on one thread (actor_critic.cpp): C = A B with A and B read through
// strides, so a transposed weight or gradient is never copied. On a CPU with AVX-512 the products
// run on Ploutos's own blocked kernel (gemm_avx512.cpp), which packs a whole layer's inputs (K up
// to kMaxDepth) in one pass, so C is written once and a block of finished rows can be handed, still
// in the core's cache, to a follow-up pass (bias + activation, the activation's derivative). Other
// CPUs get LibTorch's BLAS (actor_critic.cpp falls back when available() is false). Torch-free.
// docs/training.md, "Our own GEMM", says why and what it measured.
#include <cstdint>
#include <functional>

namespace ploutos::rl::gemm {

// Element (i, j) of a matrix is data[i * row_stride + j * col_stride].
struct Operand {
  const float* data = nullptr;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 0;
};

// Called with [first, first + rows) once those rows of C are final, while they are in cache.
using RowsDone = std::function<void(std::int64_t first, std::int64_t rows)>;

// Whether this CPU runs the kernel (AVX-512 F/DQ/VL/BW), and whether the update uses it
// (set_enabled(false) forces LibTorch's BLAS, for benchmarks and tests; enabled by default where
// available).
bool available();
bool enabled();
void set_enabled(bool on);

// C[m x n] (row-major, leading dimension ldc) = A[m x k] B[k x n]; `rows_done` (when set) sees
// every block of C's rows once it is final. Requires available(). The sums are formed in an
// order fixed by the shapes alone: the same inputs give the same bits on every call.
void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const Operand& a, const Operand& b, float* c,
              std::int64_t ldc, const RowsDone& rows_done = {});

// GFLOP/s of this kernel on C[m x n] = A[m x k] B[k x n] (B as a transposed weight, as in the
// forward pass) split by rows over `threads` threads, the best of `repeats` after a warm-up.
double gflops(std::int64_t m, std::int64_t n, std::int64_t k, int threads, int repeats);

}  // namespace ploutos::rl::gemm
