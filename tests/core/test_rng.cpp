#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "ploutos/core/rng.hpp"

using namespace ploutos;

TEST(Rng, SplitMix64MatchesReferenceOutput) {
  // First outputs of the reference splitmix64.c for seed 1234567.
  std::uint64_t state = 1234567;
  EXPECT_EQ(splitmix64(state), 6457827717110365317ULL);
  EXPECT_EQ(splitmix64(state), 3203168211198807973ULL);
}

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Rng a(42), b(42), c(43);
  std::vector<std::uint64_t> va, vb, vc;
  for (int i = 0; i < 1000; ++i) {
    va.push_back(a());
    vb.push_back(b());
    vc.push_back(c());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
}

TEST(Rng, NamedStreamsAreReproducibleAndIndependent) {
  const RngStreams streams(7);
  std::set<std::uint64_t> seeds;
  for (std::uint64_t i = 0; i < 64; ++i) {
    seeds.insert(derive_seed(7, "env", i));
    seeds.insert(derive_seed(7, "policy", i));
  }
  EXPECT_EQ(seeds.size(), 128u);
  Rng e3 = streams.stream("env", 3), e3_again = RngStreams(7).stream("env", 3);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(e3(), e3_again());
  // Correlation between neighbouring streams is negligible.
  Rng s0 = streams.stream("env", 0), s1 = streams.stream("env", 1);
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) sum += (s0.uniform() - 0.5) * (s1.uniform() - 0.5);
  EXPECT_LT(std::abs(sum / n) * 12.0, 0.03);
}

TEST(Rng, UniformIntIsUnbiased) {
  Rng rng(1);
  const int k = 7, n = 70000;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) ++counts[rng.uniform_int(static_cast<std::uint64_t>(k))];
  double chi2 = 0;
  const double expected = static_cast<double>(n) / k;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 22.46);  // p = 0.001 for 6 degrees of freedom
  for (int i = 0; i < 1000; ++i) {
    const auto v = rng.uniform_int(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
  }
}

TEST(Rng, NormalHasUnitMomentsAndUniformStaysInRange) {
  Rng rng(99);
  const int n = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.015);
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

// A normal draw leaves its pair's second value for the next call: a saved state must carry it.
TEST(Rng, ARestoredStateContinuesTheStreamSpareNormalIncluded) {
  Rng rng(21);
  rng.normal();  // one of a pair drawn, the other kept
  const Rng::State saved = rng.state();
  std::vector<double> expected;
  for (int i = 0; i < 9; ++i) expected.push_back(i % 3 == 0 ? rng.uniform() : rng.normal());
  Rng other(22);
  other.restore(saved);
  std::vector<double> continued;
  for (int i = 0; i < 9; ++i) continued.push_back(i % 3 == 0 ? other.uniform() : other.normal());
  EXPECT_EQ(continued, expected);
}
