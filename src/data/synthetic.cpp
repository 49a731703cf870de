#include "ploutos/data/synthetic.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <iterator>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::data {
namespace {

constexpr double kTradingDays = 252.0;

double round4(double v) {
  return std::round(v * 1e4) / 1e4;
}

struct Regime {
  double drift;       // annual, added to the long-run drift
  double volatility;  // multiplier
};
constexpr Regime kRegimes[] = {{0.15, 0.8}, {-0.30, 1.5}, {-0.05, 1.0}};  // bull, bear, sideways

void check(const SyntheticOptions& o) {
  auto bad = [](const std::string& what) { throw InputError("synthetic market: " + what); };
  if (o.tickers.empty()) bad("expected at least one ticker");
  if (o.sessions < 2) bad("expected at least 2 sessions");
  if (o.sectors < 1) bad("expected at least one sector");
  if (!(o.market_correlation >= 0 && o.market_correlation < 1 && o.sector_correlation >= o.market_correlation &&
        o.sector_correlation < 1)) {
    bad("expected 0 <= market_correlation <= sector_correlation < 1");
  }
  if (!(o.garch_alpha >= 0 && o.garch_beta >= 0 && o.garch_alpha + o.garch_beta < 1))
    bad("expected garch alpha + beta < 1");
  if (!(o.tail_dof > 2)) bad("expected tail_dof > 2");
  if (o.intrabar_steps < 2) bad("expected intrabar_steps >= 2");
  const std::size_t n = o.tickers.size();
  if (!o.correlation.empty() && o.correlation.size() != n * n)
    bad("expected a correlation matrix of tickers x tickers");
  if (!o.ticker_volatility.empty() && o.ticker_volatility.size() != n) bad("expected one volatility per ticker");
  if (!o.ticker_drift.empty() && o.ticker_drift.size() != n) bad("expected one drift per ticker");
}

}  // namespace

double synthetic_correlation(const SyntheticOptions& o, std::size_t i, std::size_t j) {
  if (i == j) return 1.0;
  if (!o.correlation.empty()) return o.correlation[i * o.tickers.size() + j];
  const auto sectors = static_cast<std::size_t>(o.sectors);
  return i % sectors == j % sectors ? o.sector_correlation : o.market_correlation;
}

std::vector<BarSeries> generate_synthetic(const SyntheticOptions& o) {
  check(o);
  const std::size_t n = o.tickers.size();
  const auto& cal = calendar::nyse();
  std::vector<Day> days;
  days.reserve(static_cast<std::size_t>(o.sessions));
  for (Day d = cal.is_session(o.start) ? o.start : cal.next_session(o.start);
       days.size() < static_cast<std::size_t>(o.sessions); d = cal.next_session(d)) {
    days.push_back(d);
  }

  Eigen::MatrixXd corr(n, n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j)
      corr(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = synthetic_correlation(o, i, j);
  }
  const Eigen::LLT<Eigen::MatrixXd> llt(corr);
  if (llt.info() != Eigen::Success) throw InputError("synthetic market: correlation matrix is not positive definite");
  const Eigen::MatrixXd chol = llt.matrixL();
  // The common volatility shock is the equally weighted market move, scaled to unit variance.
  const double market_sd = std::sqrt(corr.sum()) / static_cast<double>(n);

  Rng rng(derive_seed(o.seed, "synthetic.market"));
  std::vector<double> daily_vol(n), price(n), base_volume(n);
  std::vector<BarSeries> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double spread = rng.uniform(0.8, 1.4);  // drawn either way so calibration leaves the other draws alone
    daily_vol[i] =
        (o.ticker_volatility.empty() ? o.annual_volatility * spread : o.ticker_volatility[i]) / std::sqrt(kTradingDays);
    price[i] = std::exp(rng.uniform(std::log(20.0), std::log(300.0)));
    base_volume[i] = std::exp(rng.uniform(std::log(2e5), std::log(2e7)));
    out[i].ticker = o.tickers[i];
    out[i].timeframe = Timeframe::k1d;
    out[i].reserve(days.size());
  }

  int regime = 0;
  double h = 1.0;       // GARCH variance multiplier, unconditional mean 1
  double last_u = 0.0;  // previous standardized common shock
  Eigen::VectorXd g(n), z(n);
  std::vector<double> path(static_cast<std::size_t>(o.intrabar_steps) + 1);
  for (const Day day : days) {
    if (rng.uniform() < 1.0 / o.regime_mean_length) regime = (regime + 1 + static_cast<int>(rng.uniform_int(2))) % 3;
    h = (1 - o.garch_alpha - o.garch_beta) + o.garch_alpha * last_u * last_u * h + o.garch_beta * h;
    // Multivariate Student-t with unit variance: one chi-square scale shared by all tickers keeps the correlations.
    double chi2 = 0;
    const int dof = static_cast<int>(std::lround(o.tail_dof));
    for (int k = 0; k < dof; ++k) {
      const double x = rng.normal();
      chi2 += x * x;
    }
    const double t_scale = std::sqrt((o.tail_dof - 2) / std::max(chi2, 1e-12));
    for (std::size_t i = 0; i < n; ++i) g(static_cast<Eigen::Index>(i)) = rng.normal();
    z = chol * g * t_scale;
    last_u = z.mean() / market_sd;

    const Regime& reg = kRegimes[regime];
    for (std::size_t i = 0; i < n; ++i) {
      const double zi = z(static_cast<Eigen::Index>(i));
      const double sigma = daily_vol[i] * std::sqrt(h) * reg.volatility;
      const double drift = o.ticker_drift.empty() ? o.annual_drift : o.ticker_drift[i];
      double r = (drift + reg.drift) / kTradingDays - 0.5 * sigma * sigma + sigma * zi;
      if (rng.uniform() < o.jump_probability) r += rng.normal(0.0, o.jump_volatility);

      // Intrabar path in log space from the previous close (0) to r: a random walk bridged onto r.
      // path[1] is the open (overnight move); high/low are the path's extremes from the open on.
      const int m = o.intrabar_steps;
      path[0] = 0;
      for (int k = 1; k <= m; ++k)
        path[static_cast<std::size_t>(k)] = path[static_cast<std::size_t>(k - 1)] + rng.normal() * sigma / std::sqrt(m);
      const double gap = r - path[static_cast<std::size_t>(m)];
      for (int k = 1; k <= m; ++k) path[static_cast<std::size_t>(k)] += gap * k / m;
      const auto first = path.begin() + 1;
      const double prev = price[i];
      const double open = round4(prev * std::exp(path[1]));
      const double close = round4(prev * std::exp(r));
      const double high = std::max({round4(prev * std::exp(*std::max_element(first, path.end()))), open, close});
      const double low = std::min({round4(prev * std::exp(*std::min_element(first, path.end()))), open, close});
      // Volume rises with the size of the move and with the volatility level.
      const double volume = std::round(base_volume[i] * std::sqrt(h) * reg.volatility *
                                       std::exp(0.5 * std::abs(zi) + 0.25 * rng.normal() - 0.4));
      out[i].push_back(Bar{Instant{day}, open, high, low, close, std::max(volume, 1.0)});
      price[i] = close;
    }
  }
  return out;
}

SyntheticOptions calibrate_synthetic(SyntheticOptions o, const std::vector<BarSeries>& real) {
  if (real.empty()) throw InputError("calibration: no real series given");
  // Sessions on which every series has a bar, then log returns between consecutive common sessions.
  std::vector<Instant> common = real.front().time;
  for (std::size_t k = 1; k < real.size(); ++k) {
    std::vector<Instant> next;
    std::set_intersection(common.begin(), common.end(), real[k].time.begin(), real[k].time.end(),
                          std::back_inserter(next));
    common.swap(next);
  }
  if (common.size() < 251) {
    throw InputError("calibration: the real series share only " + std::to_string(common.size()) +
                     " sessions (expected at least 251)");
  }
  const std::size_t m = real.size(), t_count = common.size() - 1;
  Eigen::MatrixXd returns(static_cast<Eigen::Index>(t_count), static_cast<Eigen::Index>(m));
  for (std::size_t k = 0; k < m; ++k) {
    std::size_t j = 0;
    double prev = 0;
    for (std::size_t t = 0; t < common.size(); ++t) {
      while (real[k].time[j] < common[t]) ++j;
      const double c = real[k].close[j];
      if (t > 0) returns(static_cast<Eigen::Index>(t - 1), static_cast<Eigen::Index>(k)) = std::log(c / prev);
      prev = c;
    }
  }
  const Eigen::RowVectorXd mean = returns.colwise().mean();
  const Eigen::MatrixXd centered = returns.rowwise() - mean;
  const Eigen::MatrixXd cov = centered.transpose() * centered / static_cast<double>(t_count - 1);
  const Eigen::VectorXd sd = cov.diagonal().cwiseSqrt();

  const std::size_t n = o.tickers.size();
  o.ticker_volatility.resize(n);
  o.ticker_drift.resize(n);
  o.correlation.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto a = static_cast<Eigen::Index>(i % m);
    o.ticker_volatility[i] = sd(a) * std::sqrt(kTradingDays);
    // The generator adds -sigma^2/2 itself, so the arithmetic drift is the log drift plus half the variance.
    o.ticker_drift[i] = (mean(a) + 0.5 * cov(a, a)) * kTradingDays;
    for (std::size_t j = 0; j < n; ++j) {
      const auto b = static_cast<Eigen::Index>(j % m);
      // Two synthetic tickers calibrated on the same real one are kept distinct (0.9, not 1).
      o.correlation[i * n + j] = i == j ? 1.0 : a == b ? 0.9 : cov(a, b) / (sd(a) * sd(b));
    }
  }
  // GARCH(1,1) on the equally weighted market return, standardised: grid search of the quasi-likelihood.
  Eigen::VectorXd market = centered.rowwise().mean();
  market /= std::sqrt(market.squaredNorm() / static_cast<double>(t_count));
  double best = -1e300;
  // Integer grid steps: accumulated 0.01 increments would end the grid early (0.24, 0.98) and
  // leave the chosen values off the grid by rounding.
  for (int i = 1; i <= 25; ++i) {
    const double alpha = 0.01 * i;
    for (int j = 0; j <= 77; ++j) {
      const double beta = 0.60 + 0.005 * j;
      if (alpha + beta >= 0.995) continue;
      double h = 1.0, loglik = 0;
      for (Eigen::Index t = 0; t < market.size(); ++t) {
        loglik -= 0.5 * (std::log(h) + market(t) * market(t) / h);
        h = (1 - alpha - beta) + alpha * market(t) * market(t) + beta * h;
      }
      if (loglik > best) {
        best = loglik;
        o.garch_alpha = alpha;
        o.garch_beta = beta;
      }
    }
  }
  // Regimes multiply volatility by 0.8..1.5 on top of GARCH; calibrated volatilities already include
  // that variation, so they are scaled back by the regimes' average multiplier.
  double mean_multiplier = 0;
  for (const auto& r : kRegimes) mean_multiplier += r.volatility * r.volatility / 3.0;
  for (auto& v : o.ticker_volatility) v /= std::sqrt(mean_multiplier);
  return o;
}

}  // namespace ploutos::data
