#include "ploutos/env/load.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/fetch.hpp"
#include "ploutos/data/store.hpp"
#include "ploutos/data/synthetic.hpp"
#include "ploutos/features/engine.hpp"

namespace ploutos::env {
namespace {

std::string hash_panel(const data::Panel& p) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const void* data, std::size_t bytes) {
    const auto* b = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) {
      h ^= b[i];
      h *= 0x100000001b3ULL;
    }
  };
  for (const auto& t : p.tickers) mix(t.data(), t.size());
  for (const Instant t : p.time) {
    const auto s = t.time_since_epoch().count();
    mix(&s, sizeof s);
  }
  for (const auto* table : {&p.open, &p.high, &p.low, &p.close, &p.volume}) {
    for (const auto& column : *table) {
      for (const double v : column) {
        const double x = std::isnan(v) ? 0.0 : v;
        mix(&x, sizeof x);
      }
    }
  }
  return data::content_hash_hex(h);
}

}  // namespace

bool uses_synthetic_market(const config::Config& config, const std::string& data_dir) {
  return (config.data.source == "synthetic" && data_dir.empty()) || data_dir == "synthetic";
}

LoadedSeries load_series(const config::Config& config, const std::string& data_dir) {
  const auto& d = config.data;
  const data::Timeframe timeframe = data::parse_timeframe(d.interval);
  LoadedSeries out;
  out.timeframe = timeframe;
  if (uses_synthetic_market(config, data_dir)) {
    if (timeframe != data::Timeframe::k1d)
      throw InputError("data.source synthetic: only daily bars (data.interval: 1d)");
    const auto [start, end] = data::resolve_window(d.start, d.end, d.period, Day{std::chrono::year{2024} / 12 / 31});
    data::SyntheticOptions o;
    o.tickers = d.synthetic_universe.empty() ? d.tickers : d.synthetic_universe;
    o.seed = d.synthetic_seed;
    o.start = start;
    o.sessions = std::max<int>(2, static_cast<int>(calendar::nyse().sessions_between(start, end).size()));
    auto generated = data::generate_synthetic(o);
    for (const auto& ticker : d.tickers) {
      const auto it = std::find_if(generated.begin(), generated.end(),
                                   [&](const data::BarSeries& s) { return s.ticker == ticker; });
      if (it == generated.end())
        throw InputError("data.synthetic_universe: expected every ticker of data.tickers, " + ticker + " is missing");
      out.series.push_back(std::move(*it));
    }
    out.source = "synthetic:seed=" + std::to_string(d.synthetic_seed);
    return out;
  }
  const std::string dir = data_dir.empty() ? d.dir : data_dir;
  const data::DataStore store(dir);
  const auto policy = data::parse_quality_policy(d.quality_policy, "data.quality_policy");
  std::vector<std::string> missing;  // all of them in one message, not one a run
  for (const auto& ticker : d.tickers) {
    const std::filesystem::path flat = std::filesystem::path(dir) / (ticker + ".csv");
    data::BarSeries s;
    if (store.find(ticker, timeframe)) {
      s = store.load(ticker, timeframe, policy);
    } else if (std::filesystem::is_regular_file(flat)) {
      s = data::load_checked(flat, policy);
      s.ticker = ticker;
    } else {
      missing.push_back(ticker);
      continue;
    }
    if (!d.start.empty() || !d.end.empty()) {
      const Instant first = d.start.empty() ? Instant::min() : Instant{parse_day(d.start)};
      const Instant last =
          d.end.empty() ? Instant::max() : Instant{parse_day(d.end) + std::chrono::days{1}} - std::chrono::seconds{1};
      s = s.slice(first, last);
    }
    if (s.empty()) throw InputError(ticker + ": no bars in the configured window " + d.start + ".." + d.end);
    out.series.push_back(std::move(s));
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& t : missing) names += (names.empty() ? "" : ", ") + t;
    if (missing.size() > 1) {
      names += " (" + std::to_string(missing.size()) + " of " + std::to_string(d.tickers.size()) + " tickers)";
    }
    throw MissingDataError("no " + d.interval + " data for " + names + " in " + dir +
                           " (run `ploutos data fetch`, import CSV, point --data at a folder with " + missing.front() +
                           ".csv, or use --data synthetic for the built-in synthetic market)");
  }
  out.source = dir;
  return out;
}

LoadedMarket load_market(const config::Config& config, const std::string& data_dir) {
  return market_from_series(config, load_series(config, data_dir));
}

LoadedMarket market_from_series(const config::Config& config, const LoadedSeries& loaded) {
  LoadedMarket out;
  out.source = loaded.source;
  const data::Panel panel = data::build_panel(loaded.series);
  const features::FeatureEngine engine(config.features.feature_set);
  out.market = std::make_shared<const MarketData>(build_market(panel, engine, config.features.clip));
  const auto& m = *out.market;
  auto text = [&](std::size_t bar) {
    return loaded.timeframe == data::Timeframe::k1d ? format_day(m.new_york_day[bar]) : format_instant(m.time[bar]);
  };
  out.data_range = text(0) + ".." + text(m.n_bars - 1);
  out.data_hash = hash_panel(panel);
  return out;
}

}  // namespace ploutos::env
