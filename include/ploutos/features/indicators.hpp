#pragma once
// Technical indicators as pure functions over arrays: one pass, O(n), causal (output[t] uses inputs
// up to t only), NaN during warm-up. Where TA-Lib defines an indicator, the function follows TA-Lib's
// definition including its seeding, and its first value lands on the same bar TA-Lib's does
// (tests compare with TA-Lib's own output in ../shared/reference/talib). `seed_*` functions are the
// seed system's pandas variants, kept under their own names to reproduce its feature set.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ploutos::features {

using In = std::span<const double>;
using Out = std::span<double>;

void sma(In x, std::size_t period, Out out);
void ema(In x, std::size_t period, Out out);  // seeded with the SMA of the first `period` values (TA-Lib)
// Population standard deviation over `period` (TA-Lib STDDEV with nbdev 1).
void rolling_stddev(In x, std::size_t period, Out out);
// Sample (n-1) standard deviation, as pandas' rolling().std().
void rolling_stddev_sample(In x, std::size_t period, Out out);
void rolling_min(In x, std::size_t period, Out out);  // monotone deque, O(n)
void rolling_max(In x, std::size_t period, Out out);
// Fraction of the last `period` values (including t) that are <= x[t], in [0, 1].
void rolling_percentile_rank(In x, std::size_t period, Out out);

// How many of w[0..n) are <= v, and < v (vectorised counts).
std::int64_t count_at_most(const double* w, std::size_t n, double v);
std::int64_t count_below(const double* w, std::size_t n, double v);

// 1 where x[t] is below the linear-interpolated q-quantile (pandas' default) of the `period` values
// ending at t, 0 where not, NaN while the window holds a NaN. Exact, without sorting.
void below_rolling_quantile(In x, std::size_t period, double q, Out out);

void rsi(In close, std::size_t period, Out out);       // Wilder (TA-Lib RSI)
void seed_rsi(In close, std::size_t period, Out out);  // simple rolling means of gains and losses

struct Macd {
  std::vector<double> macd, signal, hist;
};
Macd macd(In close, std::size_t fast = 12, std::size_t slow = 26, std::size_t signal = 9);  // TA-Lib MACD

struct Bands {
  std::vector<double> upper, middle, lower;
};
Bands bollinger(In close, std::size_t period = 20, double k = 2.0);  // TA-Lib BBANDS (SMA, population sd)

void true_range(In high, In low, In close, Out out);               // NaN at 0 (needs the previous close)
void atr(In high, In low, In close, std::size_t period, Out out);  // Wilder, seeded with the SMA of TR (TA-Lib)

struct Directional {
  std::vector<double> plus_di, minus_di, adx;
};
Directional adx(In high, In low, In close, std::size_t period = 14);       // TA-Lib PLUS_DI/MINUS_DI/ADX
Directional seed_adx(In high, In low, In close, std::size_t period = 14);  // simple rolling means (the seed)

struct Stochastic {
  std::vector<double> k, d;
};
Stochastic stochastic(In high, In low, In close, std::size_t k_period = 14, std::size_t slow_k = 3,
                      std::size_t slow_d = 3);

void cci(In high, In low, In close, std::size_t period, Out out);
void williams_r(In high, In low, In close, std::size_t period, Out out);
void mfi(In high, In low, In close, In volume, std::size_t period, Out out);
void obv(In close, In volume, Out out);
void roc(In close, std::size_t period, Out out);  // percent, TA-Lib ROC

}  // namespace ploutos::features
