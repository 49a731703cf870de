#pragma once
// Seeded, reproducible randomness. One master seed gives independent streams per component and
// index (e.g. stream("env", 3)); each stream is xoshiro256** seeded through SplitMix64. The
// distributions below are our own so that the same seed gives the same bytes with any standard
// library (std::normal_distribution and friends are implementation-defined).
#include <cstdint>
#include <limits>
#include <string_view>

namespace ploutos {

// SplitMix64 step: also used to scramble seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// 64-bit FNV-1a, stable across platforms, for naming streams.
constexpr std::uint64_t fnv1a64(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Seed of stream (component, index) under a master seed. Distinct inputs give unrelated seeds.
std::uint64_t derive_seed(std::uint64_t master_seed, std::string_view component, std::uint64_t index = 0) noexcept;

// xoshiro256**: fast, 256-bit state, satisfies UniformRandomBitGenerator.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed = 0) noexcept { reseed(seed); }
  void reseed(std::uint64_t seed) noexcept;

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }
  result_type operator()() noexcept;

  double uniform() noexcept;                                            // [0, 1), 53 random bits
  double uniform(double lo, double hi) noexcept;                        // [lo, hi)
  std::uint64_t uniform_int(std::uint64_t n) noexcept;                  // [0, n), unbiased (Lemire); n > 0
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) noexcept;  // [lo, hi] inclusive
  double normal() noexcept;                                             // N(0, 1), Marsaglia polar method
  double normal(double mean, double stddev) noexcept;
  bool bernoulli(double p) noexcept;

  // The whole state, for checkpoints: restore(state()) continues the same stream.
  struct State {
    std::uint64_t words[4]{};
    double spare_normal = 0.0;
    bool has_spare = false;
  };
  State state() const noexcept;
  void restore(const State& state) noexcept;

 private:
  std::uint64_t s_[4]{};
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

// The streams of one run: RngStreams(seed).stream("env", i) is the same Rng every time.
class RngStreams {
 public:
  explicit RngStreams(std::uint64_t master_seed) noexcept : master_seed_(master_seed) {}
  std::uint64_t master_seed() const noexcept { return master_seed_; }
  Rng stream(std::string_view component, std::uint64_t index = 0) const noexcept {
    return Rng(derive_seed(master_seed_, component, index));
  }

 private:
  std::uint64_t master_seed_;
};

}  // namespace ploutos
