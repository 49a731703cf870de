#include "ploutos/features/indicators.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace ploutos::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// TA-Lib treats |v| < 1e-8 as zero in its divisions.
bool ta_is_zero(double v) {
  return v > -1e-8 && v < 1e-8;
}

void fill_nan(Out out) {
  std::fill(out.begin(), out.end(), kNaN);
}

// van Herk / Gil-Werman: with blocks of `period` bars, a running extreme from each block's start
// (forward) and from each block's end (backward); the window ending at t is the extreme of
// backward[t - period + 1] and forward[t]. Three branch-free operations a bar, and the backward
// value read at t covers bars up to t only, so the result is causal.
template <class Pick>
void rolling_extreme(In x, std::size_t period, Out out, Pick pick) {
  fill_nan(out);
  const std::size_t n = x.size();
  if (period == 0 || n < period) return;
  std::vector<double> forward(n), backward(n);
  for (std::size_t begin = 0; begin < n; begin += period) {
    const std::size_t end = std::min(n, begin + period);
    forward[begin] = x[begin];
    for (std::size_t i = begin + 1; i < end; ++i) forward[i] = pick(forward[i - 1], x[i]);
    backward[end - 1] = x[end - 1];
    for (std::size_t i = end - 1; i > begin; --i) backward[i - 1] = pick(backward[i], x[i - 1]);
  }
  for (std::size_t t = period - 1; t < n; ++t) out[t] = pick(backward[t + 1 - period], forward[t]);
}

// EMA over x[first..] seeded with the SMA of x[first .. first+period-1]; values from the seed on.
void ema_from(In x, std::size_t first, std::size_t period, Out out) {
  if (x.size() < first + period) return;
  double sum = 0;
  for (std::size_t i = first; i < first + period; ++i) sum += x[i];
  double value = sum / static_cast<double>(period);
  const double k = 2.0 / (static_cast<double>(period) + 1.0);
  out[first + period - 1] = value;
  for (std::size_t t = first + period; t < x.size(); ++t) {
    value = (x[t] - value) * k + value;
    out[t] = value;
  }
}

}  // namespace

void sma(In x, std::size_t period, Out out) {
  fill_nan(out);
  double sum = 0;
  for (std::size_t t = 0; t < x.size(); ++t) {
    sum += x[t];
    if (t >= period) sum -= x[t - period];
    if (t + 1 >= period) out[t] = sum / static_cast<double>(period);
  }
}

void ema(In x, std::size_t period, Out out) {
  fill_nan(out);
  ema_from(x, 0, period, out);
}

namespace {
// Running sums over the window; `ddof` 0 gives the population sd (TA-Lib), 1 the sample sd (pandas).
void rolling_sd(In x, std::size_t period, int ddof, Out out) {
  fill_nan(out);
  if (period <= static_cast<std::size_t>(ddof)) return;
  double sum = 0, sum2 = 0;
  const double n = static_cast<double>(period);
  for (std::size_t t = 0; t < x.size(); ++t) {
    sum += x[t];
    sum2 += x[t] * x[t];
    if (t >= period) {
      sum -= x[t - period];
      sum2 -= x[t - period] * x[t - period];
    }
    if (t + 1 >= period) {
      const double var = (sum2 - sum * sum / n) / (n - ddof);
      out[t] = var > 0 ? std::sqrt(var) : 0.0;
    }
  }
}
}  // namespace

void rolling_stddev(In x, std::size_t period, Out out) {
  rolling_sd(x, period, 0, out);
}
void rolling_stddev_sample(In x, std::size_t period, Out out) {
  rolling_sd(x, period, 1, out);
}

void rolling_min(In x, std::size_t period, Out out) {
  rolling_extreme(x, period, out, [](double a, double b) { return b < a ? b : a; });
}
void rolling_max(In x, std::size_t period, Out out) {
  rolling_extreme(x, period, out, [](double a, double b) { return b > a ? b : a; });
}

// Counting comparisons with GCC/Clang vector extensions (two doubles a lane pair; SSE2 on x86-64,
// NEON elsewhere): GCC does not vectorise the plain loops. A comparison lane is -1 when true.
template <bool kStrict>
std::int64_t count_compare(const double* w, std::size_t n, double v) {
  using v2d = double __attribute__((vector_size(16)));
  using v2i = std::int64_t __attribute__((vector_size(16)));
  const v2d vv = {v, v};
  v2i acc0 = {0, 0}, acc1 = {0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v2d a, b;
    std::memcpy(&a, w + i, sizeof a);
    std::memcpy(&b, w + i + 2, sizeof b);
    if constexpr (kStrict) {
      acc0 += (a < vv);
      acc1 += (b < vv);
    } else {
      acc0 += (a <= vv);
      acc1 += (b <= vv);
    }
  }
  const v2i acc = acc0 + acc1;
  std::int64_t count = -(acc[0] + acc[1]);
  for (; i < n; ++i) count += (kStrict ? w[i] < v : w[i] <= v) ? 1 : 0;
  return count;
}

std::int64_t count_at_most(const double* w, std::size_t n, double v) {
  return count_compare<false>(w, n, v);
}
std::int64_t count_below(const double* w, std::size_t n, double v) {
  return count_compare<true>(w, n, v);
}

void rolling_percentile_rank(In x, std::size_t period, Out out) {
  fill_nan(out);
  if (period == 0) return;
  // A plain scan of the window: for windows of ~100 it vectorises and beats a sorted window.
  // Ranks start once `period` numbers exist after the input's own warm-up (leading NaN).
  std::size_t first = 0;
  while (first < x.size() && std::isnan(x[first])) ++first;
  for (std::size_t t = first + period - 1; t < x.size(); ++t) {
    const double v = x[t];
    const double* w = x.data() + (t + 1 - period);
    const auto below = count_at_most(w, period, v);
    out[t] = static_cast<double>(below) / static_cast<double>(period);
  }
}

// 1 where x[t] is below the linear-interpolated q-quantile (pandas' default) of the `period` values
// ending at t, NaN while the window holds a NaN. Exact without sorting: with lo = floor(q (p - 1))
// and frac its remainder, x[t] < quantile exactly when at most lo window values are < x[t] and
// either at most lo are <= x[t], or frac > 0 and at most lo + 1 are (the quantile then lies strictly
// between x[t] and the next larger value).
void below_rolling_quantile(In x, std::size_t period, double q, Out out) {
  fill_nan(out);
  if (period == 0) return;
  const double pos = q * static_cast<double>(period - 1);
  const auto lo = static_cast<std::int64_t>(std::floor(pos));
  const bool fractional = pos > static_cast<double>(lo);
  std::size_t nan_in_window = 0;
  for (std::size_t t = 0; t < x.size(); ++t) {
    nan_in_window += std::isnan(x[t]) ? 1 : 0;
    if (t >= period) nan_in_window -= std::isnan(x[t - period]) ? 1 : 0;
    if (t + 1 < period || nan_in_window > 0) continue;
    const double* w = x.data() + (t + 1 - period);
    const std::int64_t less = count_below(w, period, x[t]);
    if (less > lo) {
      out[t] = 0.0;
      continue;
    }
    const std::int64_t at_most = count_at_most(w, period, x[t]);
    out[t] = at_most <= lo || (fractional && at_most <= lo + 1) ? 1.0 : 0.0;
  }
}

void rsi(In close, std::size_t period, Out out) {
  fill_nan(out);
  if (close.size() <= period) return;
  double gain = 0, loss = 0;
  for (std::size_t t = 1; t <= period; ++t) {
    const double d = close[t] - close[t - 1];
    (d > 0 ? gain : loss) += std::abs(d);
  }
  const double n = static_cast<double>(period);
  gain /= n;
  loss /= n;
  auto value = [](double g, double l) { return ta_is_zero(g + l) ? 0.0 : 100.0 * g / (g + l); };
  out[period] = value(gain, loss);
  for (std::size_t t = period + 1; t < close.size(); ++t) {
    const double d = close[t] - close[t - 1];
    gain = (gain * (n - 1) + (d > 0 ? d : 0)) / n;
    loss = (loss * (n - 1) + (d < 0 ? -d : 0)) / n;
    out[t] = value(gain, loss);
  }
}

void seed_rsi(In close, std::size_t period, Out out) {
  fill_nan(out);
  double g = 0, l = 0;
  for (std::size_t t = 1; t < close.size(); ++t) {
    const double d = close[t] - close[t - 1];
    g += d > 0 ? d : 0;
    l += d < 0 ? -d : 0;
    if (t > period) {
      const double old = close[t - period] - close[t - period - 1];
      g -= old > 0 ? old : 0;
      l -= old < 0 ? -old : 0;
    }
    if (t >= period) out[t] = l == 0 ? 100.0 : 100.0 - 100.0 / (1.0 + g / l);
  }
}

Macd macd(In close, std::size_t fast, std::size_t slow, std::size_t signal) {
  const std::size_t n = close.size();
  Macd m{std::vector<double>(n, kNaN), std::vector<double>(n, kNaN), std::vector<double>(n, kNaN)};
  if (fast > slow) std::swap(fast, slow);
  // TA-Lib starts both EMAs on the bar where the slow one has its first value: the fast EMA is
  // seeded with the SMA of the `fast` closes ending there, not at bar fast-1.
  const std::size_t start = slow - 1;
  if (n <= start) return m;
  std::vector<double> fast_ema(n, kNaN), slow_ema(n, kNaN);
  ema_from(close, start + 1 - fast, fast, fast_ema);
  ema_from(close, 0, slow, slow_ema);
  std::vector<double> line(n, kNaN);
  for (std::size_t t = start; t < n; ++t) line[t] = fast_ema[t] - slow_ema[t];
  std::vector<double> sig(n, kNaN);
  ema_from(line, start, signal, sig);
  for (std::size_t t = start + signal - 1; t < n; ++t) {
    m.macd[t] = line[t];
    m.signal[t] = sig[t];
    m.hist[t] = line[t] - sig[t];
  }
  return m;
}

Bands bollinger(In close, std::size_t period, double k) {
  const std::size_t n = close.size();
  Bands b{std::vector<double>(n), std::vector<double>(n), std::vector<double>(n)};
  std::vector<double> sd(n);
  sma(close, period, b.middle);
  rolling_stddev(close, period, sd);
  for (std::size_t t = 0; t < n; ++t) {
    b.upper[t] = b.middle[t] + k * sd[t];
    b.lower[t] = b.middle[t] - k * sd[t];
  }
  return b;
}

void true_range(In high, In low, In close, Out out) {
  fill_nan(out);
  for (std::size_t t = 1; t < close.size(); ++t) {
    out[t] = std::max({high[t] - low[t], std::abs(high[t] - close[t - 1]), std::abs(low[t] - close[t - 1])});
  }
}

void atr(In high, In low, In close, std::size_t period, Out out) {
  fill_nan(out);
  if (close.size() <= period) return;
  std::vector<double> tr(close.size());
  true_range(high, low, close, tr);
  double value = 0;
  for (std::size_t t = 1; t <= period; ++t) value += tr[t];
  const double n = static_cast<double>(period);
  value /= n;
  out[period] = value;
  for (std::size_t t = period + 1; t < close.size(); ++t) {
    value = (value * (n - 1) + tr[t]) / n;
    out[t] = value;
  }
}

Directional adx(In high, In low, In close, std::size_t period) {
  const std::size_t size = close.size();
  Directional d{std::vector<double>(size, kNaN), std::vector<double>(size, kNaN), std::vector<double>(size, kNaN)};
  if (size < 2 * period) return d;
  const double n = static_cast<double>(period);
  double plus_dm = 0, minus_dm = 0, tr = 0;
  auto moves = [&](std::size_t t, double& up, double& down) {
    const double diff_p = high[t] - high[t - 1], diff_m = low[t - 1] - low[t];
    up = down = 0;
    if (diff_m > 0 && diff_p < diff_m) {
      down = diff_m;
    } else if (diff_p > 0 && diff_p > diff_m) {
      up = diff_p;
    }
  };
  auto range = [&](std::size_t t) {
    return std::max({high[t] - low[t], std::abs(high[t] - close[t - 1]), std::abs(low[t] - close[t - 1])});
  };
  // Wilder sums start from plain sums over the first period-1 moves (TA-Lib).
  for (std::size_t t = 1; t < period; ++t) {
    double up = 0, down = 0;
    moves(t, up, down);
    plus_dm += up;
    minus_dm += down;
    tr += range(t);
  }
  double dx_sum = 0, adx_value = 0, dx = 0;
  for (std::size_t t = period; t < size; ++t) {
    double up = 0, down = 0;
    moves(t, up, down);
    plus_dm = plus_dm - plus_dm / n + up;
    minus_dm = minus_dm - minus_dm / n + down;
    tr = tr - tr / n + range(t);
    bool have_dx = false;
    if (!ta_is_zero(tr)) {
      const double pdi = 100.0 * plus_dm / tr, mdi = 100.0 * minus_dm / tr;
      d.plus_di[t] = pdi;
      d.minus_di[t] = mdi;
      if (!ta_is_zero(pdi + mdi)) {
        dx = 100.0 * std::abs(pdi - mdi) / (pdi + mdi);
        have_dx = true;
      }
    } else {
      d.plus_di[t] = d.minus_di[t] = 0.0;
    }
    if (t < 2 * period - 1) {
      if (have_dx) dx_sum += dx;
    } else if (t == 2 * period - 1) {
      if (have_dx) dx_sum += dx;
      adx_value = dx_sum / n;
      d.adx[t] = adx_value;
    } else {
      if (have_dx) adx_value = (adx_value * (n - 1) + dx) / n;
      d.adx[t] = adx_value;
    }
  }
  return d;
}

Directional seed_adx(In high, In low, In close, std::size_t period) {
  const std::size_t size = close.size();
  Directional d{std::vector<double>(size, kNaN), std::vector<double>(size, kNaN), std::vector<double>(size, kNaN)};
  std::vector<double> up(size, kNaN), down(size, kNaN), tr(size, kNaN);
  for (std::size_t t = 1; t < size; ++t) {
    const double diff_p = high[t] - high[t - 1], diff_m = low[t - 1] - low[t];
    up[t] = diff_p > diff_m && diff_p > 0 ? diff_p : 0;
    down[t] = diff_m > diff_p && diff_m > 0 ? diff_m : 0;
    tr[t] = std::max({high[t] - low[t], std::abs(high[t] - close[t - 1]), std::abs(low[t] - close[t - 1])});
  }
  std::vector<double> up_m(size), down_m(size), tr_m(size), dx(size, kNaN);
  const std::span<const double> up_tail(up.data() + 1, size - 1), down_tail(down.data() + 1, size - 1),
      tr_tail(tr.data() + 1, size - 1);
  if (size < 2) return d;
  sma(up_tail, period, std::span<double>(up_m.data() + 1, size - 1));
  sma(down_tail, period, std::span<double>(down_m.data() + 1, size - 1));
  sma(tr_tail, period, std::span<double>(tr_m.data() + 1, size - 1));
  up_m[0] = down_m[0] = tr_m[0] = kNaN;
  for (std::size_t t = 1; t < size; ++t) {
    if (std::isnan(tr_m[t])) continue;
    d.plus_di[t] = tr_m[t] == 0 ? 0 : 100.0 * up_m[t] / tr_m[t];
    d.minus_di[t] = tr_m[t] == 0 ? 0 : 100.0 * down_m[t] / tr_m[t];
    const double sum = d.plus_di[t] + d.minus_di[t];
    dx[t] = sum == 0 ? 0 : 100.0 * std::abs(d.plus_di[t] - d.minus_di[t]) / sum;
  }
  const std::size_t first_dx = period;  // first bar with a full window of moves
  if (size > first_dx) {
    sma(std::span<const double>(dx.data() + first_dx, size - first_dx), period,
        std::span<double>(d.adx.data() + first_dx, size - first_dx));
  }
  return d;
}

Stochastic stochastic(In high, In low, In close, std::size_t k_period, std::size_t slow_k, std::size_t slow_d) {
  const std::size_t n = close.size();
  Stochastic s{std::vector<double>(n, kNaN), std::vector<double>(n, kNaN)};
  std::vector<double> hh(n), ll(n), fast(n, kNaN);
  rolling_max(high, k_period, hh);
  rolling_min(low, k_period, ll);
  for (std::size_t t = k_period - 1; t < n; ++t) {
    const double range = hh[t] - ll[t];
    fast[t] = range != 0 ? 100.0 * (close[t] - ll[t]) / range : 0.0;
  }
  if (n < k_period) return s;
  const std::size_t first = k_period - 1;
  std::vector<double> k(n, kNaN);
  sma(std::span<const double>(fast.data() + first, n - first), slow_k, std::span<double>(k.data() + first, n - first));
  const std::size_t first_k = first + slow_k - 1;
  if (n <= first_k) return s;
  std::vector<double> d(n, kNaN);
  sma(std::span<const double>(k.data() + first_k, n - first_k), slow_d,
      std::span<double>(d.data() + first_k, n - first_k));
  // TA-Lib reports %K and %D from the first bar where %D exists.
  for (std::size_t t = first_k + slow_d - 1; t < n; ++t) {
    s.k[t] = k[t];
    s.d[t] = d[t];
  }
  return s;
}

void cci(In high, In low, In close, std::size_t period, Out out) {
  fill_nan(out);
  const std::size_t n = close.size();
  std::vector<double> tp(n), mean(n);
  for (std::size_t t = 0; t < n; ++t) tp[t] = (high[t] + low[t] + close[t]) / 3.0;
  sma(tp, period, mean);
  for (std::size_t t = period - 1; t < n; ++t) {
    double dev = 0;
    for (std::size_t i = t + 1 - period; i <= t; ++i) dev += std::abs(tp[i] - mean[t]);
    dev /= static_cast<double>(period);
    const double diff = tp[t] - mean[t];
    out[t] = diff != 0 && dev != 0 ? diff / (0.015 * dev) : 0.0;
  }
}

void williams_r(In high, In low, In close, std::size_t period, Out out) {
  fill_nan(out);
  const std::size_t n = close.size();
  std::vector<double> hh(n), ll(n);
  rolling_max(high, period, hh);
  rolling_min(low, period, ll);
  for (std::size_t t = period - 1; t < n; ++t) {
    const double range = hh[t] - ll[t];
    out[t] = range != 0 ? -100.0 * (hh[t] - close[t]) / range : 0.0;
  }
}

void mfi(In high, In low, In close, In volume, std::size_t period, Out out) {
  fill_nan(out);
  const std::size_t n = close.size();
  if (n <= period) return;
  std::vector<double> pos(n, 0.0), neg(n, 0.0);
  double prev_tp = (high[0] + low[0] + close[0]) / 3.0;
  for (std::size_t t = 1; t < n; ++t) {
    const double tp = (high[t] + low[t] + close[t]) / 3.0;
    const double flow = tp * volume[t];
    if (tp > prev_tp) pos[t] = flow;
    if (tp < prev_tp) neg[t] = flow;
    prev_tp = tp;
  }
  double p = 0, m = 0;
  for (std::size_t t = 1; t < n; ++t) {
    p += pos[t];
    m += neg[t];
    if (t > period) {
      p -= pos[t - period];
      m -= neg[t - period];
    }
    if (t >= period) {
      const double total = p + m;
      out[t] = total < 1.0 ? 0.0 : 100.0 * p / total;
    }
  }
}

void obv(In close, In volume, Out out) {
  if (close.empty()) return;
  double value = volume[0];
  out[0] = value;
  for (std::size_t t = 1; t < close.size(); ++t) {
    if (close[t] > close[t - 1]) value += volume[t];
    if (close[t] < close[t - 1]) value -= volume[t];
    out[t] = value;
  }
}

void roc(In close, std::size_t period, Out out) {
  fill_nan(out);
  for (std::size_t t = period; t < close.size(); ++t) {
    out[t] = close[t - period] != 0 ? (close[t] / close[t - period] - 1.0) * 100.0 : 0.0;
  }
}

}  // namespace ploutos::features
