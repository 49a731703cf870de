#pragma once
// The feature engine: a named, versioned feature set computed per ticker into a float32 matrix
// [bars x features] with a validity mask for warm-up. Every feature at bar t uses bars <= t only
// (tests truncate the data at random bars and compare). Definitions: docs/features.md, generated
// from the descriptions here (`ploutos features list`).
#include <cstdint>
#include <string>
#include <vector>

#include "ploutos/core/uninitialised.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/data/panel.hpp"

namespace ploutos::features {

struct FeatureInfo {
  std::string name;
  std::string description;
};

struct FeatureMatrix {
  std::string ticker;
  std::vector<Instant> time;
  std::vector<std::string> names;
  UninitialisedVector<float> values;  // row-major [rows x cols]; 0 where a value is not defined yet
  std::vector<std::uint8_t> valid;    // per row: every column has its warm-up behind it

  std::size_t rows() const { return time.size(); }
  std::size_t cols() const { return names.size(); }
  float at(std::size_t row, std::size_t col) const { return values[row * names.size() + col]; }
};

class FeatureEngine {
 public:
  // "v2": scale-free observation features (the canonical set); "seed_v2": the seed's 85 columns.
  // Throws InputError for another name.
  explicit FeatureEngine(std::string feature_set = "v2");

  const std::string& feature_set() const { return feature_set_; }
  std::string version() const;  // e.g. "v2.1": bumped whenever a definition changes
  // The observation columns, in order.
  const std::vector<FeatureInfo>& features() const { return features_; }
  // The TA-Lib-comparable raw columns (price-level, not for the agent): sma_20, rsi_14, macd, ...
  static const std::vector<FeatureInfo>& raw_features();

  // Observation features of one series; with `include_raw`, the raw columns are appended.
  FeatureMatrix compute(const data::BarSeries& series, bool include_raw = false) const;
  // Per ticker on the panel's grid: each ticker's features come from its own real bars; grid rows
  // where it has no bar are invalid.
  std::vector<FeatureMatrix> compute(const data::Panel& panel) const;

 private:
  std::string feature_set_;
  std::vector<FeatureInfo> features_;
};

}  // namespace ploutos::features
