#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/quality.hpp"
#include "ploutos/data/synthetic.hpp"

using namespace ploutos;
using namespace ploutos::data;

namespace {

std::vector<double> log_returns(const BarSeries& s) {
  std::vector<double> r;
  for (std::size_t i = 1; i < s.size(); ++i) r.push_back(std::log(s.close[i] / s.close[i - 1]));
  return r;
}

double mean(const std::vector<double>& x) {
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}

double autocorrelation(const std::vector<double>& x, std::size_t lag) {
  const double m = mean(x);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    den += (x[i] - m) * (x[i] - m);
    if (i >= lag) num += (x[i] - m) * (x[i - lag] - m);
  }
  return num / den;
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const double ma = mean(a), mb = mean(b);
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return ab / std::sqrt(aa * bb);
}

double excess_kurtosis(const std::vector<double>& x) {
  const double m = mean(x);
  double m2 = 0, m4 = 0;
  for (double v : x) {
    m2 += (v - m) * (v - m);
    m4 += std::pow(v - m, 4);
  }
  m2 /= static_cast<double>(x.size());
  m4 /= static_cast<double>(x.size());
  return m4 / (m2 * m2) - 3.0;
}

SyntheticOptions long_market() {
  SyntheticOptions o;
  o.tickers = {"SYNA", "SYNB", "SYNC", "SYND", "SYNE", "SYNF"};
  o.sessions = 6000;
  o.sectors = 2;
  o.seed = 11;
  return o;
}

}  // namespace

TEST(Synthetic, SameSeedSameBytesDifferentSeedDifferentBytes) {
  SyntheticOptions o;
  o.sessions = 300;
  const auto a = generate_synthetic(o), b = generate_synthetic(o);
  ASSERT_EQ(a.size(), 4u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(to_csv(a[i]), to_csv(b[i]));
  o.seed = 43;
  EXPECT_NE(to_csv(generate_synthetic(o)[0]), to_csv(a[0]));
}

TEST(Synthetic, BarsAreConsistentAndOnNyseSessions) {
  SyntheticOptions o;
  o.sessions = 1500;
  for (const auto& s : generate_synthetic(o)) {
    const auto report = check_quality(s);
    EXPECT_EQ(report.errors(), 0u) << summarize(report);
    EXPECT_EQ(report.warnings(), 0u) << summarize(report);
    for (std::size_t i = 0; i < s.size(); ++i) {
      ASSERT_TRUE(calendar::nyse().is_session(std::chrono::floor<std::chrono::days>(s.time[i])));
    }
  }
}

TEST(Synthetic, ShowsTheStylisedFactsOfEquityReturns) {
  const auto options = long_market();
  const auto market = generate_synthetic(options);
  std::vector<std::vector<double>> returns;
  for (const auto& s : market) returns.push_back(log_returns(s));
  for (const auto& r : returns) {
    EXPECT_GT(excess_kurtosis(r), 1.0);
    std::vector<double> abs_r(r.size());
    std::transform(r.begin(), r.end(), abs_r.begin(), [](double v) { return std::abs(v); });
    EXPECT_GT(autocorrelation(abs_r, 1), 0.1);
    for (std::size_t lag = 1; lag <= 10; ++lag) EXPECT_GT(autocorrelation(abs_r, lag), 0.0) << lag;
    EXPECT_LT(std::abs(autocorrelation(r, 1)), 0.1);
  }
  for (std::size_t i = 0; i < returns.size(); ++i) {
    for (std::size_t j = i + 1; j < returns.size(); ++j) {
      EXPECT_NEAR(correlation(returns[i], returns[j]), synthetic_correlation(options, i, j), 0.1) << i << "," << j;
    }
  }
}

TEST(Synthetic, VolumeRisesWithTheSizeOfTheMove) {
  const auto s = generate_synthetic(long_market())[0];
  const auto r = log_returns(s);
  std::vector<double> abs_r, log_v;
  for (std::size_t i = 0; i < r.size(); ++i) {
    abs_r.push_back(std::abs(r[i]));
    log_v.push_back(std::log(s.volume[i + 1]));
  }
  EXPECT_GT(correlation(abs_r, log_v), 0.2);
}

TEST(Synthetic, CalibrationRecoversVolatilityCorrelationAndClustering) {
  // Calibrate on a synthetic market with known parameters, then check the estimates and that a
  // calibrated market reproduces the source's correlations.
  auto truth = long_market();
  truth.garch_alpha = 0.10;
  truth.garch_beta = 0.85;
  truth.regime_mean_length = 1e9;  // no regime switches: GARCH alone
  const auto source = generate_synthetic(truth);
  SyntheticOptions target;
  target.tickers = {"CAL1", "CAL2", "CAL3"};
  target.sessions = 6000;
  target.regime_mean_length = 1e9;
  const auto calibrated = calibrate_synthetic(target, source);
  EXPECT_NEAR(calibrated.garch_alpha, 0.10, 0.04);
  EXPECT_NEAR(calibrated.garch_alpha + calibrated.garch_beta, 0.95, 0.03);
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = i + 1; j < 3; ++j) {
      EXPECT_NEAR(synthetic_correlation(calibrated, i, j), synthetic_correlation(truth, i, j), 0.05);
    }
  }
  const auto regenerated = generate_synthetic(calibrated);
  const auto r0 = log_returns(regenerated[0]), r1 = log_returns(regenerated[1]);
  EXPECT_NEAR(correlation(r0, r1), synthetic_correlation(truth, 0, 1), 0.1);
  EXPECT_THROW(calibrate_synthetic(target, {generate_synthetic(SyntheticOptions{})[0].slice(
                                               Instant::min(), Instant{parse_day("2016-06-01")})}),
               InputError);
}
