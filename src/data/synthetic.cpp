#include "ploutos/data/synthetic.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::data {
namespace {

constexpr double kTradingDays = 252.0;

double round4(double v) { return std::round(v * 1e4) / 1e4; }

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
  if (!(o.garch_alpha >= 0 && o.garch_beta >= 0 && o.garch_alpha + o.garch_beta < 1)) bad("expected garch alpha + beta < 1");
  if (!(o.tail_dof > 2)) bad("expected tail_dof > 2");
  if (o.intrabar_steps < 2) bad("expected intrabar_steps >= 2");
}

}  // namespace

double synthetic_correlation(const SyntheticOptions& o, std::size_t i, std::size_t j) {
  if (i == j) return 1.0;
  const auto sectors = static_cast<std::size_t>(o.sectors);
  return i % sectors == j % sectors ? o.sector_correlation : o.market_correlation;
}

std::vector<BarSeries> generate_synthetic(const SyntheticOptions& o) {
  check(o);
  const std::size_t n = o.tickers.size();
  const auto& cal = calendar::nyse();
  std::vector<Day> days;
  days.reserve(static_cast<std::size_t>(o.sessions));
  for (Day d = cal.is_session(o.start) ? o.start : cal.next_session(o.start); days.size() < static_cast<std::size_t>(o.sessions);
       d = cal.next_session(d)) {
    days.push_back(d);
  }

  Eigen::MatrixXd corr(n, n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) corr(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = synthetic_correlation(o, i, j);
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
    daily_vol[i] = o.annual_volatility * rng.uniform(0.8, 1.4) / std::sqrt(kTradingDays);
    price[i] = std::exp(rng.uniform(std::log(20.0), std::log(300.0)));
    base_volume[i] = std::exp(rng.uniform(std::log(2e5), std::log(2e7)));
    out[i].ticker = o.tickers[i];
    out[i].timeframe = Timeframe::k1d;
    out[i].reserve(days.size());
  }

  int regime = 0;
  double h = 1.0;        // GARCH variance multiplier, unconditional mean 1
  double last_u = 0.0;   // previous standardized common shock
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
      double r = (o.annual_drift + reg.drift) / kTradingDays - 0.5 * sigma * sigma + sigma * zi;
      if (rng.uniform() < o.jump_probability) r += rng.normal(0.0, o.jump_volatility);

      // Intrabar path in log space from the previous close (0) to r: a random walk bridged onto r.
      // path[1] is the open (overnight move); high/low are the path's extremes from the open on.
      const int m = o.intrabar_steps;
      path[0] = 0;
      for (int k = 1; k <= m; ++k) path[static_cast<std::size_t>(k)] = path[static_cast<std::size_t>(k - 1)] + rng.normal() * sigma / std::sqrt(m);
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

}  // namespace ploutos::data
