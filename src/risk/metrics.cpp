#include "ploutos/risk/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ploutos::risk {

double max_drawdown(std::span<const double> equity) {
  double peak = 0, worst = 0;
  for (const double e : equity) {
    peak = std::max(peak, e);
    if (peak > 0) worst = std::max(worst, 1 - e / peak);
  }
  return worst;
}

Metrics compute_metrics(std::span<const double> equity, std::span<const ClosedTrade> trades, double traded_notional,
                        double periods_per_year, std::span<const double> exposure) {
  Metrics m;
  if (!exposure.empty()) {
    for (const double x : exposure) m.exposure += x;
    m.exposure /= static_cast<double>(exposure.size());
  }
  if (equity.size() >= 2 && equity.front() > 0) {
    const std::size_t n = equity.size() - 1;
    m.total_return = equity.back() / equity.front() - 1;
    const double years = static_cast<double>(n) / periods_per_year;
    m.annual_return = equity.back() > 0 ? std::pow(equity.back() / equity.front(), 1 / years) - 1 : -1;
    double mean = 0, downside = 0;
    std::vector<double> r(n);
    for (std::size_t i = 0; i < n; ++i) {
      r[i] = equity[i] > 0 ? equity[i + 1] / equity[i] - 1 : 0;
      mean += r[i];
    }
    mean /= static_cast<double>(n);
    double var = 0;
    for (const double x : r) {
      var += (x - mean) * (x - mean);
      downside += x < 0 ? x * x : 0;
    }
    const double sd = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0;
    const double dd = std::sqrt(downside / static_cast<double>(n));
    const double annual = std::sqrt(periods_per_year);
    m.volatility = sd * annual;
    m.sharpe = sd > 0 ? mean / sd * annual : 0;
    m.sortino = dd > 0 ? mean / dd * annual : 0;
    double peak = equity.front();
    std::size_t peak_at = 0, longest = 0;
    for (std::size_t i = 0; i < equity.size(); ++i) {
      if (equity[i] >= peak) {
        peak = equity[i];
        peak_at = i;
      }
      longest = std::max(longest, i - peak_at);
    }
    m.max_drawdown = max_drawdown(equity);
    m.max_drawdown_duration = longest;
    m.calmar = m.max_drawdown > 0 ? m.annual_return / m.max_drawdown : 0;
    double mean_equity = 0;
    for (const double e : equity) mean_equity += e;
    mean_equity /= static_cast<double>(equity.size());
    m.turnover = mean_equity > 0 && years > 0 ? traded_notional / mean_equity / years : 0;
  }
  double gross_profit = 0, gross_loss = 0, total = 0;
  std::size_t wins = 0;
  double held = 0;
  for (const auto& t : trades) {
    total += t.pnl;
    held += static_cast<double>(t.bars_held);
    if (t.pnl > 0) {
      ++wins;
      gross_profit += t.pnl;
    } else {
      gross_loss -= t.pnl;
    }
  }
  m.trades = trades.size();
  if (!trades.empty()) {
    m.win_rate = static_cast<double>(wins) / static_cast<double>(trades.size());
    m.expectancy = total / static_cast<double>(trades.size());
    m.avg_holding_bars = held / static_cast<double>(trades.size());
  }
  m.profit_factor = gross_loss > 0     ? gross_profit / gross_loss
                    : gross_profit > 0 ? std::numeric_limits<double>::infinity()
                                       : 0;
  return m;
}

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

double normal_quantile(double p) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  // Acklam's rational approximations, central region and tails.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  double x = 0;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = normal_cdf(x) - p;  // one Halley step
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

DeflatedSharpe deflated_sharpe(std::span<const double> returns, std::span<const double> trial_sharpes) {
  DeflatedSharpe out;
  out.periods = returns.size();
  out.trials = std::max<std::size_t>(1, trial_sharpes.size());
  if (returns.size() < 3) return out;
  const double n = static_cast<double>(returns.size());
  double mean = 0;
  for (const double r : returns) mean += r;
  mean /= n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (const double r : returns) {
    const double d = r - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  if (m2 <= 0) return out;
  const double sd = std::sqrt(m2);
  out.sharpe = mean / sd;
  out.skewness = m3 / (sd * sd * sd);
  out.kurtosis = m4 / (m2 * m2);
  double trial_mean = 0, trial_var = 0;
  for (const double s : trial_sharpes) trial_mean += s;
  if (!trial_sharpes.empty()) trial_mean /= static_cast<double>(trial_sharpes.size());
  for (const double s : trial_sharpes) trial_var += (s - trial_mean) * (s - trial_mean);
  if (trial_sharpes.size() > 1) trial_var /= static_cast<double>(trial_sharpes.size() - 1);
  const double trials = static_cast<double>(out.trials);
  constexpr double kEulerGamma = 0.5772156649015329;
  out.benchmark = out.trials > 1 ? std::sqrt(trial_var) * ((1 - kEulerGamma) * normal_quantile(1 - 1 / trials) +
                                                           kEulerGamma * normal_quantile(1 - 1 / (trials * M_E)))
                                 : 0.0;
  const double denominator = 1 - out.skewness * out.sharpe + (out.kurtosis - 1) / 4 * out.sharpe * out.sharpe;
  out.probability =
      denominator > 0 ? normal_cdf((out.sharpe - out.benchmark) * std::sqrt(n - 1) / std::sqrt(denominator)) : 0.0;
  return out;
}

}  // namespace ploutos::risk
