// The kernels of mlp_kernels.hpp for one instruction set: this file is compiled once per variant
// with PLOUTOS_KERNEL_VARIANT naming the namespace (and -mavx2 -mfma for the avx2 one); the loops
// are plain C++ that the compiler vectorises for that instruction set. mlp_kernels.cpp dispatches.
// Compiled with -ffp-contract=off: no multiply-add is fused behind the code's back, so every
// variant rounds the same way.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mlp_kernels.hpp"

#ifndef PLOUTOS_KERNEL_VARIANT
#error "PLOUTOS_KERNEL_VARIANT must name the variant"
#endif

namespace ploutos::rl::kernels::PLOUTOS_KERNEL_VARIANT {

constexpr float kLeakySlope = 0.01f;

// e^y for y in [0, 18]: y = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite split of ln2), e^r by its
// Taylor series to r^7 (error below 1e-8 relative), times 2^n built in the exponent bits.
// Multiply-adds are explicit std::fma (one rounding each on every instruction set: the variants
// compute the same bits).
inline float exp_nonnegative(float y) {
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
  p = std::fma(p, r, 1.0f);
  p = std::fma(p, r, 1.0f);
  const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// tanh to about 1e-7 absolute: an odd Taylor polynomial (to x^15) below |x| = 0.55, else
// 1 - 2 / (e^2|x| + 1); saturated past |x| = 9, where tanh rounds to 1 in float. Branch-free, so
// the vector loop and its scalar remainder compute the same bits for the same input: a value's
// activation never depends on where in memory it sits.
inline float tanh_approx(float x) {
  const float a = std::min(std::fabs(x), 9.0f);
  const float a2 = a * a;
  float p = -929569.0f / 638512875.0f;
  p = std::fma(p, a2, 21844.0f / 6081075.0f);
  p = std::fma(p, a2, -1382.0f / 155925.0f);
  p = std::fma(p, a2, 62.0f / 2835.0f);
  p = std::fma(p, a2, -17.0f / 315.0f);
  p = std::fma(p, a2, 2.0f / 15.0f);
  p = std::fma(p, a2, -1.0f / 3.0f);
  const float small = std::fma(a, a2 * p, a);
  const float large = 1.0f - 2.0f / (exp_nonnegative(2.0f * a) + 1.0f);
  return std::copysign(a < 0.55f ? small : large, x);
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

void activation_backward(float* g, const float* h, std::int64_t rows, std::int64_t cols, Activation act,
                         float* bias_grad) {
  thread_local std::vector<double> sums;
  sums.assign(static_cast<std::size_t>(cols), 0.0);
  double* s = sums.data();
  for (std::int64_t r = 0; r < rows; ++r) {
    float* gr = g + r * cols;
    const float* hr = h + r * cols;
    switch (act) {
      case Activation::kTanh:
        for (std::int64_t c = 0; c < cols; ++c) gr[c] *= 1.0f - hr[c] * hr[c];
        break;
      case Activation::kRelu:
        for (std::int64_t c = 0; c < cols; ++c) gr[c] = hr[c] > 0.0f ? gr[c] : 0.0f;
        break;
      case Activation::kLeakyRelu:
        for (std::int64_t c = 0; c < cols; ++c) gr[c] = hr[c] > 0.0f ? gr[c] : gr[c] * kLeakySlope;
        break;
      case Activation::kElu:  // z <= 0: d/dz (exp(z) - 1) = exp(z) = h + 1
        for (std::int64_t c = 0; c < cols; ++c) gr[c] = hr[c] > 0.0f ? gr[c] : gr[c] * (hr[c] + 1.0f);
        break;
    }
    for (std::int64_t c = 0; c < cols; ++c) s[c] += gr[c];
  }
  for (std::int64_t c = 0; c < cols; ++c) bias_grad[c] = static_cast<float>(s[c]);
}

void matvec_rows(const float* w, const float* bias, const float* x, float* y, std::int64_t first, std::int64_t last,
                 std::int64_t cols) {
  // Sixteen independent partial sums a row: the compiler keeps them in vector registers, and the
  // order of additions is fixed by the code, not by the compiler or the thread split.
  constexpr std::int64_t kLanes = 16;
  const std::int64_t whole = cols - cols % kLanes;
  for (std::int64_t r = first; r < last; ++r) {
    const float* wr = w + r * cols;
    float acc[kLanes] = {};
    for (std::int64_t c = 0; c < whole; c += kLanes) {
      for (std::int64_t j = 0; j < kLanes; ++j) acc[j] += wr[c + j] * x[c + j];
    }
    float tail = 0.0f;
    for (std::int64_t c = whole; c < cols; ++c) tail += wr[c] * x[c];
    for (std::int64_t half = kLanes / 2; half > 0; half /= 2) {
      for (std::int64_t j = 0; j < half; ++j) acc[j] += acc[j + half];
    }
    y[r] = bias[r] + (acc[0] + tail);
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
