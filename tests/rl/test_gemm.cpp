// The update's own GEMM kernel (src/rl/gemm.hpp) against a double-precision reference, over the
// shapes where blocking has edges: partial tiles, depth split into blocks, transposed operands.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "ploutos/core/rng.hpp"
#include "rl/gemm.hpp"

using namespace ploutos::rl;

namespace {

std::vector<float> random_matrix(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  ploutos::Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(rows * cols));
  for (auto& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

// A matrix stored row-major, or transposed (stored as its transpose, read through strides).
struct Stored {
  std::vector<float> data;
  gemm::Operand operand;
};

Stored store(const std::vector<float>& m, std::int64_t rows, std::int64_t cols, bool transposed) {
  Stored s;
  if (!transposed) {
    s.data = m;
    s.operand = {nullptr, cols, 1};
  } else {
    s.data.resize(m.size());
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j)
        s.data[static_cast<std::size_t>(j * rows + i)] = m[static_cast<std::size_t>(i * cols + j)];
    }
    s.operand = {nullptr, 1, rows};
  }
  s.operand.data = s.data.data();
  return s;
}

std::vector<double> reference(const std::vector<float>& a, const std::vector<float>& b, std::int64_t m, std::int64_t n,
                              std::int64_t k) {
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t p = 0; p < k; ++p) {
      const double x = a[static_cast<std::size_t>(i * k + p)];
      for (std::int64_t j = 0; j < n; ++j)
        c[static_cast<std::size_t>(i * n + j)] += x * b[static_cast<std::size_t>(p * n + j)];
    }
  }
  return c;
}

}  // namespace

TEST(Gemm, MatchesADoublePrecisionProductAtEveryEdgeOfTheBlocking) {
  if (!gemm::available()) GTEST_SKIP() << "this CPU lacks AVX-512; the update uses LibTorch's BLAS";
  struct Shape {
    std::int64_t m, n, k;
  };
  // Tiles are 12 rows x 32 columns; the depth is cut into blocks past 2,048.
  const Shape shapes[] = {{1, 1, 1},     {11, 31, 7},    {12, 32, 64}, {13, 33, 65},
                          {50, 45, 300}, {25, 70, 2049}, {3, 1, 4097}, {200, 96, 129}};
  for (const auto& s : shapes) {
    const auto a = random_matrix(s.m, s.k, 1), b = random_matrix(s.k, s.n, 2);
    const auto want = reference(a, b, s.m, s.n, s.k);
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        const auto sa = store(a, s.m, s.k, ta), sb = store(b, s.k, s.n, tb);
        const std::int64_t ldc = s.n + 3;  // C's rows padded: the kernel must leave the padding alone
        std::vector<float> c(static_cast<std::size_t>(s.m * ldc), 7.0f);
        gemm::multiply(s.m, s.n, s.k, sa.operand, sb.operand, c.data(), ldc);
        const double tolerance = 1e-5 * static_cast<double>(s.k);
        for (std::int64_t i = 0; i < s.m; ++i) {
          for (std::int64_t j = 0; j < ldc; ++j) {
            const float got = c[static_cast<std::size_t>(i * ldc + j)];
            if (j >= s.n) {
              ASSERT_EQ(got, 7.0f) << "padding overwritten at " << i << "," << j;
              continue;
            }
            ASSERT_NEAR(got, want[static_cast<std::size_t>(i * s.n + j)], tolerance)
                << s.m << "x" << s.n << "x" << s.k << " ta=" << ta << " tb=" << tb << " at " << i << "," << j;
          }
        }
      }
    }
  }
}

TEST(Gemm, HandsOnEveryRowOnceAndOnlyWhenItIsFinal) {
  if (!gemm::available()) GTEST_SKIP() << "this CPU lacks AVX-512; the update uses LibTorch's BLAS";
  for (const std::int64_t k : {100, 3000}) {  // one block of depth, and two
    const std::int64_t m = 257, n = 40;
    const auto a = random_matrix(m, k, 3), b = random_matrix(k, n, 4);
    const auto want = reference(a, b, m, n, k);
    std::vector<float> c(static_cast<std::size_t>(m * n));
    std::vector<int> seen(static_cast<std::size_t>(m), 0);
    std::int64_t next = 0;
    gemm::multiply(
        m, n, k, {a.data(), k, 1}, {b.data(), n, 1}, c.data(), n, [&](std::int64_t first, std::int64_t rows) {
          EXPECT_EQ(first, next) << "blocks arrive in order";
          next = first + rows;
          for (std::int64_t i = first; i < first + rows; ++i) {
            ++seen[static_cast<std::size_t>(i)];
            for (std::int64_t j = 0; j < n; ++j)
              ASSERT_NEAR(c[static_cast<std::size_t>(i * n + j)], want[static_cast<std::size_t>(i * n + j)], 1e-5 * k);
          }
        });
    for (std::int64_t i = 0; i < m; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << "row " << i;
  }
}

TEST(Gemm, ARowHasTheSameBitsWhicheverRowsSurroundItAndOnEveryCall) {
  if (!gemm::available()) GTEST_SKIP() << "this CPU lacks AVX-512; the update uses LibTorch's BLAS";
  // The update splits a minibatch's rows between threads: a row's products must not depend on
  // where the split falls, nor on anything but the inputs.
  const std::int64_t m = 100, n = 77, k = 1173;
  const auto a = random_matrix(m, k, 5), w = random_matrix(n, k, 6);
  const gemm::Operand wt{w.data(), 1, k};  // B = W^T, as in a forward layer
  std::vector<float> whole(static_cast<std::size_t>(m * n)), again(whole.size());
  gemm::multiply(m, n, k, {a.data(), k, 1}, wt, whole.data(), n);
  gemm::multiply(m, n, k, {a.data(), k, 1}, wt, again.data(), n);
  EXPECT_EQ(std::memcmp(whole.data(), again.data(), whole.size() * sizeof(float)), 0);
  for (const std::int64_t split : {1, 7, 12, 61}) {
    std::vector<float> parts(whole.size());
    gemm::multiply(split, n, k, {a.data(), k, 1}, wt, parts.data(), n);
    gemm::multiply(m - split, n, k, {a.data() + split * k, k, 1}, wt, parts.data() + split * n, n);
    EXPECT_EQ(std::memcmp(whole.data(), parts.data(), whole.size() * sizeof(float)), 0) << "split at " << split;
  }
}
