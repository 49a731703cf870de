#pragma once
// What the environment reads, built once and shared read-only by every env of a VecEnv: prices,
// tradability and the clipped observation features laid out so one step copies one contiguous row.
#include <cstdint>
#include <string>
#include <vector>

#include "ploutos/core/time.hpp"

namespace ploutos::data {
struct Panel;
}
namespace ploutos::features {
class FeatureEngine;
}

namespace ploutos::env {

struct MarketData {
  std::vector<std::string> tickers;
  std::vector<std::string> feature_names;
  std::vector<Instant> time;
  std::vector<Day> new_york_day;  // session day of each bar (the calendar's trading day)
  std::size_t n_tickers = 0, n_features = 0, n_bars = 0;
  // [bar][ticker]
  std::vector<double> open, high, low, close;
  std::vector<double> volume;
  std::vector<double> volatility;      // sd of the last 20 close-to-close returns up to and including the bar
  std::vector<double> adv;             // mean volume of the last 20 bars up to and including the bar
  std::vector<std::uint8_t> tradable;  // the ticker has a real bar and warmed-up features
  // [bar][ticker][feature]: NaN -> 0, +-inf -> +-clip, then clipped to [-clip, clip]
  std::vector<float> features;
  int bars_per_session = 1;   // data::bars_per_session of the bars' timeframe: 252 x this bars a year
  std::size_t first_bar = 0;  // first bar where every ticker is tradable
  std::size_t last_bar = 0;   // last bar where every ticker is tradable

  std::size_t at(std::size_t bar, std::size_t ticker) const { return bar * n_tickers + ticker; }
};

// Throws InputError when the panel has no bar on which every ticker is tradable.
MarketData build_market(const data::Panel& panel, const features::FeatureEngine& engine, double clip);

}  // namespace ploutos::env
