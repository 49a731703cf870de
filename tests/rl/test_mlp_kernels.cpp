// The element-wise kernels of the hand-written MLP passes (src/rl/mlp_kernels.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ploutos/core/rng.hpp"
#include "rl/mlp_kernels.hpp"

using namespace ploutos::rl;

namespace {

std::vector<float> activate(std::vector<float> v, kernels::Activation act) {
  kernels::bias_activation(v.data(), nullptr, 1, static_cast<std::int64_t>(v.size()), act);
  return v;
}

std::vector<float> test_inputs() {
  std::vector<float> x;
  for (double v = -20; v <= 20; v += 0.00390625) x.push_back(static_cast<float>(v));
  for (const float tiny : {1e-30f, 1e-12f, 1e-7f, 1e-4f, 0.01f, 0.3f, 0.5499f, 0.55f, 0.5501f, 8.99f, 9.0f, 9.01f}) {
    x.push_back(tiny);
    x.push_back(-tiny);
  }
  x.push_back(0.0f);
  return x;
}

struct VariantGuard {
  std::string saved = kernels::variant();
  ~VariantGuard() { kernels::use_variant(saved); }
};

}  // namespace

TEST(MlpKernels, TanhIsWithinAFewUlpOfTheLibrary) {
  const auto x = test_inputs();
  const auto y = activate(x, kernels::Activation::kTanh);
  double worst_abs = 0, worst_rel = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double exact = std::tanh(static_cast<double>(x[i]));
    const double err = std::abs(y[i] - exact);
    worst_abs = std::max(worst_abs, err);
    if (std::abs(exact) > 1e-30) worst_rel = std::max(worst_rel, err / std::abs(exact));
    ASSERT_EQ(std::signbit(y[i]), std::signbit(x[i])) << x[i];
  }
  EXPECT_LT(worst_abs, 2.5e-7);
  EXPECT_LT(worst_rel, 5e-7);
}

TEST(MlpKernels, AValuesActivationDoesNotDependOnWhereItSitsInMemory) {
  // A vectorised loop has a scalar remainder; if the two computed differently, a value's result
  // would change with its offset (this made training runs differ before the kernels were plain C++).
  ploutos::Rng rng(4);
  std::vector<float> base(61);
  for (auto& v : base) v = static_cast<float>(3 * rng.normal());
  for (const auto act : {kernels::Activation::kTanh, kernels::Activation::kRelu, kernels::Activation::kElu,
                         kernels::Activation::kLeakyRelu}) {
    const auto reference = activate(base, act);
    for (std::size_t shift = 1; shift < 9; ++shift) {
      std::vector<float> buffer(shift, 0.0f);
      buffer.insert(buffer.end(), base.begin(), base.end());
      kernels::bias_activation(buffer.data() + shift, nullptr, 1, static_cast<std::int64_t>(base.size()), act);
      EXPECT_EQ(std::memcmp(buffer.data() + shift, reference.data(), base.size() * sizeof(float)), 0)
          << "shift " << shift;
    }
  }
}

TEST(MlpKernels, EveryVariantComputesTheSameBits) {
  VariantGuard guard;
  if (!kernels::use_variant("avx2")) GTEST_SKIP() << "CPU without AVX2/FMA";
  const bool have_avx512 = kernels::use_variant("avx512");
  const auto x = test_inputs();
  const auto cols = static_cast<std::int64_t>(x.size());
  // Seven rows: a group of four (matvec_rows takes rows four at a time) and three alone.
  std::vector<float> w(x.size() * 7), bias(7, 0.25f);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i)) * 0.01f;
  auto run = [&] {
    std::vector<float> out;
    for (const auto act : {kernels::Activation::kTanh, kernels::Activation::kElu}) {
      const auto y = activate(x, act);
      out.insert(out.end(), y.begin(), y.end());
      std::vector<float> g(x.size(), 0.5f), bias_grad(x.size());
      kernels::activation_backward(g.data(), y.data(), 1, cols, act, bias_grad.data());
      out.insert(out.end(), g.begin(), g.end());
    }
    std::vector<float> mv(7);
    kernels::matvec_rows(w.data(), bias.data(), x.data(), mv.data(), 0, 7, cols);
    out.insert(out.end(), mv.begin(), mv.end());
    // Five inputs through the seven rows (x read at three offsets): blocks of inputs and rows as
    // each variant forms them.
    std::vector<float> batch_out(5 * 7);
    kernels::matvec_rows_batch(w.data(), bias.data(), x.data(), 5, batch_out.data(), 7, 0, 7, cols / 5);
    out.insert(out.end(), batch_out.begin(), batch_out.end());
    const std::int64_t padded =
        (cols + kernels::kInt8ColumnAlign - 1) / kernels::kInt8ColumnAlign * kernels::kInt8ColumnAlign;
    std::vector<std::int16_t> q(static_cast<std::size_t>(padded));
    const float q_scale =
        kernels::quantize_int16(x.data(), cols, padded, q.data(), kernels::int16_activation_limit(padded));
    std::vector<std::int8_t> w8(static_cast<std::size_t>(3 * padded));
    for (std::size_t i = 0; i < w8.size(); ++i) w8[i] = static_cast<std::int8_t>(static_cast<int>(i * 37 % 255) - 127);
    const std::vector<float> row_scale{0.01f, 0.02f, 0.003f};
    std::vector<float> mv8(3);
    kernels::matvec_rows_int8(w8.data(), row_scale.data(), bias.data(), q.data(), q_scale, mv8.data(), 0, 3, padded);
    out.insert(out.end(), mv8.begin(), mv8.end());
    out.push_back(q_scale);
    for (const std::int16_t v : q) out.push_back(static_cast<float>(v));
    std::vector<float> p(x.begin(), x.end()), m(x.size(), 0.1f), v(x.size(), 0.2f);
    kernels::adam_update(p.data(), x.data(), m.data(), v.data(), 0, cols, {0.7f, 0.9f, 0.999f, 1e-3f, 0.03f, 1e-5f});
    out.insert(out.end(), p.begin(), p.end());
    out.push_back(static_cast<float>(kernels::sum_squares(x.data(), 0, cols)));
    return out;
  };
  const auto widest = run();
  ASSERT_TRUE(kernels::use_variant("avx2"));
  const auto fast = run();
  ASSERT_TRUE(kernels::use_variant("generic"));
  const auto plain = run();
  ASSERT_EQ(fast.size(), plain.size());
  EXPECT_EQ(std::memcmp(fast.data(), plain.data(), fast.size() * sizeof(float)), 0) << "avx2 vs generic";
  if (have_avx512) {
    EXPECT_EQ(std::memcmp(widest.data(), plain.data(), fast.size() * sizeof(float)), 0) << "avx512 vs generic";
  }
}

TEST(MlpKernels, MatvecRowsDoesNotDependOnTheRowSplit) {
  ploutos::Rng rng(8);
  const std::int64_t rows = 150, cols = 101;  // rows over two groups of 64 (AVX-512), a column tail
  std::vector<float> w(static_cast<std::size_t>(rows * cols)), x(static_cast<std::size_t>(cols)), b(rows, 0.5f);
  for (auto& v : w) v = static_cast<float>(rng.normal());
  for (auto& v : x) v = static_cast<float>(rng.normal());
  std::vector<float> whole(rows), split(rows);
  kernels::matvec_rows(w.data(), b.data(), x.data(), whole.data(), 0, rows, cols);
  kernels::matvec_rows(w.data(), b.data(), x.data(), split.data(), 0, 13, cols);
  kernels::matvec_rows(w.data(), b.data(), x.data(), split.data(), 13, rows, cols);
  EXPECT_EQ(std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)), 0);
  std::vector<float> alone(rows);  // rows go four at a time; each row alone has the same bits
  for (std::int64_t r = 0; r < rows; ++r)
    kernels::matvec_rows(w.data(), b.data(), x.data(), alone.data(), r, r + 1, cols);
  EXPECT_EQ(std::memcmp(whole.data(), alone.data(), whole.size() * sizeof(float)), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    double exact = b[static_cast<std::size_t>(r)];
    for (std::int64_t c = 0; c < cols; ++c)
      exact += static_cast<double>(w[static_cast<std::size_t>(r * cols + c)]) * x[static_cast<std::size_t>(c)];
    EXPECT_NEAR(whole[static_cast<std::size_t>(r)], exact, 1e-4) << "row " << r;
  }
}

TEST(MlpKernels, ABatchGivesEveryInputTheBitsItHasAloneForAnyRowSplit) {
  // A rollout step's observations go through the actor as one batch; each must come out as the
  // same observation decided alone (a backtest's decision), whatever the batch size, the block of
  // inputs it falls in, or the rows each thread takes.
  ploutos::Rng rng(11);
  const std::int64_t rows = 150, cols = 101;  // rows over two groups of 64 (AVX-512), a column tail
  std::vector<float> w(static_cast<std::size_t>(rows * cols)), b(static_cast<std::size_t>(rows));
  for (auto& v : w) v = static_cast<float>(rng.normal());
  for (auto& v : b) v = static_cast<float>(rng.normal());
  for (const std::int64_t inputs : {2, 3, 4, 5, 11, 16}) {
    SCOPED_TRACE(inputs);
    std::vector<float> x(static_cast<std::size_t>(inputs * cols));
    for (auto& v : x) v = static_cast<float>(rng.normal());
    const std::int64_t stride = rows + 3;  // outputs [inputs x stride]: the padding stays untouched
    std::vector<float> batch(static_cast<std::size_t>(inputs * stride), -7.0f), split = batch;
    kernels::matvec_rows_batch(w.data(), b.data(), x.data(), inputs, batch.data(), stride, 0, rows, cols);
    kernels::matvec_rows_batch(w.data(), b.data(), x.data(), inputs, split.data(), stride, 0, 9, cols);
    kernels::matvec_rows_batch(w.data(), b.data(), x.data(), inputs, split.data(), stride, 9, 70, cols);
    kernels::matvec_rows_batch(w.data(), b.data(), x.data(), inputs, split.data(), stride, 70, rows, cols);
    EXPECT_EQ(std::memcmp(batch.data(), split.data(), batch.size() * sizeof(float)), 0);
    for (std::int64_t i = 0; i < inputs; ++i) {
      std::vector<float> alone(static_cast<std::size_t>(rows));
      kernels::matvec_rows(w.data(), b.data(), x.data() + i * cols, alone.data(), 0, rows, cols);
      EXPECT_EQ(std::memcmp(batch.data() + i * stride, alone.data(), alone.size() * sizeof(float)), 0) << "input " << i;
      for (std::int64_t r = rows; r < stride; ++r) EXPECT_EQ(batch[static_cast<std::size_t>(i * stride + r)], -7.0f);
    }
  }
}

TEST(MlpKernels, Int16QuantisationRoundsToTheNearestStepAndPadsWithZeros) {
  ploutos::Rng rng(3);
  const std::int64_t n = 1173, padded = 1184;
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = static_cast<float>(rng.normal() * 3);
  std::vector<std::int16_t> q(static_cast<std::size_t>(padded), 99);
  const std::int32_t limit = kernels::int16_activation_limit(padded);
  const float scale = kernels::quantize_int16(x.data(), n, padded, q.data(), limit);
  float largest = 0;
  for (const float v : x) largest = std::max(largest, std::fabs(v));
  EXPECT_FLOAT_EQ(scale, largest / static_cast<float>(limit));
  int at_limit = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    EXPECT_LE(std::abs(q[k]), limit);
    at_limit += std::abs(q[k]) == limit;
    EXPECT_LE(std::fabs(x[k] - q[k] * scale), 0.502f * scale) << "element " << i;
  }
  EXPECT_EQ(at_limit, 1);  // the largest element, and only it, maps to the limit
  for (std::int64_t i = n; i < padded; ++i) EXPECT_EQ(q[static_cast<std::size_t>(i)], 0);
  x[5] = std::nanf("");
  kernels::quantize_int16(x.data(), n, padded, q.data(), limit);
  EXPECT_EQ(q[5], 0) << "a NaN quantises to 0";
  std::vector<float> zeros(8, 0.0f);
  std::vector<std::int16_t> qz(32, 5);
  EXPECT_EQ(kernels::quantize_int16(zeros.data(), 8, 32, qz.data(), 100), 0.0f);
  for (const auto v : qz) EXPECT_EQ(v, 0);
}

TEST(MlpKernels, Int8MatvecSumsExactlyEvenAtTheOverflowBoundAndForAnyRowSplit) {
  for (const std::int64_t padded : {std::int64_t{32}, std::int64_t{1184}, std::int64_t{8192}}) {
    SCOPED_TRACE(padded);
    const std::int32_t limit = kernels::int16_activation_limit(padded);
    // The worst case: every product at its largest, all of one sign.
    std::vector<std::int8_t> w(static_cast<std::size_t>(3 * padded), 127);
    for (std::int64_t c = 0; c < padded; ++c) w[static_cast<std::size_t>(padded + c)] = -127;  // row 1
    ploutos::Rng rng(static_cast<std::uint64_t>(padded));
    for (std::int64_t c = 0; c < padded; ++c)
      w[static_cast<std::size_t>(2 * padded + c)] = static_cast<std::int8_t>(rng.uniform_int(std::uint64_t{255})) - 127;
    std::vector<std::int16_t> q(static_cast<std::size_t>(padded), static_cast<std::int16_t>(limit));
    const std::vector<float> row_scale{1.0f, 1.0f, 0.5f}, bias{0.0f, 0.0f, 1.0f};
    std::vector<float> whole(3), split(3);
    kernels::matvec_rows_int8(w.data(), row_scale.data(), bias.data(), q.data(), 1.0f, whole.data(), 0, 3, padded);
    kernels::matvec_rows_int8(w.data(), row_scale.data(), bias.data(), q.data(), 1.0f, split.data(), 0, 1, padded);
    kernels::matvec_rows_int8(w.data(), row_scale.data(), bias.data(), q.data(), 1.0f, split.data(), 1, 3, padded);
    EXPECT_EQ(std::memcmp(whole.data(), split.data(), sizeof(float) * 3), 0);
    for (std::int64_t r = 0; r < 3; ++r) {
      std::int64_t exact = 0;
      for (std::int64_t c = 0; c < padded; ++c)
        exact += std::int64_t{w[static_cast<std::size_t>(r * padded + c)]} * limit;
      ASSERT_LE(std::llabs(exact), std::int64_t{2147483647});
      const float expected =
          bias[static_cast<std::size_t>(r)] +
          (row_scale[static_cast<std::size_t>(r)] * 1.0f) * static_cast<float>(static_cast<std::int32_t>(exact));
      EXPECT_EQ(whole[static_cast<std::size_t>(r)], expected) << "row " << r;
    }
  }
}
