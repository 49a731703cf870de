#pragma once
// Performance metrics: one library for env, backtest, diagnose and trading.
#include <cstddef>
#include <span>
#include <vector>

namespace ploutos::risk {

struct ClosedTrade {
  double pnl = 0.0;         // after costs, USD
  double return_pct = 0.0;  // pnl / entry notional
  std::size_t bars_held = 0;
};

struct Metrics {
  double total_return = 0;                // equity_end / equity_start - 1
  double annual_return = 0;               // geometric, periods_per_year bars a year
  double volatility = 0;                  // annualised sd of bar returns
  double sharpe = 0;                      // annualised mean / sd of bar returns (risk-free 0)
  double sortino = 0;                     // annualised mean / downside deviation
  double calmar = 0;                      // annual_return / max_drawdown
  double max_drawdown = 0;                // fraction of the running peak, >= 0
  std::size_t max_drawdown_duration = 0;  // bars from a peak to the recovery (or the end)
  double win_rate = 0;                    // winning trades / closed trades
  // Gross profit / gross loss: +inf with profits and no loss (JSON null), 0 without profits.
  double profit_factor = 0;
  double expectancy = 0;  // mean pnl per closed trade, USD
  double turnover = 0;    // traded notional / mean equity, annualised
  std::size_t trades = 0;
  double avg_holding_bars = 0;  // mean bars a closed trade was held
  double exposure = 0;          // mean share of equity in positions (when the caller gives it)
};

// `equity` is the marked equity per bar; `traded_notional` the sum of |fills| over the period.
Metrics compute_metrics(std::span<const double> equity, std::span<const ClosedTrade> trades, double traded_notional,
                        double periods_per_year = 252.0, std::span<const double> exposure = {});

double max_drawdown(std::span<const double> equity);

// Standard normal distribution function and its inverse (Acklam's approximation refined by one
// Halley step: |error| < 1e-12 on (0, 1)).
double normal_cdf(double x);
double normal_quantile(double p);

// The deflated Sharpe ratio (Bailey and Lopez de Prado, 2014): the probability that the observed
// Sharpe ratio beats the best one expected from `trials` unskilled trials whose Sharpe ratios vary as
// `trial_sharpes` do, given the returns' length, skewness and kurtosis. All Sharpe ratios per period
// (not annualised).
struct DeflatedSharpe {
  double sharpe = 0;       // of `returns`, per period
  double benchmark = 0;    // SR0: expected maximum Sharpe of the trials under no skill
  double probability = 0;  // DSR in [0, 1]; above 0.95 is significant at 5%
  std::size_t trials = 0, periods = 0;
  double skewness = 0, kurtosis = 3;  // kurtosis not in excess
};
DeflatedSharpe deflated_sharpe(std::span<const double> returns, std::span<const double> trial_sharpes);

}  // namespace ploutos::risk
