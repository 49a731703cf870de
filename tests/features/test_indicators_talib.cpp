// Indicators against TA-Lib's own output (../shared/reference/talib, see its README for the calls):
// the same first bar with a value, then 1e-6 relative agreement on every bar.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "../data/shared_data.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/features/indicators.hpp"

using namespace ploutos;
using namespace ploutos::features;

namespace {

std::map<std::string, std::vector<double>> read_reference(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string name; std::getline(header, name, ',');) names.push_back(name);
  std::map<std::string, std::vector<double>> columns;
  while (std::getline(in, line)) {
    std::size_t start = 0;
    for (std::size_t c = 0; c < names.size(); ++c) {
      const auto comma = line.find(',', start);
      const std::string cell = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma + 1;
      if (c == 0) continue;
      columns[names[c]].push_back(cell.empty() ? std::nan("") : std::stod(cell));
    }
  }
  return columns;
}

void expect_matches(const std::string& name, const std::vector<double>& ours, const std::vector<double>& talib) {
  ASSERT_EQ(ours.size(), talib.size()) << name;
  std::size_t compared = 0;
  for (std::size_t t = 0; t < ours.size(); ++t) {
    if (std::isnan(talib[t])) {
      ASSERT_TRUE(std::isnan(ours[t])) << name << ": value at bar " << t << " where TA-Lib has none yet";
      continue;
    }
    ASSERT_FALSE(std::isnan(ours[t])) << name << ": no value at bar " << t << ", TA-Lib has " << talib[t];
    // 10 significant digits in the file: relative 1e-6, with an absolute floor for values near 0.
    const double tolerance = 1e-6 * std::max(std::abs(talib[t]), 1e-2);
    ASSERT_NEAR(ours[t], talib[t], tolerance) << name << " at bar " << t;
    ++compared;
  }
  EXPECT_GT(compared, ours.size() / 2) << name;
}

void compare_ticker(const std::string& ticker) {
  const auto dir = ploutos::test::shared_data_dir();
  const auto ref_path = dir / ".." / "reference" / "talib" / (ticker + ".csv");
  const auto s = data::read_csv(dir / "daily" / (ticker + ".csv")).series;
  const auto ref = read_reference(ref_path);
  const std::size_t n = s.size();
  auto run = [n](auto&& fn) {
    std::vector<double> out(n);
    fn(out);
    return out;
  };
  expect_matches("sma_20", run([&](Out o) { sma(s.close, 20, o); }), ref.at("sma_20"));
  expect_matches("sma_50", run([&](Out o) { sma(s.close, 50, o); }), ref.at("sma_50"));
  expect_matches("ema_12", run([&](Out o) { ema(s.close, 12, o); }), ref.at("ema_12"));
  expect_matches("ema_26", run([&](Out o) { ema(s.close, 26, o); }), ref.at("ema_26"));
  expect_matches("rsi_14", run([&](Out o) { rsi(s.close, 14, o); }), ref.at("rsi_14"));
  const auto m = macd(s.close);
  expect_matches("macd", m.macd, ref.at("macd"));
  expect_matches("macd_signal", m.signal, ref.at("macd_signal"));
  expect_matches("macd_hist", m.hist, ref.at("macd_hist"));
  const auto bb = bollinger(s.close);
  expect_matches("bb_upper", bb.upper, ref.at("bb_upper"));
  expect_matches("bb_middle", bb.middle, ref.at("bb_middle"));
  expect_matches("bb_lower", bb.lower, ref.at("bb_lower"));
  expect_matches("atr_14", run([&](Out o) { atr(s.high, s.low, s.close, 14, o); }), ref.at("atr_14"));
  expect_matches("adx_14", adx(s.high, s.low, s.close).adx, ref.at("adx_14"));
  const auto st = stochastic(s.high, s.low, s.close);
  expect_matches("stoch_k", st.k, ref.at("stoch_k"));
  expect_matches("stoch_d", st.d, ref.at("stoch_d"));
  expect_matches("cci_20", run([&](Out o) { cci(s.high, s.low, s.close, 20, o); }), ref.at("cci_20"));
  expect_matches("willr_14", run([&](Out o) { williams_r(s.high, s.low, s.close, 14, o); }), ref.at("willr_14"));
  expect_matches("mfi_14", run([&](Out o) { mfi(s.high, s.low, s.close, s.volume, 14, o); }), ref.at("mfi_14"));
  expect_matches("obv", run([&](Out o) { obv(s.close, s.volume, o); }), ref.at("obv"));
  expect_matches("roc_10", run([&](Out o) { roc(s.close, 10, o); }), ref.at("roc_10"));
}

}  // namespace

TEST(TaLib, AaplMatchesTaLibOnEveryBar) {
  PLOUTOS_REQUIRE_SHARED_DATA();
  compare_ticker("AAPL");
}

TEST(TaLib, XleMatchesTaLibOnEveryBar) {
  PLOUTOS_REQUIRE_SHARED_DATA();
  compare_ticker("XLE");
}

TEST(Indicators, RollingExtremesAndRanksOnAKnownSeries) {
  const std::vector<double> x{3, 1, 4, 1, 5, 9, 2, 6};
  std::vector<double> lo(x.size()), hi(x.size()), rank(x.size());
  rolling_min(x, 3, lo);
  rolling_max(x, 3, hi);
  rolling_percentile_rank(x, 3, rank);
  EXPECT_TRUE(std::isnan(lo[1]));
  EXPECT_EQ(std::vector<double>(lo.begin() + 2, lo.end()), (std::vector<double>{1, 1, 1, 1, 2, 2}));
  EXPECT_EQ(std::vector<double>(hi.begin() + 2, hi.end()), (std::vector<double>{4, 4, 5, 9, 9, 9}));
  EXPECT_DOUBLE_EQ(rank[4], 1.0);      // 5 is the largest of {4, 1, 5}
  EXPECT_DOUBLE_EQ(rank[6], 1.0 / 3);  // 2 is the smallest of {5, 9, 2}
}

TEST(Indicators, BelowRollingQuantileEqualsTheInterpolatedQuantileRule) {
  // Brute force: sort each window, interpolate linearly (pandas), compare. Values drawn from a small
  // set so that ties are common.
  std::vector<double> x(3000);
  std::uint64_t state = 12345;
  for (auto& v : x) v = static_cast<double>(ploutos::splitmix64(state) % 7);
  for (const double q : {0.2, 0.5, 0.25, 0.9}) {
    for (const std::size_t period : {5, 50}) {
      std::vector<double> flag(x.size());
      below_rolling_quantile(x, period, q, flag);
      for (std::size_t t = period - 1; t < x.size(); ++t) {
        std::vector<double> w(x.begin() + static_cast<std::ptrdiff_t>(t + 1 - period),
                              x.begin() + static_cast<std::ptrdiff_t>(t + 1));
        std::sort(w.begin(), w.end());
        const double pos = q * static_cast<double>(period - 1);
        const auto lo = static_cast<std::size_t>(std::floor(pos));
        const double quantile = w[lo] + (pos - static_cast<double>(lo)) * (w[std::min(lo + 1, period - 1)] - w[lo]);
        ASSERT_EQ(flag[t], x[t] < quantile ? 1.0 : 0.0) << "q " << q << " period " << period << " t " << t;
      }
    }
  }
}
