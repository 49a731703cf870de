#include "ploutos/core/rng.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace ploutos {
namespace {
__extension__ using uint128 = unsigned __int128;  // GCC/Clang builtin; the fastest unbiased bounded integers
constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

std::uint64_t derive_seed(std::uint64_t master_seed, std::string_view component, std::uint64_t index) noexcept {
  // Three rounds of SplitMix64 over (seed, name hash, index) so that neighbouring indices and
  // similar names land far apart.
  std::uint64_t state = master_seed;
  std::uint64_t h = splitmix64(state);
  state = h ^ fnv1a64(component);
  h = splitmix64(state);
  state = h ^ (index * 0xd1b54a32d192ed03ULL);
  return splitmix64(state);
}

void Rng::reseed(std::uint64_t seed) noexcept {
  std::uint64_t state = seed;
  for (auto& word : s_) word = splitmix64(state);
  has_spare_ = false;
  spare_normal_ = 0.0;
}

Rng::State Rng::state() const noexcept {
  State state;
  std::copy(std::begin(s_), std::end(s_), std::begin(state.words));
  state.spare_normal = spare_normal_;
  state.has_spare = has_spare_;
  return state;
}

void Rng::restore(const State& state) noexcept {
  std::copy(std::begin(state.words), std::end(state.words), std::begin(s_));
  spare_normal_ = state.spare_normal;
  has_spare_ = state.has_spare;
}

Rng::result_type Rng::operator()() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() noexcept {
  return static_cast<double>((*this)() >> 11) * 0x1.0p-53;
}

double Rng::uniform(double lo, double hi) noexcept {
  return lo + (hi - lo) * uniform();
}

std::uint64_t Rng::uniform_int(std::uint64_t n) noexcept {
  // Lemire's nearly-divisionless method: multiply-shift with rejection of the biased low range.
  uint128 m = static_cast<uint128>((*this)()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<uint128>((*this)()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t Rng::uniform_int(std::int64_t lo, std::int64_t hi) noexcept {
  const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
  if (span == 0) return static_cast<std::int64_t>((*this)());  // the full 64-bit range
  return lo + static_cast<std::int64_t>(uniform_int(span));
}

double Rng::normal() noexcept {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u = 0, v = 0, s = 0;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double scale = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * scale;
  has_spare_ = true;
  return u * scale;
}

double Rng::normal(double mean, double stddev) noexcept {
  return mean + stddev * normal();
}

bool Rng::bernoulli(double p) noexcept {
  return uniform() < p;
}

}  // namespace ploutos
