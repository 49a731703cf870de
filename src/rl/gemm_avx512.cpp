// gemm.hpp's kernel for AVX-512 (this file alone is compiled with -mavx512f and friends; gemm.cpp
// calls it only on a CPU that has them). Blocked as BLIS and OpenBLAS block a GEMM: B is packed
// into panels of kNr columns and A into panels of kMr rows, each panel laid out in the order the
// micro-kernel reads it, and a kMr x kNr tile of C is held in 24 registers while it sums over the
// panels' depth. Unlike them, the depth is blocked only past kMaxDepth (2,048): every product of
// the update but the weight gradients' (depth = the minibatch's rows) runs in one pass, so C is
// written once, never read back, and finished rows can be handed on while in cache.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "gemm.hpp"

namespace ploutos::rl::gemm::avx512 {
namespace {

#ifndef PLOUTOS_GEMM_MR
#define PLOUTOS_GEMM_MR 12
#endif
constexpr std::int64_t kMr = PLOUTOS_GEMM_MR;  // rows of a C tile: one broadcast each per step of depth
constexpr std::int64_t kNr = 32;               // columns of a C tile: two 16-float registers
#ifndef PLOUTOS_GEMM_MAX_DEPTH
#define PLOUTOS_GEMM_MAX_DEPTH 2048
#endif
#ifndef PLOUTOS_GEMM_A_KB
#define PLOUTOS_GEMM_A_KB 192
#endif
constexpr std::int64_t kMaxDepth = PLOUTOS_GEMM_MAX_DEPTH;
// A's packed block stays in L2 beside one panel of B (at most 2,048 x 32 floats, 256 KB).
constexpr std::int64_t kPackedABytes = PLOUTOS_GEMM_A_KB * 1024;

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// A thread's packing buffer, grown on demand, 64-byte aligned.
class PackBuffer {
 public:
  float* get(std::int64_t floats) {
    if (floats > size_) {
      const auto bytes = static_cast<std::size_t>((floats * 4 + 63) / 64 * 64);
      data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      size_ = floats;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<float, FreeDeleter> data_;
  std::int64_t size_ = 0;
};

// Panels of kMr rows of A[rows x depth] from (row0, k0): panel p holds, for each step k of depth,
// its kMr rows' values side by side (zeros past the last row).
void pack_a(const Operand& a, std::int64_t row0, std::int64_t rows, std::int64_t k0, std::int64_t depth, float* dst) {
  for (std::int64_t ir = 0; ir < rows; ir += kMr) {
    float* panel = dst + ir * depth;
    const std::int64_t valid = std::min(kMr, rows - ir);
    const float* src[kMr];
    for (std::int64_t i = 0; i < kMr; ++i)
      src[i] = a.data + (row0 + ir + std::min(i, valid - 1)) * a.row_stride + k0 * a.col_stride;
    if (a.col_stride == 1) {
      for (std::int64_t k = 0; k < depth; ++k) {
        for (std::int64_t i = 0; i < kMr; ++i) panel[k * kMr + i] = i < valid ? src[i][k] : 0.0f;
      }
    } else {
      for (std::int64_t k = 0; k < depth; ++k) {
        for (std::int64_t i = 0; i < kMr; ++i) panel[k * kMr + i] = i < valid ? src[i][k * a.col_stride] : 0.0f;
      }
    }
  }
}

// Panels of kNr columns of B[depth x cols] from row k0: panel p holds, for each step k, its kNr
// columns side by side (zeros past the last column).
void pack_b(const Operand& b, std::int64_t k0, std::int64_t depth, std::int64_t cols, float* dst) {
  for (std::int64_t jr = 0; jr < cols; jr += kNr) {
    float* panel = dst + jr * depth;
    const std::int64_t valid = std::min(kNr, cols - jr);
    if (b.col_stride == 1) {
      for (std::int64_t k = 0; k < depth; ++k) {
        const float* src = b.data + (k0 + k) * b.row_stride + jr;
        float* out = panel + k * kNr;
        std::int64_t j = 0;
        for (; j < valid; ++j) out[j] = src[j];
        for (; j < kNr; ++j) out[j] = 0.0f;
      }
    } else {
      // A transposed weight: column j is a contiguous row of the weight matrix when row_stride is 1.
      for (std::int64_t j = 0; j < kNr; ++j) {
        if (j >= valid) {
          for (std::int64_t k = 0; k < depth; ++k) panel[k * kNr + j] = 0.0f;
          continue;
        }
        const float* src = b.data + (jr + j) * b.col_stride + k0 * b.row_stride;
        for (std::int64_t k = 0; k < depth; ++k) panel[k * kNr + j] = src[k * b.row_stride];
      }
    }
  }
}

// C tile [rows x cols] (at most kMr x kNr) = (or +=) the packed panels' product over `depth`.
inline void tile(std::int64_t depth, const float* __restrict ap, const float* __restrict bp, float* c, std::int64_t ldc,
                 bool accumulate, std::int64_t rows, std::int64_t cols) {
  __m512 acc[kMr][2];
  for (std::int64_t i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (std::int64_t k = 0; k < depth; ++k) {
    const __m512 b0 = _mm512_load_ps(bp + k * kNr);
    const __m512 b1 = _mm512_load_ps(bp + k * kNr + 16);
    _mm_prefetch(reinterpret_cast<const char*>(ap + (k + 8) * kMr), _MM_HINT_T0);
#pragma GCC unroll 16
    for (std::int64_t i = 0; i < kMr; ++i) {
      const __m512 av = _mm512_set1_ps(ap[k * kMr + i]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
  }
  const auto lanes = [](std::int64_t n) {
    return static_cast<__mmask16>(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1u);
  };
  const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
#pragma GCC unroll 16
  for (std::int64_t i = 0; i < kMr; ++i) {
    if (i >= rows) break;
    float* row = c + i * ldc;
    __m512 v0 = acc[i][0], v1 = acc[i][1];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
    }
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

}  // namespace

void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const Operand& a, const Operand& b, float* c,
              std::int64_t ldc, const RowsDone& rows_done) {
  thread_local PackBuffer a_buffer, b_buffer;
  const std::int64_t n_padded = (n + kNr - 1) / kNr * kNr;
  const std::int64_t blocks = std::max<std::int64_t>(1, (k + kMaxDepth - 1) / kMaxDepth);
  if (k == 0) {
    for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    if (rows_done) rows_done(0, m);
    return;
  }
  for (std::int64_t block = 0; block < blocks; ++block) {
    const std::int64_t k0 = k * block / blocks, depth = k * (block + 1) / blocks - k0;
    const bool last = block + 1 == blocks;
    float* bp = b_buffer.get(n_padded * depth);
    pack_b(b, k0, depth, n, bp);
    const std::int64_t block_rows = std::max<std::int64_t>(kMr, kPackedABytes / 4 / depth / kMr * kMr);
    float* ap = a_buffer.get(block_rows * depth);
    for (std::int64_t ic = 0; ic < m; ic += block_rows) {
      const std::int64_t rows = std::min(block_rows, m - ic);
      pack_a(a, ic, rows, k0, depth, ap);
      for (std::int64_t jr = 0; jr < n; jr += kNr) {
        for (std::int64_t ir = 0; ir < rows; ir += kMr) {
          tile(depth, ap + ir * depth, bp + jr * depth, c + (ic + ir) * ldc + jr, ldc, block > 0,
               std::min(kMr, rows - ir), std::min(kNr, n - jr));
        }
      }
      if (last && rows_done) rows_done(ic, rows);
    }
  }
}

}  // namespace ploutos::rl::gemm::avx512
