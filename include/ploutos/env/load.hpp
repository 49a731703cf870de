#pragma once
// From config to the environment's market: load (or generate) the bars of data.tickers, cut the
// window, align them on a Panel, compute the feature set and build MarketData.
#include <memory>
#include <string>
#include <vector>

#include "ploutos/config/config.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/data/panel.hpp"
#include "ploutos/env/market.hpp"

namespace ploutos::env {

// No bars for a ticker where the config says to look, as opposed to bars that are there but bad
// (those stay InputError): a candidate list may name tickers one has no data for.
class MissingDataError : public InputError {
 public:
  using InputError::InputError;
};

struct LoadedMarket {
  std::shared_ptr<const MarketData> market;
  std::string data_range;  // "first..last" of the panel
  std::string data_hash;   // fnv1a64 over the panel's prices and volumes, hex
  std::string source;      // "synthetic:seed=2024", or the data directory
};

struct LoadedSeries {
  std::vector<data::BarSeries> series;  // one per data.tickers, in that order, cut to the window
  data::Timeframe timeframe = data::Timeframe::k1d;
  std::string source;  // as LoadedMarket::source
};

// Whether these settings mean the built-in synthetic market (data.source synthetic, or --data synthetic).
bool uses_synthetic_market(const config::Config& config, const std::string& data_dir);

// The bars of data.tickers as load_market finds them, before they are aligned: for commands that
// work per ticker (`ploutos features`).
LoadedSeries load_series(const config::Config& config, const std::string& data_dir = "");

// data.source: synthetic -> the built-in market (data.synthetic_seed, `sessions` from the window);
// cache/csv/auto -> the data directory (`data_dir` overrides data.dir; also a folder of TICKER.csv
// or a directory with daily/ and hourly/; "synthetic" forces the built-in market). Throws InputError
// naming what is missing.
LoadedMarket load_market(const config::Config& config, const std::string& data_dir = "");

// The market of series already loaded (aligned, features of config.features): what load_market
// does after loading. The synthetic market is generated for all its tickers together, so a subset
// of them is built from the series of the whole, not generated again.
LoadedMarket market_from_series(const config::Config& config, const LoadedSeries& series);

}  // namespace ploutos::env
