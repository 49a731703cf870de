#pragma once
// Market-data sources over HTTP and the fallback chain (the seed fetched Alpaca, then Yahoo, then
// Polygon). Every source takes its base URL so tests and users can point it elsewhere.
// Conventions of what each returns are in docs/data.md.
#include <memory>
#include <string>
#include <vector>

#include "ploutos/core/error.hpp"
#include "ploutos/data/bar.hpp"

namespace ploutos {
class HttpClient;
}

namespace ploutos::data {

// One source failed (HTTP status, malformed body, no bars); the chain falls through on it.
class SourceError : public Error {
 public:
  explicit SourceError(const std::string& message) : Error(message, kExitRuntime) {}
};

struct FetchRequest {
  std::string ticker;
  Timeframe timeframe = Timeframe::k1d;  // 1d or 1h (4h is built from 1h)
  Day start;                             // inclusive, New York days
  Day end;                               // inclusive
};

class BarSource {
 public:
  virtual ~BarSource() = default;
  virtual std::string name() const = 0;
  // False when credentials are missing: the chain skips the source with an info line.
  virtual bool has_credentials() const { return true; }
  // Bars in [start, end], ascending; daily bars stamped with their session date. Throws SourceError.
  virtual BarSeries fetch(const FetchRequest& request) = 0;
};

struct AlpacaSourceOptions {
  std::string base_url = "https://data.alpaca.markets";
  std::string key_id, secret_key;
  std::string feed = "iex";        // iex (free) or sip
  std::string adjustment = "all";  // raw|split|dividend|all
};
struct YahooSourceOptions {
  std::string base_url = "https://query1.finance.yahoo.com";
};
struct PolygonSourceOptions {
  std::string base_url = "https://api.polygon.io";
  std::string api_key;
};

std::unique_ptr<BarSource> make_alpaca_source(HttpClient& http, AlpacaSourceOptions options);
std::unique_ptr<BarSource> make_yahoo_source(HttpClient& http, YahooSourceOptions options);
std::unique_ptr<BarSource> make_polygon_source(HttpClient& http, PolygonSourceOptions options);

// Source options from the environment: ALPACA_API_KEY/ALPACA_SECRET_KEY (or the PAPER pair),
// ALPACA_DATA_URL, YAHOO_BASE_URL, POLYGON_API_KEY, POLYGON_BASE_URL.
AlpacaSourceOptions alpaca_options_from_env();
YahooSourceOptions yahoo_options_from_env();
PolygonSourceOptions polygon_options_from_env();

struct ChainResult {
  BarSeries series;
  std::string source;  // the source that delivered
};

// Tries sources in order: one without credentials is skipped (info), one that fails is logged
// (warning) and the next is tried; if none delivers, throws SourceError naming each and why.
class SourceChain {
 public:
  void add(std::unique_ptr<BarSource> source) { sources_.push_back(std::move(source)); }
  ChainResult fetch(const FetchRequest& request);
  std::size_t size() const { return sources_.size(); }

 private:
  std::vector<std::unique_ptr<BarSource>> sources_;
};

// Builds the chain for names like {"alpaca", "yahoo", "polygon"} from the environment.
SourceChain make_source_chain(HttpClient& http, const std::vector<std::string>& names);

}  // namespace ploutos::data
