// The kernels of mlp_kernels.hpp for one instruction set: this file is compiled once per variant
// with PLOUTOS_KERNEL_VARIANT naming the namespace (and -mavx2 -mfma for the avx2 one); the loops
// are plain C++ that the compiler vectorises for that instruction set. mlp_kernels.cpp dispatches.
// Compiled with -ffp-contract=off: no multiply-add is fused behind the code's back, so every
// variant rounds the same way.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "mlp_kernels.hpp"

#ifndef PLOUTOS_KERNEL_VARIANT
#error "PLOUTOS_KERNEL_VARIANT must name the variant"
#endif

namespace ploutos::rl::kernels::PLOUTOS_KERNEL_VARIANT {

constexpr float kLeakySlope = 0.01f;

// e^y - 1 for y in [0, 18], accurate relative to the result also near 0: y = n ln2 + r with
// |r| <= ln2 / 2 (Cody-Waite split of ln2), e^r - 1 = r + r^2 (1/2 + r/6 + ... + r^5/5040) (error
// below 1e-8 relative), then e^y - 1 = 2^n (e^r - 1) + (2^n - 1) with 2^n built in the exponent
// bits. Multiply-adds are explicit std::fma (one rounding each on every instruction set: the
// variants compute the same bits).
inline float expm1_nonnegative(float y) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const float n = (y * kLog2e + kRound) - kRound;
  const float r = std::fma(-n, kLn2Lo, std::fma(-n, kLn2Hi, y));
  float p = 1.0f / 5040.0f;
  p = std::fma(p, r, 1.0f / 720.0f);
  p = std::fma(p, r, 1.0f / 120.0f);
  p = std::fma(p, r, 1.0f / 24.0f);
  p = std::fma(p, r, 1.0f / 6.0f);
  p = std::fma(p, r, 0.5f);
  const float em1_r = std::fma(r * r, p, r);
  const float scale = std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23);
  return std::fma(scale, em1_r, scale - 1.0f);
}

// tanh |x| = (e^2|x| - 1) / (e^2|x| + 1), saturated past |x| = 9 where tanh rounds to 1 in float;
// within a few float ulp. Branch-free, so the vector loop and its scalar remainder compute the same
// bits for the same input: a value's activation never depends on where in memory it sits.
inline float tanh_approx(float x) {
  const float e = expm1_nonnegative(2.0f * std::min(std::fabs(x), 9.0f));
  return std::copysign(e / (e + 2.0f), x);
}

void bias_activation(float* h, const float* bias, std::int64_t rows, std::int64_t cols, Activation act) {
  thread_local std::vector<float> zeros;
  if (bias == nullptr) {
    zeros.assign(static_cast<std::size_t>(cols), 0.0f);
    bias = zeros.data();
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = h + r * cols;
    switch (act) {
      case Activation::kTanh:
        for (std::int64_t c = 0; c < cols; ++c) row[c] = tanh_approx(row[c] + bias[c]);
        break;
      case Activation::kRelu:
        for (std::int64_t c = 0; c < cols; ++c) row[c] = std::max(row[c] + bias[c], 0.0f);
        break;
      case Activation::kLeakyRelu:
        for (std::int64_t c = 0; c < cols; ++c) {
          const float z = row[c] + bias[c];
          row[c] = z > 0.0f ? z : z * kLeakySlope;
        }
        break;
      case Activation::kElu:  // rarely configured: the library's expm1, element by element
        for (std::int64_t c = 0; c < cols; ++c) {
          const float z = row[c] + bias[c];
          row[c] = z > 0.0f ? z : std::expm1(z);
        }
        break;
    }
  }
}

// One row: g *= act'(from h), and the new g added into block (the bias gradient's partial sums).
template <Activation A>
inline void backward_row(float* g, const float* h, float* block, std::int64_t cols) {
  for (std::int64_t c = 0; c < cols; ++c) {
    float d = g[c];
    if constexpr (A == Activation::kTanh) d *= 1.0f - h[c] * h[c];
    if constexpr (A == Activation::kRelu) d = h[c] > 0.0f ? d : 0.0f;
    if constexpr (A == Activation::kLeakyRelu) d = h[c] > 0.0f ? d : d * kLeakySlope;
    if constexpr (A == Activation::kElu) d = h[c] > 0.0f ? d : d * (h[c] + 1.0f);  // z <= 0: exp(z) = h + 1
    g[c] = d;
    block[c] += d;
  }
}

template <Activation A>
void backward_rows(float* g, const float* h, std::int64_t rows, std::int64_t cols, float* bias_grad) {
  // The bias gradient sums a column over thousands of rows: float partial sums over blocks of 32
  // rows (one pass with the derivative, in L1), the blocks added in double.
  constexpr std::int64_t kBlock = 32;
  thread_local std::vector<float> block;
  thread_local std::vector<double> total;
  block.resize(static_cast<std::size_t>(cols));
  total.assign(static_cast<std::size_t>(cols), 0.0);
  for (std::int64_t first = 0; first < rows; first += kBlock) {
    std::fill(block.begin(), block.end(), 0.0f);
    const std::int64_t last = std::min(rows, first + kBlock);
    for (std::int64_t r = first; r < last; ++r) backward_row<A>(g + r * cols, h + r * cols, block.data(), cols);
    for (std::int64_t c = 0; c < cols; ++c) total[static_cast<std::size_t>(c)] += block[static_cast<std::size_t>(c)];
  }
  for (std::int64_t c = 0; c < cols; ++c) bias_grad[c] = static_cast<float>(total[static_cast<std::size_t>(c)]);
}

void activation_backward(float* g, const float* h, std::int64_t rows, std::int64_t cols, Activation act,
                         float* bias_grad) {
  switch (act) {
    case Activation::kTanh:
      return backward_rows<Activation::kTanh>(g, h, rows, cols, bias_grad);
    case Activation::kRelu:
      return backward_rows<Activation::kRelu>(g, h, rows, cols, bias_grad);
    case Activation::kLeakyRelu:
      return backward_rows<Activation::kLeakyRelu>(g, h, rows, cols, bias_grad);
    case Activation::kElu:
      return backward_rows<Activation::kElu>(g, h, rows, cols, bias_grad);
  }
}

namespace {

constexpr std::int64_t kMatvecLanes = 16;

// Sixteen floats: one AVX-512 register, two AVX2 ones, four SSE ones. The arithmetic on it is
// lane by lane, so every instruction set computes the same bits.
using Lanes = float __attribute__((vector_size(kMatvecLanes * sizeof(float))));

// One row's sum from its sixteen lane sums and the columns past the last whole group of lanes.
inline float finish_row(const Lanes& lane_sums, const float* wr, const float* x, std::int64_t whole, std::int64_t cols,
                        float bias) {
  float acc[kMatvecLanes];
  std::memcpy(acc, &lane_sums, sizeof acc);
  float tail = 0.0f;
  for (std::int64_t c = whole; c < cols; ++c) tail += wr[c] * x[c];
  for (std::int64_t half = kMatvecLanes / 2; half > 0; half /= 2) {
    for (std::int64_t j = 0; j < half; ++j) acc[j] += acc[j + half];
  }
  return bias + (acc[0] + tail);
}

// kInputs input vectors times kRows weight rows from row r: kInputs x kRows sums, each in its own
// sixteen lanes. Every weight is loaded once for all the inputs and every input once for all the
// rows, and the kInputs x kRows chains of additions run side by side.
template <int kInputs, int kRows>
inline void matvec_block(const float* w, const float* bias, const float* x, std::int64_t x_stride, float* y,
                         std::int64_t y_stride, std::int64_t r, std::int64_t cols, std::int64_t whole) {
  Lanes acc[kInputs][kRows] = {};
  for (std::int64_t c = 0; c < whole; c += kMatvecLanes) {
    Lanes wv[kRows];
#pragma GCC unroll 8
    for (int k = 0; k < kRows; ++k) std::memcpy(&wv[k], w + (r + k) * cols + c, sizeof(Lanes));
#pragma GCC unroll 8
    for (int i = 0; i < kInputs; ++i) {
      Lanes xv;
      std::memcpy(&xv, x + i * x_stride + c, sizeof xv);
#pragma GCC unroll 8
      for (int k = 0; k < kRows; ++k) acc[i][k] += wv[k] * xv;
    }
  }
  for (int i = 0; i < kInputs; ++i) {
    for (int k = 0; k < kRows; ++k) {
      y[i * y_stride + r + k] = finish_row(acc[i][k], w + (r + k) * cols, x + i * x_stride, whole, cols, bias[r + k]);
    }
  }
}

// Rows [first, last) for every input: blocks of kInputs x kRows, then what is left over in
// smaller blocks. A block changes only what runs side by side, never how a sum is formed. The
// rows go in groups of kGroupRows, each group through every block of inputs in turn: a block of
// inputs stays in L1 while the group's weights (in L2 after the first block) stream past it.
template <int kInputs, int kRows>
void matvec_blocks(const float* w, const float* bias, const float* x, std::int64_t inputs, float* y,
                   std::int64_t y_stride, std::int64_t first, std::int64_t last, std::int64_t cols) {
  constexpr std::int64_t kGroupRows = 16 * kRows;
  const std::int64_t whole = cols - cols % kMatvecLanes;
  auto block_of_inputs = [&]<int kBlockInputs>(std::int64_t i, std::int64_t group_first, std::int64_t group_last) {
    const float* xi = x + i * cols;
    float* yi = y + i * y_stride;
    std::int64_t r = group_first;
    for (; r + kRows <= group_last; r += kRows)
      matvec_block<kBlockInputs, kRows>(w, bias, xi, cols, yi, y_stride, r, cols, whole);
    for (; r < group_last; ++r) matvec_block<kBlockInputs, 1>(w, bias, xi, cols, yi, y_stride, r, cols, whole);
  };
  for (std::int64_t group = first; group < last; group += kGroupRows) {
    const std::int64_t group_last = std::min(last, group + kGroupRows);
    std::int64_t i = 0;
    for (; i + kInputs <= inputs; i += kInputs) block_of_inputs.template operator()<kInputs>(i, group, group_last);
    for (; i < inputs; ++i) block_of_inputs.template operator()<1>(i, group, group_last);
  }
}

}  // namespace

void matvec_rows_batch(const float* w, const float* bias, const float* x, std::int64_t inputs, float* y,
                       std::int64_t y_stride, std::int64_t first, std::int64_t last, std::int64_t cols) {
  // Each sum runs in sixteen lanes, lane j taking the columns j, j + 16, ...; the order of
  // additions is fixed by the code, not by the compiler, the block or the thread split. One input
  // alone (a decision): four rows side by side, because one row's chain of dependent additions,
  // not memory, would bound a row alone. Several (a rollout step): as many inputs and rows side by
  // side as the variant has registers for.
#if defined(__AVX512F__)
  constexpr int kBatchInputs = 4, kBatchRows = 4;  // 16 of the 32 registers hold sums
#elif defined(__AVX2__)
  constexpr int kBatchInputs = 2, kBatchRows = 2;  // 8 of the 16 registers hold sums
#else
  constexpr int kBatchInputs = 1, kBatchRows = 4;
#endif
  if (inputs == 1) return matvec_blocks<1, 4>(w, bias, x, inputs, y, y_stride, first, last, cols);
  matvec_blocks<kBatchInputs, kBatchRows>(w, bias, x, inputs, y, y_stride, first, last, cols);
}

float quantize_int16(const float* x, std::int64_t n, std::int64_t padded, std::int16_t* q, std::int32_t limit) {
  float largest = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) largest = std::max(largest, std::fabs(x[i]));
  std::fill(q + n, q + padded, std::int16_t{0});
  if (largest == 0.0f) {
    std::fill(q, q + n, std::int16_t{0});
    return 0.0f;
  }
  const auto bound = static_cast<float>(limit);
  const float inverse = bound / largest;
  for (std::int64_t i = 0; i < n; ++i) {
    // Round to nearest even (the default mode), then clamp: x * inverse may round past the limit.
    // A NaN (which the max above skips) becomes 0 rather than an undefined conversion.
    const float r = std::nearbyint(x[i] * inverse);
    q[i] = r == r ? static_cast<std::int16_t>(std::clamp(r, -bound, bound)) : std::int16_t{0};
  }
  return largest / bound;
}

// The exact int32 sum of w[c] * q[c] over one row.
inline std::int32_t dot_int8_int16(const std::int8_t* w, const std::int16_t* q, std::int64_t padded_cols) {
#if defined(__AVX512BW__)
  // Four accumulators, so the adds do not wait on each other; madd sums pairs of products.
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  const auto product = [&](std::int64_t c) {
    const __m512i wide = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c)));
    return _mm512_madd_epi16(wide, _mm512_loadu_si512(q + c));
  };
  std::int64_t c = 0;
  for (; c + 4 * kInt8ColumnAlign <= padded_cols; c += 4 * kInt8ColumnAlign) {
    a0 = _mm512_add_epi32(a0, product(c));
    a1 = _mm512_add_epi32(a1, product(c + kInt8ColumnAlign));
    a2 = _mm512_add_epi32(a2, product(c + 2 * kInt8ColumnAlign));
    a3 = _mm512_add_epi32(a3, product(c + 3 * kInt8ColumnAlign));
  }
  for (; c < padded_cols; c += kInt8ColumnAlign) a0 = _mm512_add_epi32(a0, product(c));
  alignas(64) std::int32_t lanes[16];
  _mm512_store_si512(lanes, _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)));
  std::int32_t sum = 0;
  for (const std::int32_t lane : lanes) sum += lane;
  return sum;
#else
  std::int32_t sum = 0;
  for (std::int64_t c = 0; c < padded_cols; ++c) sum += static_cast<std::int32_t>(w[c]) * q[c];
  return sum;
#endif
}

void matvec_rows_int8(const std::int8_t* w, const float* row_scale, const float* bias, const std::int16_t* q,
                      float q_scale, float* y, std::int64_t first, std::int64_t last, std::int64_t padded_cols) {
  for (std::int64_t r = first; r < last; ++r) {
    const std::int32_t sum = dot_int8_int16(w + r * padded_cols, q, padded_cols);
    y[r] = bias[r] + (row_scale[r] * q_scale) * static_cast<float>(sum);
  }
}

double sum_squares(const float* g, std::int64_t first, std::int64_t last) {
  constexpr std::int64_t kLanes = 8;
  double acc[kLanes] = {};
  std::int64_t i = first;
  for (; i + kLanes <= last; i += kLanes) {
    for (std::int64_t j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(g[i + j]) * g[i + j];
  }
  double total = 0;
  for (; i < last; ++i) total += static_cast<double>(g[i]) * g[i];
  for (const double a : acc) total += a;
  return total;
}

void add_into(float* d, const float* s, std::int64_t first, std::int64_t last) {
  for (std::int64_t i = first; i < last; ++i) d[i] += s[i];
}

void adam_update(float* p, const float* g, float* m, float* v, std::int64_t first, std::int64_t last,
                 const AdamStep& st) {
  const float one_minus_b1 = 1.0f - st.beta1, one_minus_b2 = 1.0f - st.beta2;
  for (std::int64_t i = first; i < last; ++i) {
    const float gi = g[i] * st.grad_scale;
    const float mi = m[i] * st.beta1 + gi * one_minus_b1;
    const float vi = v[i] * st.beta2 + one_minus_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] += -st.step_size * (mi / (std::sqrt(vi) / st.sqrt_bias_correction2 + st.eps));
  }
}

}  // namespace ploutos::rl::kernels::PLOUTOS_KERNEL_VARIANT
