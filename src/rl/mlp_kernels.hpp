#pragma once
// Element-wise and matrix-vector kernels of the hand-differentiated MLPs (actor_critic.cpp): bias and
// activation after a GEMM, the activation's derivative before the backward GEMMs, and the one-row
// forward pass of a decision. Torch-free. Compiled three times, for AVX-512, AVX2+FMA and baseline
// x86-64; the first call picks the best variant the CPU runs (docs/training.md, "Speed"). All
// three compute the same bits.
#include <cstdint>
#include <string>

namespace ploutos::rl::kernels {

enum class Activation { kTanh, kRelu, kElu, kLeakyRelu };

// ppo.activation: tanh (default), relu, elu, leaky_relu (LibTorch's defaults: alpha 1, slope 0.01).
Activation parse_activation(const std::string& name);

// h[r][c] = act(h[r][c] + bias[c]) over a row-major rows x cols block (no bias when it is null).
void bias_activation(float* h, const float* bias, std::int64_t rows, std::int64_t cols, Activation act);

// g[r][c] *= act'(z[r][c]), the derivative taken from the activation's output h = act(z); then
// bias_grad[c] = sum over r of the new g[r][c] (float within blocks of 32 rows, double across).
void activation_backward(float* g, const float* h, std::int64_t rows, std::int64_t cols, Activation act,
                         float* bias_grad);

// y[i * y_stride + r] = bias[r] + dot(w[r], x[i]) for the inputs i in [0, inputs) (x[i] starts at
// x + i * cols) and the rows r in [first, last) of a row-major weight matrix [* x cols]: several
// matrix-vector products that share the matrix, each weight loaded once for all of them. Each sum
// is formed the same way whichever rows and inputs a call covers, so neither the thread split nor
// the batch changes a bit: a row of a batch has the bits it has alone.
void matvec_rows_batch(const float* w, const float* bias, const float* x, std::int64_t inputs, float* y,
                       std::int64_t y_stride, std::int64_t first, std::int64_t last, std::int64_t cols);
// One input vector: y[r] = bias[r] + dot(w[r], x) for r in [first, last).
inline void matvec_rows(const float* w, const float* bias, const float* x, float* y, std::int64_t first,
                        std::int64_t last, std::int64_t cols) {
  matvec_rows_batch(w, bias, x, 1, y, 0, first, last, cols);
}

// Eight-bit decisions (ppo.cpp, DecisionPrecision::kInt8): weights as int8 with one scale per
// output row, the input vector as int16 with one scale for the vector. The products are summed
// exactly in int32, so every variant and every row split computes the same bits. A row holds
// `padded_cols` weights, a multiple of kInt8ColumnAlign, zero past the layer's input width.
constexpr std::int64_t kInt8ColumnAlign = 32;
// The largest |q| for which padded_cols products of |w| <= 127 and |q| cannot overflow int32.
std::int32_t int16_activation_limit(std::int64_t padded_cols);
// q[i] = round(x[i] / scale) for i < n, zero for n <= i < padded; returns scale = max|x| / limit
// (0 when x is all zeros).
float quantize_int16(const float* x, std::int64_t n, std::int64_t padded, std::int16_t* q, std::int32_t limit);
// y[r] = bias[r] + (row_scale[r] * q_scale) * sum over c of w[r][c] q[c], for rows r in [first, last).
void matvec_rows_int8(const std::int8_t* w, const float* row_scale, const float* bias, const std::int16_t* q,
                      float q_scale, float* y, std::int64_t first, std::int64_t last, std::int64_t padded_cols);

// Optimiser passes over [first, last) of a parameter's flat buffers.
// Sum of squares (double), for the global gradient norm.
double sum_squares(const float* g, std::int64_t first, std::int64_t last);
// d[i] += s[i]: one part's gradient into the total.
void add_into(float* d, const float* s, std::int64_t first, std::int64_t last);
// LibTorch's Adam step (no weight decay, no amsgrad) with the gradient scaled by `grad_scale`
// (gradient clipping) on the way in: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= step_size m / (sqrt(v) / sqrt_bias_correction2 + eps).
struct AdamStep {
  float grad_scale, beta1, beta2, step_size, sqrt_bias_correction2, eps;
};
void adam_update(float* p, const float* g, float* m, float* v, std::int64_t first, std::int64_t last,
                 const AdamStep& step);

// Which variant runs: "avx512", "avx2" or "generic".
const char* variant();
// Switches to a variant (tests: every variant computes the same bits); false when the CPU lacks it.
bool use_variant(const std::string& name);

}  // namespace ploutos::rl::kernels
