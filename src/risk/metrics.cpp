#include "ploutos/risk/metrics.hpp"

#include <algorithm>
#include <cmath>

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
                        double periods_per_year) {
  Metrics m;
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
  for (const auto& t : trades) {
    total += t.pnl;
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
  }
  m.profit_factor = gross_loss > 0 ? gross_profit / gross_loss : 0;
  return m;
}

}  // namespace ploutos::risk
