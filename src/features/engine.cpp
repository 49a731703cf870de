#include "ploutos/features/engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "ploutos/core/error.hpp"
#include "ploutos/core/uninitialised.hpp"
#include "ploutos/features/indicators.hpp"

namespace ploutos::features {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Column = UninitialisedVector<double>;  // every column is written in full once sized

// Columns in the order they are added, with their one-line definitions.
struct Columns {
  Columns() {
    info.reserve(128);
    data.reserve(128);
  }
  std::vector<FeatureInfo> info;
  std::vector<Column> data;
  void add(std::string name, std::string description, Column values) {
    info.push_back({std::move(name), std::move(description)});
    data.push_back(std::move(values));
  }
  void add(std::string name, std::string description, const std::vector<double>& values) {
    add(std::move(name), std::move(description), Column(values.begin(), values.end()));
  }
  // A column added earlier, by name (the entry scores combine flags computed above them).
  const Column& get(std::string_view name) const {
    for (std::size_t i = 0; i < info.size(); ++i) {
      if (info[i].name == name) return data[i];
    }
    throw Error("feature engine: no column " + std::string(name));
  }
};

// Elementwise helpers; NaN propagates, a zero denominator gives NaN (then the row is invalid).
template <class F>
Column map(std::size_t n, F f) {
  Column out(n);
  for (std::size_t t = 0; t < n; ++t) out[t] = f(t);
  return out;
}
double ratio(double a, double b) {
  return b != 0 ? a / b : kNaN;
}
double flag(bool b) {
  return b ? 1.0 : 0.0;
}
// A flag over inputs that may still be warming up: NaN until they exist.
double flag_if(double input, bool b) {
  return std::isnan(input) ? kNaN : flag(b);
}
double lag(const Column& x, std::size_t t, std::size_t k) {
  return t >= k ? x[t - k] : kNaN;
}

Column apply(std::size_t n, void (*f)(In, std::size_t, Out), In x, std::size_t p) {
  Column out(n);
  f(x, p, out);
  return out;
}

Column rolling_sum(In x, std::size_t period) {
  Column out(x.size(), kNaN);
  double sum = 0;
  std::size_t nan_in_window = 0;
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (std::isnan(x[t]))
      ++nan_in_window;
    else
      sum += x[t];
    if (t >= period) {
      if (std::isnan(x[t - period]))
        --nan_in_window;
      else
        sum -= x[t - period];
    }
    if (t + 1 >= period && nan_in_window == 0) out[t] = sum;
  }
  return out;
}

// Sample standard deviation of x over `period`, skipping windows that hold a NaN.
Column rolling_sd(const Column& x, std::size_t period) {
  Column out(x.size(), kNaN);
  const std::size_t first =
      static_cast<std::size_t>(std::find_if(x.begin(), x.end(), [](double v) { return !std::isnan(v); }) - x.begin());
  if (first >= x.size()) return out;
  rolling_stddev_sample(In(x.data() + first, x.size() - first), period, Out(out.data() + first, x.size() - first));
  return out;
}

struct Candle {
  double body, upper, lower;
};

// ---------------------------------------------------------------------------------------------
// v2: scale-free observation features. Every price-level quantity enters as a ratio or a distance
// relative to the close, every oscillator is centred and scaled to about [-1, 1].
Columns compute_v2(const data::BarSeries& s) {
  const std::size_t n = s.size();
  const std::vector<double>& o = s.open;
  const std::vector<double>& h = s.high;
  const std::vector<double>& l = s.low;
  const std::vector<double>& c = s.close;
  const std::vector<double>& v = s.volume;
  Columns out;

  const Column logc = map(n, [&](std::size_t t) { return std::log(c[t]); });
  const Column r1 = map(n, [&](std::size_t t) { return t >= 1 ? logc[t] - logc[t - 1] : kNaN; });
  auto log_return = [&](std::size_t k) {
    return map(n, [&](std::size_t t) { return t >= k ? logc[t] - logc[t - k] : kNaN; });
  };

  // Returns and momentum.
  out.add("ret_1", "log return over 1 bar", r1);
  Column r5 = log_return(5), r10 = log_return(10), r20 = log_return(20);
  out.add("ret_5", "log return over 5 bars", r5);
  out.add("ret_10", "log return over 10 bars", r10);
  out.add("ret_20", "log return over 20 bars", r20);
  out.add("ret_60", "log return over 60 bars", log_return(60));
  out.add("mom_accel_5", "ret_5 minus ret_5 five bars earlier",
          map(n, [&](std::size_t t) { return r5[t] - lag(r5, t, 5); }));
  out.add("mom_accel_10", "ret_10 minus ret_10 ten bars earlier",
          map(n, [&](std::size_t t) { return r10[t] - lag(r10, t, 10); }));
  out.add("gap", "log(open / previous close): the overnight gap",
          map(n, [&](std::size_t t) { return t >= 1 ? std::log(o[t] / c[t - 1]) : kNaN; }));

  // Trend: distance from moving averages.
  std::vector<Column> smas;
  for (const std::size_t p : {10, 20, 50, 100, 200}) {
    Column m = apply(n, sma, c, p);
    out.add("close_sma_" + std::to_string(p), "close / SMA(" + std::to_string(p) + ") - 1",
            map(n, [&](std::size_t t) { return ratio(c[t], m[t]) - 1; }));
    smas.push_back(std::move(m));
  }
  out.add("sma_20_50", "SMA(20) / SMA(50) - 1",
          map(n, [&](std::size_t t) { return ratio(smas[1][t], smas[2][t]) - 1; }));
  const Column e12 = apply(n, ema, c, 12), e26 = apply(n, ema, c, 26);
  out.add("ema_12_26", "EMA(12) / EMA(26) - 1", map(n, [&](std::size_t t) { return ratio(e12[t], e26[t]) - 1; }));
  const Macd m = macd(c);
  out.add("macd_norm", "MACD(12,26,9) line / close (TA-Lib MACD)",
          map(n, [&](std::size_t t) { return ratio(m.macd[t], c[t]); }));
  out.add("macd_signal_norm", "MACD signal line / close",
          map(n, [&](std::size_t t) { return ratio(m.signal[t], c[t]); }));
  out.add("macd_hist_norm", "MACD histogram / close", map(n, [&](std::size_t t) { return ratio(m.hist[t], c[t]); }));

  // Mean reversion.
  std::vector<Column> zs;
  for (const std::size_t p : {20, 50, 100}) {
    const Column& mean = p == 20 ? smas[1] : p == 50 ? smas[2] : smas[3];
    const Column sd = apply(n, rolling_stddev_sample, c, p);
    zs.push_back(map(n, [&](std::size_t t) { return ratio(c[t] - mean[t], sd[t]); }));
    out.add("zscore_" + std::to_string(p),
            "(close - SMA(" + std::to_string(p) + ")) / sample sd of close over " + std::to_string(p), zs.back());
  }
  const Column& z20 = zs[0];
  out.add("oversold_20", "1 if zscore_20 < -1.5",
          map(n, [&](std::size_t t) { return flag_if(z20[t], z20[t] < -1.5); }));
  out.add("overbought_20", "1 if zscore_20 > 1.5",
          map(n, [&](std::size_t t) { return flag_if(z20[t], z20[t] > 1.5); }));
  out.add("reverting_20", "1 if zscore_20 rose from t-2 to t-1 and zscore_20 < -1", map(n, [&](std::size_t t) {
            return flag_if(lag(z20, t, 2), lag(z20, t, 1) > lag(z20, t, 2) && z20[t] < -1);
          }));

  // Oscillators, centred and scaled.
  const Column rsi14 = apply(n, rsi, c, 14);
  out.add("rsi_14_s", "(RSI(14) - 50) / 50, Wilder (TA-Lib RSI)",
          map(n, [&](std::size_t t) { return (rsi14[t] - 50) / 50; }));
  for (const std::size_t p : {7, 28}) {
    const Column r = apply(n, rsi, c, p);
    out.add("rsi_" + std::to_string(p) + "_s", "(RSI(" + std::to_string(p) + ") - 50) / 50",
            map(n, [&](std::size_t t) { return (r[t] - 50) / 50; }));
  }
  const Stochastic st = stochastic(h, l, c);
  out.add("stoch_k_s", "(slow %K(14,3) - 50) / 50 (TA-Lib STOCH)",
          map(n, [&](std::size_t t) { return (st.k[t] - 50) / 50; }));
  out.add("stoch_d_s", "(slow %D(14,3,3) - 50) / 50", map(n, [&](std::size_t t) { return (st.d[t] - 50) / 50; }));
  Column willr(n), cci20(n), mfi14(n);
  williams_r(h, l, c, 14, willr);
  cci(h, l, c, 20, cci20);
  mfi(h, l, c, v, 14, mfi14);
  out.add("willr_s", "(Williams %R(14) + 50) / 50", map(n, [&](std::size_t t) { return (willr[t] + 50) / 50; }));
  out.add("cci_s", "CCI(20) / 200", map(n, [&](std::size_t t) { return cci20[t] / 200; }));
  out.add("mfi_s", "(MFI(14) - 50) / 50", map(n, [&](std::size_t t) { return (mfi14[t] - 50) / 50; }));
  const Directional dmi = adx(h, l, c);
  out.add("adx_s", "ADX(14) / 50 - 1 (TA-Lib ADX, Wilder)", map(n, [&](std::size_t t) { return dmi.adx[t] / 50 - 1; }));
  out.add("di_diff", "(+DI(14) - -DI(14)) / 100",
          map(n, [&](std::size_t t) { return (dmi.plus_di[t] - dmi.minus_di[t]) / 100; }));
  out.add("strong_trend", "1 if ADX(14) > 25",
          map(n, [&](std::size_t t) { return flag_if(dmi.adx[t], dmi.adx[t] > 25); }));
  out.add("weak_trend", "1 if ADX(14) < 20",
          map(n, [&](std::size_t t) { return flag_if(dmi.adx[t], dmi.adx[t] < 20); }));

  // Bollinger bands (20, 2).
  const Bands bb = bollinger(c);
  const Column bb_width = map(n, [&](std::size_t t) { return ratio(bb.upper[t] - bb.lower[t], bb.middle[t]); });
  out.add("bb_position", "(close - lower) / (upper - lower) - 0.5, Bollinger(20, 2)",
          map(n, [&](std::size_t t) { return ratio(c[t] - bb.lower[t], bb.upper[t] - bb.lower[t]) - 0.5; }));
  out.add("bb_width", "(upper - lower) / middle", bb_width);
  out.add("bb_squeeze", "1 if bb_width is below its 20% quantile over the last 50 bars", [&] {
    Column f(n);
    below_rolling_quantile(bb_width, 50, 0.2, f);
    return f;
  }());
  out.add("touch_lower_bb", "1 if close <= lower band x 1.01",
          map(n, [&](std::size_t t) { return flag_if(bb.lower[t], c[t] <= bb.lower[t] * 1.01); }));
  out.add("touch_upper_bb", "1 if close >= upper band x 0.99",
          map(n, [&](std::size_t t) { return flag_if(bb.upper[t], c[t] >= bb.upper[t] * 0.99); }));

  // Volatility.
  Column atr14(n);
  atr(h, l, c, 14, atr14);
  const Column atr_pct = map(n, [&](std::size_t t) { return ratio(atr14[t], c[t]); });
  out.add("atr_pct", "ATR(14) / close (TA-Lib ATR, Wilder)", atr_pct);
  const Column vol10 = rolling_sd(r1, 10), vol20 = rolling_sd(r1, 20), vol60 = rolling_sd(r1, 60);
  out.add("vol_10", "sample sd of ret_1 over 10 bars", vol10);
  out.add("vol_20", "sample sd of ret_1 over 20 bars", vol20);
  out.add("vol_60", "sample sd of ret_1 over 60 bars", vol60);
  out.add("vol_ratio_10_60", "vol_10 / vol_60 - 1",
          map(n, [&](std::size_t t) { return ratio(vol10[t], vol60[t]) - 1; }));
  out.add("range_pct", "(high - low) / close", map(n, [&](std::size_t t) { return ratio(h[t] - l[t], c[t]); }));
  Column atr_rank(n);
  rolling_percentile_rank(atr_pct, 100, atr_rank);
  out.add("atr_pct_rank_100", "share of the last 100 bars whose atr_pct is <= today's (volatility regime)", atr_rank);

  // Volume.
  const Column vma20 = apply(n, sma, v, 20), vma50 = apply(n, sma, v, 50);
  out.add("log_vol_ratio_20", "log((volume + 1) / (SMA(volume, 20) + 1))",
          map(n, [&](std::size_t t) { return std::log((v[t] + 1) / (vma20[t] + 1)); }));
  out.add("log_vol_ratio_50", "log((volume + 1) / (SMA(volume, 50) + 1))",
          map(n, [&](std::size_t t) { return std::log((v[t] + 1) / (vma50[t] + 1)); }));
  out.add("vol_spike", "1 if volume > 1.5 x SMA(volume, 20)",
          map(n, [&](std::size_t t) { return flag_if(vma20[t], v[t] > 1.5 * vma20[t]); }));
  out.add("vol_bullish", "1 if volume > 1.2 x SMA(volume, 20) and close > previous close", map(n, [&](std::size_t t) {
            return t >= 1 ? flag_if(vma20[t], v[t] > 1.2 * vma20[t] && c[t] > c[t - 1]) : kNaN;
          }));
  out.add("vol_bearish", "1 if volume > 1.2 x SMA(volume, 20) and close < previous close", map(n, [&](std::size_t t) {
            return t >= 1 ? flag_if(vma20[t], v[t] > 1.2 * vma20[t] && c[t] < c[t - 1]) : kNaN;
          }));
  out.add("vol_low", "1 if volume < 0.7 x SMA(volume, 20)",
          map(n, [&](std::size_t t) { return flag_if(vma20[t], v[t] < 0.7 * vma20[t]); }));
  Column obv_line(n);
  obv(c, v, obv_line);
  const Column vsum20 = rolling_sum(v, 20);
  out.add("obv_slope_20", "(OBV - OBV 20 bars earlier) / total volume of the last 20 bars", map(n, [&](std::size_t t) {
            return t >= 20 && vsum20[t] > 0 ? (obv_line[t] - obv_line[t - 20]) / vsum20[t] : (t >= 20 ? 0.0 : kNaN);
          }));

  // Support and resistance: distances to the extremes of the last w bars (including today).
  std::vector<Column> dist_support, dist_resistance;
  for (const std::size_t w : {20, 50, 100}) {
    Column lo(n), hi(n);
    rolling_min(l, w, lo);
    rolling_max(h, w, hi);
    dist_support.push_back(map(n, [&](std::size_t t) { return ratio(c[t] - lo[t], c[t]); }));
    dist_resistance.push_back(map(n, [&](std::size_t t) { return ratio(hi[t] - c[t], c[t]); }));
    out.add("dist_support_" + std::to_string(w), "(close - lowest low of " + std::to_string(w) + " bars) / close",
            dist_support.back());
    out.add("dist_resistance_" + std::to_string(w), "(highest high of " + std::to_string(w) + " bars - close) / close",
            dist_resistance.back());
  }
  out.add("near_support_20", "1 if dist_support_20 < 2%",
          map(n, [&](std::size_t t) { return flag_if(dist_support[0][t], dist_support[0][t] < 0.02); }));
  out.add("near_resistance_20", "1 if dist_resistance_20 < 2%",
          map(n, [&](std::size_t t) { return flag_if(dist_resistance[0][t], dist_resistance[0][t] < 0.02); }));
  Column close_rank(n);
  rolling_percentile_rank(c, 100, close_rank);
  out.add("close_rank_100", "share of the last 100 closes <= today's close", close_rank);

  // Candles.
  const std::vector<Candle> candle = [&] {
    std::vector<Candle> cs(n);
    for (std::size_t t = 0; t < n; ++t)
      cs[t] = {std::abs(c[t] - o[t]), h[t] - std::max(o[t], c[t]), std::min(o[t], c[t]) - l[t]};
    return cs;
  }();
  out.add("body_pct", "(close - open) / open", map(n, [&](std::size_t t) { return ratio(c[t] - o[t], o[t]); }));
  out.add("upper_wick_pct", "(high - max(open, close)) / close",
          map(n, [&](std::size_t t) { return ratio(candle[t].upper, c[t]); }));
  out.add("lower_wick_pct", "(min(open, close) - low) / close",
          map(n, [&](std::size_t t) { return ratio(candle[t].lower, c[t]); }));
  auto hammer = [&](std::size_t t) { return candle[t].lower > 2 * candle[t].body && candle[t].upper < candle[t].body; };
  auto star = [&](std::size_t t) { return candle[t].upper > 2 * candle[t].body && candle[t].lower < candle[t].body; };
  auto bull_engulf = [&](std::size_t t) {
    return t >= 1 && c[t - 1] < o[t - 1] && c[t] > o[t] && o[t] <= c[t - 1] && c[t] >= o[t - 1];
  };
  auto bear_engulf = [&](std::size_t t) {
    return t >= 1 && c[t - 1] > o[t - 1] && c[t] < o[t] && o[t] >= c[t - 1] && c[t] <= o[t - 1];
  };
  out.add("hammer", "1 if lower wick > 2 x body and upper wick < body",
          map(n, [&](std::size_t t) { return flag(hammer(t)); }));
  out.add("shooting_star", "1 if upper wick > 2 x body and lower wick < body",
          map(n, [&](std::size_t t) { return flag(star(t)); }));
  out.add("doji", "1 if abs(close - open) / open < 0.1%",
          map(n, [&](std::size_t t) { return flag(candle[t].body / o[t] < 0.001); }));
  out.add("bullish_engulfing", "1 if a down bar is followed by an up bar whose body covers it",
          map(n, [&](std::size_t t) { return t >= 1 ? flag(bull_engulf(t)) : kNaN; }));
  out.add("bearish_engulfing", "1 if an up bar is followed by a down bar whose body covers it",
          map(n, [&](std::size_t t) { return t >= 1 ? flag(bear_engulf(t)) : kNaN; }));

  // Divergences over the previous 10 bars (today excluded from the reference extremes).
  Column prev_min_c(n, kNaN), prev_max_c(n, kNaN), prev_min_rsi(n, kNaN), prev_max_rsi(n, kNaN);
  {
    Column tmp(n);
    rolling_min(c, 10, tmp);
    for (std::size_t t = 1; t < n; ++t) prev_min_c[t] = tmp[t - 1];
    rolling_max(c, 10, tmp);
    for (std::size_t t = 1; t < n; ++t) prev_max_c[t] = tmp[t - 1];
    const std::size_t first = std::min(n, std::size_t{14});
    Column rmin(n, kNaN), rmax(n, kNaN);
    if (n > first) {
      rolling_min(In(rsi14.data() + first, n - first), 10, Out(rmin.data() + first, n - first));
      rolling_max(In(rsi14.data() + first, n - first), 10, Out(rmax.data() + first, n - first));
    }
    for (std::size_t t = 1; t < n; ++t) {
      prev_min_rsi[t] = rmin[t - 1];
      prev_max_rsi[t] = rmax[t - 1];
    }
  }
  const Column bull_div = map(n, [&](std::size_t t) {
    return std::isnan(prev_min_rsi[t]) ? kNaN : flag(c[t] < prev_min_c[t] && rsi14[t] > prev_min_rsi[t]);
  });
  const Column bear_div = map(n, [&](std::size_t t) {
    return std::isnan(prev_max_rsi[t]) ? kNaN : flag(c[t] > prev_max_c[t] && rsi14[t] < prev_max_rsi[t]);
  });
  out.add("bullish_divergence", "1 if close makes a new 10-bar low while RSI(14) stays above its previous 10-bar low",
          bull_div);
  out.add("bearish_divergence", "1 if close makes a new 10-bar high while RSI(14) stays below its previous 10-bar high",
          bear_div);

  // Entry scores: counts of the buy and sell flags above.
  auto column = [&](std::string_view name) -> const Column& { return out.get(name); };
  const std::vector<const Column*> buy = {
      &column("near_support_20"),    &column("oversold_20"),   &column("reverting_20"),
      &column("vol_bullish"),        &column("hammer"),        &column("bullish_engulfing"),
      &column("bullish_divergence"), &column("touch_lower_bb")};
  const std::vector<const Column*> sell = {&column("near_resistance_20"), &column("overbought_20"),
                                           &column("shooting_star"),      &column("bearish_engulfing"),
                                           &column("bearish_divergence"), &column("touch_upper_bb")};
  auto score = [n](const std::vector<const Column*>& flags) {
    return map(n, [&](std::size_t t) {
      double sum = 0;
      for (const auto* f : flags) sum += (*f)[t];
      return sum / static_cast<double>(flags.size());
    });
  };
  const Column buy_score = score(buy), sell_score = score(sell);
  out.add("buy_score",
          "share of the 8 buy flags set (near support, oversold, reverting, bullish volume, hammer, bullish engulfing, "
          "bullish divergence, lower band)",
          buy_score);
  out.add("sell_score",
          "share of the 6 sell flags set (near resistance, overbought, shooting star, bearish engulfing, bearish "
          "divergence, upper band)",
          sell_score);
  out.add("entry_signal", "buy_score - sell_score",
          map(n, [&](std::size_t t) { return buy_score[t] - sell_score[t]; }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// seed_v2: the seed's advanced_features_v2 columns (shared/seed-spec.md, section 3), price-level
// columns included, NaN forward-filled then 0, as the seed did. Assumptions where the spec is
// silent are listed in docs/features.md.
Columns compute_seed_v2(const data::BarSeries& s) {
  const std::size_t n = s.size();
  const std::vector<double>& o = s.open;
  const std::vector<double>& h = s.high;
  const std::vector<double>& l = s.low;
  const std::vector<double>& c = s.close;
  const std::vector<double>& v = s.volume;
  Columns out;
  for (const std::size_t w : {20, 50, 100}) {
    const std::string k = std::to_string(w);
    Column lo(n), hi(n);
    rolling_min(l, w, lo);
    rolling_max(h, w, hi);
    const Column ds = map(n, [&](std::size_t t) { return (c[t] - lo[t]) / c[t]; });
    const Column dr = map(n, [&](std::size_t t) { return (hi[t] - c[t]) / c[t]; });
    out.add("support_" + k, "rolling min of low over " + k, lo);
    out.add("resistance_" + k, "rolling max of high over " + k, hi);
    out.add("dist_support_" + k, "(close - support) / close", ds);
    out.add("dist_resistance_" + k, "(resistance - close) / close", dr);
    out.add("near_support_" + k, "dist_support < 2%",
            map(n, [&](std::size_t t) { return flag_if(ds[t], ds[t] < 0.02); }));
    out.add("near_resistance_" + k, "dist_resistance < 2%",
            map(n, [&](std::size_t t) { return flag_if(dr[t], dr[t] < 0.02); }));
  }
  for (const std::size_t w : {20, 50}) {
    const std::string k = std::to_string(w);
    const Column ma = apply(n, sma, c, w), sd = apply(n, rolling_stddev_sample, c, w);
    const Column z = map(n, [&](std::size_t t) { return (c[t] - ma[t]) / sd[t]; });
    out.add("ma_" + k, "SMA of close", ma);
    out.add("std_" + k, "sample sd of close", sd);
    out.add("zscore_" + k, "(close - ma) / std", z);
    out.add("oversold_" + k, "zscore < -1.5", map(n, [&](std::size_t t) { return flag_if(z[t], z[t] < -1.5); }));
    out.add("overbought_" + k, "zscore > 1.5", map(n, [&](std::size_t t) { return flag_if(z[t], z[t] > 1.5); }));
    out.add("reverting_" + k, "zscore rose from t-2 to t-1 and zscore < -1",
            map(n, [&](std::size_t t) { return flag_if(lag(z, t, 2), lag(z, t, 1) > lag(z, t, 2) && z[t] < -1); }));
  }
  const Column vma20 = apply(n, sma, v, 20), vma50 = apply(n, sma, v, 50);
  const Column vr = map(n, [&](std::size_t t) { return v[t] / vma20[t]; });
  out.add("vol_ma_20", "SMA of volume over 20", vma20);
  out.add("vol_ma_50", "SMA of volume over 50", vma50);
  out.add("vol_ratio", "volume / vol_ma_20", vr);
  out.add("vol_spike", "vol_ratio > 1.5", map(n, [&](std::size_t t) { return flag_if(vr[t], vr[t] > 1.5); }));
  out.add("vol_bullish", "vol_ratio > 1.2 and close > previous close",
          map(n, [&](std::size_t t) { return flag_if(vr[t], vr[t] > 1.2 && t >= 1 && c[t] > c[t - 1]); }));
  out.add("vol_bearish", "vol_ratio > 1.2 and close < previous close",
          map(n, [&](std::size_t t) { return flag_if(vr[t], vr[t] > 1.2 && t >= 1 && c[t] < c[t - 1]); }));
  out.add("vol_low", "vol_ratio < 0.7", map(n, [&](std::size_t t) { return flag_if(vr[t], vr[t] < 0.7); }));
  const Column body = map(n, [&](std::size_t t) { return std::abs(c[t] - o[t]); });
  const Column upper = map(n, [&](std::size_t t) { return h[t] - std::max(o[t], c[t]); });
  const Column lower = map(n, [&](std::size_t t) { return std::min(o[t], c[t]) - l[t]; });
  out.add("body", "abs(close - open)", body);
  out.add("body_pct", "body / open", map(n, [&](std::size_t t) { return body[t] / o[t]; }));
  out.add("upper_wick", "high - max(open, close)", upper);
  out.add("lower_wick", "min(open, close) - low", lower);
  out.add("hammer", "lower wick > 2 body and upper wick < body",
          map(n, [&](std::size_t t) { return flag(lower[t] > 2 * body[t] && upper[t] < body[t]); }));
  out.add("shooting_star", "upper wick > 2 body and lower wick < body",
          map(n, [&](std::size_t t) { return flag(upper[t] > 2 * body[t] && lower[t] < body[t]); }));
  out.add("doji", "body_pct < 0.1%", map(n, [&](std::size_t t) { return flag(body[t] / o[t] < 0.001); }));
  out.add("bullish_engulfing", "down bar then an up bar covering it", map(n, [&](std::size_t t) {
            return flag(t >= 1 && c[t - 1] < o[t - 1] && c[t] > o[t] && o[t] < c[t - 1] && c[t] > o[t - 1]);
          }));
  out.add("bearish_engulfing", "up bar then a down bar covering it", map(n, [&](std::size_t t) {
            return flag(t >= 1 && c[t - 1] > o[t - 1] && c[t] < o[t] && o[t] > c[t - 1] && c[t] < o[t - 1]);
          }));
  const Column r = apply(n, seed_rsi, c, 14);
  Column cmin(n), cmax(n), rmin(n, kNaN), rmax(n, kNaN);
  rolling_min(c, 10, cmin);
  rolling_max(c, 10, cmax);
  if (n > 14) {
    rolling_min(In(r.data() + 14, n - 14), 10, Out(rmin.data() + 14, n - 14));
    rolling_max(In(r.data() + 14, n - 14), 10, Out(rmax.data() + 14, n - 14));
  }
  const Column pll = map(n, [&](std::size_t t) { return flag_if(lag(cmin, t, 1), c[t] < lag(cmin, t, 1)); });
  const Column rhl = map(n, [&](std::size_t t) { return flag_if(lag(rmin, t, 1), r[t] > lag(rmin, t, 1)); });
  const Column phh = map(n, [&](std::size_t t) { return flag_if(lag(cmax, t, 1), c[t] > lag(cmax, t, 1)); });
  const Column rlh = map(n, [&](std::size_t t) { return flag_if(lag(rmax, t, 1), r[t] < lag(rmax, t, 1)); });
  out.add("rsi", "RSI(14) with simple rolling means (the seed's)", r);
  out.add("price_lower_low", "close < min close of the previous 10 bars", pll);
  out.add("rsi_higher_low", "rsi > min rsi of the previous 10 bars", rhl);
  out.add("bullish_divergence", "price_lower_low and rsi_higher_low",
          map(n, [&](std::size_t t) { return pll[t] * rhl[t]; }));
  out.add("price_higher_high", "close > max close of the previous 10 bars", phh);
  out.add("rsi_lower_high", "rsi < max rsi of the previous 10 bars", rlh);
  out.add("bearish_divergence", "price_higher_high and rsi_lower_high",
          map(n, [&](std::size_t t) { return phh[t] * rlh[t]; }));
  const Column mid = apply(n, sma, c, 20), bsd = apply(n, rolling_stddev_sample, c, 20);
  const Column up = map(n, [&](std::size_t t) { return mid[t] + 2 * bsd[t]; });
  const Column lo = map(n, [&](std::size_t t) { return mid[t] - 2 * bsd[t]; });
  const Column width = map(n, [&](std::size_t t) { return (up[t] - lo[t]) / mid[t]; });
  out.add("bb_mid", "SMA(20)", mid);
  out.add("bb_std", "sample sd over 20", bsd);
  out.add("bb_upper", "bb_mid + 2 bb_std", up);
  out.add("bb_lower", "bb_mid - 2 bb_std", lo);
  out.add("bb_width", "(upper - lower) / mid", width);
  out.add("bb_position", "(close - lower) / (upper - lower)",
          map(n, [&](std::size_t t) { return (c[t] - lo[t]) / (up[t] - lo[t]); }));
  out.add("touch_lower_bb", "close <= lower x 1.01",
          map(n, [&](std::size_t t) { return flag_if(lo[t], c[t] <= lo[t] * 1.01); }));
  out.add("touch_upper_bb", "close >= upper x 0.99",
          map(n, [&](std::size_t t) { return flag_if(up[t], c[t] >= up[t] * 0.99); }));
  out.add("bb_squeeze", "bb_width below its 50-bar 20% quantile", [&] {
    Column f(n);
    below_rolling_quantile(width, 50, 0.2, f);
    return f;
  }());
  auto col = [&](std::string_view name) -> const Column& { return out.get(name); };
  const char* buy_flags[] = {"near_support_20",   "near_support_50",    "oversold_20",   "oversold_50",
                             "reverting_20",      "reverting_50",       "vol_bullish",   "hammer",
                             "bullish_engulfing", "bullish_divergence", "touch_lower_bb"};
  const char* sell_flags[] = {"near_resistance_20", "near_resistance_50", "overbought_20",      "overbought_50",
                              "shooting_star",      "bearish_engulfing",  "bearish_divergence", "touch_upper_bb"};
  Column buy(n, 0.0), sell(n, 0.0);
  for (const char* f : buy_flags) {
    const Column& x = col(f);
    for (std::size_t t = 0; t < n; ++t) buy[t] += std::isnan(x[t]) ? 0.0 : x[t];
  }
  for (const char* f : sell_flags) {
    const Column& x = col(f);
    for (std::size_t t = 0; t < n; ++t) sell[t] += std::isnan(x[t]) ? 0.0 : x[t];
  }
  out.add("buy_score", "sum of 11 buy flags", buy);
  out.add("buy_score_norm", "buy_score / 11", map(n, [&](std::size_t t) { return buy[t] / 11; }));
  out.add("sell_score", "sum of 8 sell flags", sell);
  out.add("sell_score_norm", "sell_score / 8", map(n, [&](std::size_t t) { return sell[t] / 8; }));
  out.add("entry_signal", "buy_score_norm - sell_score_norm",
          map(n, [&](std::size_t t) { return buy[t] / 11 - sell[t] / 8; }));
  for (const std::size_t p : {5, 10, 20}) {
    const std::string k = std::to_string(p);
    const Column rc = map(n, [&](std::size_t t) { return t >= p ? c[t] / c[t - p] - 1 : kNaN; });
    const Column acc = map(n, [&](std::size_t t) { return rc[t] - lag(rc, t, 1); });
    out.add("roc_" + k, "close / close " + k + " bars earlier - 1", rc);
    out.add("momentum_accel_" + k, "roc_" + k + " minus its previous value", acc);
    out.add("momentum_start_" + k, "accel > 0 and abs(roc) < 5%",
            map(n, [&](std::size_t t) { return flag_if(acc[t], acc[t] > 0 && std::abs(rc[t]) < 0.05); }));
  }
  const Directional d = seed_adx(h, l, c, 14);
  out.add("plus_di", "+DI(14), simple means (the seed's)", d.plus_di);
  out.add("minus_di", "-DI(14), simple means", d.minus_di);
  out.add("adx", "ADX(14), simple means", d.adx);
  out.add("strong_trend", "adx > 25", map(n, [&](std::size_t t) { return flag_if(d.adx[t], d.adx[t] > 25); }));
  out.add("weak_trend", "adx < 20", map(n, [&](std::size_t t) { return flag_if(d.adx[t], d.adx[t] < 20); }));
  Column tr(n);
  true_range(h, l, c, tr);
  Column atr_simple(n, kNaN);
  if (n > 1) sma(In(tr.data() + 1, n - 1), 14, Out(atr_simple.data() + 1, n - 1));
  const Column atr_pct = map(n, [&](std::size_t t) { return atr_simple[t] / c[t]; });
  Column atr_ref(n, kNaN);
  {
    const auto first = static_cast<std::size_t>(
        std::find_if(atr_pct.begin(), atr_pct.end(), [](double x) { return !std::isnan(x); }) - atr_pct.begin());
    if (first < n) sma(In(atr_pct.data() + first, n - first), 50, Out(atr_ref.data() + first, n - first));
  }
  out.add("atr", "mean true range over 14 (simple mean)", atr_simple);
  out.add("atr_pct", "atr / close", atr_pct);
  out.add("high_vol", "atr_pct > 1.5 x its 50-bar mean",
          map(n, [&](std::size_t t) { return flag_if(atr_ref[t], atr_pct[t] > 1.5 * atr_ref[t]); }));
  out.add("low_vol", "atr_pct < 0.5 x its 50-bar mean",
          map(n, [&](std::size_t t) { return flag_if(atr_ref[t], atr_pct[t] < 0.5 * atr_ref[t]); }));
  // The seed forward-filled then replaced what was left by 0 (causal: only earlier values are used).
  for (auto& column : out.data) {
    double last = kNaN;
    for (auto& x : column) {
      if (std::isnan(x) || std::isinf(x)) {
        x = std::isnan(last) ? 0.0 : last;
      } else {
        last = x;
      }
    }
  }
  return out;
}

Columns compute_raw(const data::BarSeries& s) {
  const std::size_t n = s.size();
  Columns out;
  out.add("sma_20", "SMA(close, 20)", apply(n, sma, s.close, 20));
  out.add("sma_50", "SMA(close, 50)", apply(n, sma, s.close, 50));
  out.add("ema_12", "EMA(close, 12)", apply(n, ema, s.close, 12));
  out.add("ema_26", "EMA(close, 26)", apply(n, ema, s.close, 26));
  out.add("rsi_14", "RSI(close, 14), Wilder", apply(n, rsi, s.close, 14));
  Macd m = macd(s.close);
  out.add("macd", "MACD(12, 26, 9) line", m.macd);
  out.add("macd_signal", "MACD signal", m.signal);
  out.add("macd_hist", "MACD histogram", m.hist);
  Bands b = bollinger(s.close);
  out.add("bb_upper", "BBANDS(20, 2) upper", b.upper);
  out.add("bb_middle", "BBANDS(20, 2) middle", b.middle);
  out.add("bb_lower", "BBANDS(20, 2) lower", b.lower);
  Column a(n), cc(n), w(n), mf(n), ob(n), rc(n);
  atr(s.high, s.low, s.close, 14, a);
  out.add("atr_14", "ATR(14), Wilder", a);
  out.add("adx_14", "ADX(14), Wilder", adx(s.high, s.low, s.close).adx);
  Stochastic st = stochastic(s.high, s.low, s.close);
  out.add("stoch_k", "STOCH slow %K (14, 3)", st.k);
  out.add("stoch_d", "STOCH slow %D (3)", st.d);
  cci(s.high, s.low, s.close, 20, cc);
  out.add("cci_20", "CCI(20)", cc);
  williams_r(s.high, s.low, s.close, 14, w);
  out.add("willr_14", "Williams %R(14)", w);
  mfi(s.high, s.low, s.close, s.volume, 14, mf);
  out.add("mfi_14", "MFI(14)", mf);
  obv(s.close, s.volume, ob);
  out.add("obv", "OBV", ob);
  roc(s.close, 10, rc);
  out.add("roc_10", "ROC(10), percent", rc);
  return out;
}

Columns compute_set(const std::string& set, const data::BarSeries& s) {
  return set == "seed_v2" ? compute_seed_v2(s) : compute_v2(s);
}

}  // namespace

FeatureEngine::FeatureEngine(std::string feature_set) : feature_set_(std::move(feature_set)) {
  if (feature_set_ != "v2" && feature_set_ != "seed_v2") {
    throw InputError("unknown feature set '" + feature_set_ + "' (expected v2 or seed_v2)");
  }
  features_ = compute_set(feature_set_, data::BarSeries{}).info;
}

std::string FeatureEngine::version() const {
  return feature_set_ == "v2" ? "v2.1" : "seed_v2.1";
}

const std::vector<FeatureInfo>& FeatureEngine::raw_features() {
  static const std::vector<FeatureInfo> info = compute_raw(data::BarSeries{}).info;
  return info;
}

FeatureMatrix FeatureEngine::compute(const data::BarSeries& series, bool include_raw) const {
  Columns columns = compute_set(feature_set_, series);
  const std::size_t observation_cols = columns.data.size();
  if (include_raw) {
    Columns raw = compute_raw(series);
    for (std::size_t i = 0; i < raw.data.size(); ++i)
      columns.add(raw.info[i].name, raw.info[i].description, std::move(raw.data[i]));
  }
  FeatureMatrix m;
  m.ticker = series.ticker;
  m.time = series.time;
  for (const auto& info : columns.info) m.names.push_back(info.name);
  const std::size_t rows = series.size(), cols = columns.data.size();
  m.values.resize(rows * cols);  // every cell is written below
  m.valid.assign(rows, 1);
  // Column-major doubles to row-major floats in blocks of rows that stay in cache.
  constexpr std::size_t kBlock = 8;
  for (std::size_t first = 0; first < rows; first += kBlock) {
    const std::size_t last = std::min(rows, first + kBlock);
    for (std::size_t c = 0; c < cols; ++c) {
      const double* col = columns.data[c].data();
      for (std::size_t t = first; t < last; ++t) {
        const double x = col[t];
        if (std::isfinite(x)) {
          m.values[t * cols + c] = static_cast<float>(x);
        } else {
          m.values[t * cols + c] = 0.0f;
          if (c < observation_cols) m.valid[t] = 0;  // the raw columns never gate validity
        }
      }
    }
  }
  return m;
}

std::vector<FeatureMatrix> FeatureEngine::compute(const data::Panel& panel) const {
  std::vector<FeatureMatrix> out;
  for (std::size_t k = 0; k < panel.ticker_count(); ++k) {
    data::BarSeries s;
    s.ticker = panel.tickers[k];
    s.timeframe = panel.timeframe;
    std::vector<std::size_t> rows;
    for (std::size_t t = 0; t < panel.size(); ++t) {
      if (!panel.valid[k][t]) continue;
      s.push_back(
          {panel.time[t], panel.open[k][t], panel.high[k][t], panel.low[k][t], panel.close[k][t], panel.volume[k][t]});
      rows.push_back(t);
    }
    const FeatureMatrix own = compute(s);
    FeatureMatrix m;
    m.ticker = s.ticker;
    m.time = panel.time;
    m.names = own.names;
    m.values.assign(panel.size() * own.cols(), 0.0f);
    m.valid.assign(panel.size(), 0);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::copy_n(own.values.begin() + static_cast<std::ptrdiff_t>(i * own.cols()), own.cols(),
                  m.values.begin() + static_cast<std::ptrdiff_t>(rows[i] * own.cols()));
      m.valid[rows[i]] = own.valid[i];
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace ploutos::features
