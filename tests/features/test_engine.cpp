#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "../data/shared_data.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/panel.hpp"
#include "ploutos/data/synthetic.hpp"
#include "ploutos/features/engine.hpp"

using namespace ploutos;
using namespace ploutos::features;

namespace {

data::BarSeries real_or_synthetic(const char* ticker) {
  const auto path = ploutos::test::shared_data_dir() / "daily" / (std::string(ticker) + ".csv");
  if (std::filesystem::exists(path)) return data::read_csv(path).series;
  data::SyntheticOptions o;
  o.tickers = {ticker};
  o.sessions = 3000;
  return data::generate_synthetic(o)[0];
}

// Features on the data cut after bar t equal the full-data features on every bar <= t, bit for bit.
void expect_causal(const std::string& set, const data::BarSeries& s, int cuts, std::uint64_t seed) {
  const FeatureEngine engine(set);
  const FeatureMatrix full = engine.compute(s, true);
  Rng rng(seed);
  for (int i = 0; i < cuts; ++i) {
    const auto cut =
        static_cast<std::size_t>(rng.uniform_int(std::uint64_t{30}, static_cast<std::uint64_t>(s.size() - 1)));
    const FeatureMatrix part = engine.compute(s.slice(s.time.front(), s.time[cut]), true);
    ASSERT_EQ(part.rows(), cut + 1);
    for (std::size_t t = 0; t <= cut; ++t) {
      ASSERT_EQ(part.valid[t], full.valid[t]) << set << " row " << t << " cut " << cut;
      for (std::size_t c = 0; c < full.cols(); ++c) {
        ASSERT_EQ(part.at(t, c), full.at(t, c))
            << set << ": " << full.names[c] << " at row " << t << " changes when the data ends at " << cut;
      }
    }
  }
}

}  // namespace

TEST(FeatureEngine, V2HasAtLeastSixtyDocumentedUniqueFeatures) {
  const FeatureEngine engine("v2");
  EXPECT_GE(engine.features().size(), 60u);
  std::set<std::string> names;
  for (const auto& f : engine.features()) {
    EXPECT_FALSE(f.description.empty()) << f.name;
    names.insert(f.name);
  }
  EXPECT_EQ(names.size(), engine.features().size());
  EXPECT_THROW(FeatureEngine("v3"), InputError);
}

TEST(FeatureEngine, SeedSetHasTheSeedsEightyFiveColumnsInOrder) {
  const FeatureEngine engine("seed_v2");
  ASSERT_EQ(engine.features().size(), 85u);
  const std::vector<std::string> expected_start = {"support_20",         "resistance_20",   "dist_support_20",
                                                   "dist_resistance_20", "near_support_20", "near_resistance_20",
                                                   "support_50"};
  for (std::size_t i = 0; i < expected_start.size(); ++i) EXPECT_EQ(engine.features()[i].name, expected_start[i]);
  EXPECT_EQ(engine.features()[18].name, "ma_20");
  EXPECT_EQ(engine.features()[30].name, "vol_ma_20");
  EXPECT_EQ(engine.features()[46].name, "rsi");
  EXPECT_EQ(engine.features()[53].name, "bb_mid");
  EXPECT_EQ(engine.features()[62].name, "buy_score");
  EXPECT_EQ(engine.features()[67].name, "roc_5");
  EXPECT_EQ(engine.features()[76].name, "plus_di");
  EXPECT_EQ(engine.features().back().name, "low_vol");
}

TEST(FeatureEngine, V2IsCausalAtRandomCutPoints) {
  expect_causal("v2", real_or_synthetic("AAPL"), 12, 1);
}
TEST(FeatureEngine, SeedSetIsCausalAtRandomCutPoints) {
  expect_causal("seed_v2", real_or_synthetic("XLE"), 12, 2);
}
TEST(FeatureEngine, CausalOnAShortHistoryToo) {
  // Cut points inside the warm-up, where support/resistance, percentile and divergence windows are still filling.
  auto s = real_or_synthetic("MSFT");
  s = s.slice(s.time.front(), s.time[300]);
  expect_causal("v2", s, 25, 3);
}

TEST(FeatureEngine, V2FeaturesDoNotDependOnThePriceLevel) {
  const auto s = real_or_synthetic("NVDA");
  auto scaled = s;
  for (auto* column : {&scaled.open, &scaled.high, &scaled.low, &scaled.close}) {
    for (auto& x : *column) x *= 1024.0;  // a power of two: exact in floating point, so only the definitions can differ
  }
  const FeatureEngine engine("v2");
  const auto a = engine.compute(s), b = engine.compute(scaled);
  for (std::size_t c = 0; c < a.cols(); ++c) {
    for (std::size_t t = 0; t < a.rows(); ++t) {
      if (!a.valid[t]) continue;
      ASSERT_NEAR(a.at(t, c), b.at(t, c), 1e-4 * std::max(1.0f, std::abs(a.at(t, c)))) << a.names[c] << " at " << t;
    }
  }
}

TEST(FeatureEngine, WarmUpIsMaskedThenEveryRowIsValid) {
  const auto s = real_or_synthetic("SPY");
  const auto m = FeatureEngine("v2").compute(s);
  std::size_t first_valid = 0;
  while (first_valid < m.rows() && !m.valid[first_valid]) ++first_valid;
  EXPECT_GE(first_valid, 199u);  // SMA(200) needs 200 bars
  EXPECT_LE(first_valid, 260u);
  for (std::size_t t = first_valid; t < m.rows(); ++t) ASSERT_TRUE(m.valid[t]) << t;
}

TEST(FeatureEngine, PanelRowsWithoutABarAreInvalid) {
  data::SyntheticOptions o;
  o.sessions = 400;
  auto market = data::generate_synthetic(o);
  market[1] = market[1].slice(market[1].time[100], market[1].time.back());  // starts 100 sessions later
  const auto panel = data::build_panel(market);
  const auto features = FeatureEngine("v2").compute(panel);
  ASSERT_EQ(features.size(), market.size());
  EXPECT_EQ(features[1].rows(), panel.size());
  for (std::size_t t = 0; t < 100; ++t) EXPECT_FALSE(features[1].valid[t]);
  const auto own = FeatureEngine("v2").compute(market[1]);
  for (std::size_t c = 0; c < own.cols(); ++c) EXPECT_EQ(features[1].at(399, c), own.at(own.rows() - 1, c));
}

TEST(FeatureEngine, EveryFeatureIsDocumented) {
  std::ifstream in(std::filesystem::path(PLOUTOS_SOURCE_DIR) / "docs" / "features.md");
  const std::string docs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(docs.empty()) << "docs/features.md is missing";
  for (const char* set : {"v2", "seed_v2"}) {
    const FeatureEngine engine(set);
    for (const auto& f : engine.features()) {
      // scripts/update-feature-docs.sh regenerates the tables from the engine.
      EXPECT_NE(docs.find("`" + f.name + "` | " + f.description + " |"), std::string::npos) << set << ": " << f.name;
    }
  }
}
