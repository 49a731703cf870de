#pragma once
// The market-data directory: `<dir>/<interval>/<TICKER>.csv` in the normalised CSV format, each with
// a sidecar `<TICKER>.json` recording its source, row count, range and content hash. Directories laid
// out as `daily/` and `hourly/` (like ../shared/data) are read too. Writes are atomic.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ploutos/data/bar.hpp"
#include "ploutos/data/quality.hpp"

namespace ploutos::data {

enum class QualityPolicy { kError, kWarn };

// "error" or "warn"; anything else is an InputError naming `where` (a flag or config key).
QualityPolicy parse_quality_policy(const std::string& text, const std::string& where);

struct StoredSeries {
  std::string ticker;
  Timeframe timeframe = Timeframe::k1d;
  std::filesystem::path file;
  std::string source;        // "csv:<file>", "synthetic:seed=42", "alpaca", ... ("unknown" without sidecar)
  std::string content_hash;  // fnv1a64 of the CSV bytes, hex
  std::size_t rows = 0;
  std::string first, last;  // ISO day or instant
};

// 64-bit FNV-1a of the bytes, as 16 hex digits.
std::string content_hash(std::string_view bytes);
// A 64-bit hash as 16 hex digits.
std::string content_hash_hex(std::uint64_t hash);

class DataStore {
 public:
  explicit DataStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }

  // The file of (ticker, timeframe), if stored. 4h is built from 1h on load, so it looks for 1h.
  std::optional<std::filesystem::path> find(const std::string& ticker, Timeframe timeframe) const;
  // Loads, runs the quality checks and applies the policy: kError throws InputError naming the
  // file and line of the first error; kWarn logs it. Throws InputError if not stored.
  BarSeries load(const std::string& ticker, Timeframe timeframe, QualityPolicy policy = QualityPolicy::kError) const;
  // Writes `<dir>/<interval>/<TICKER>.csv` and its sidecar, atomically; returns what was stored.
  StoredSeries save(const BarSeries& series, const std::string& source) const;
  // What is stored for (ticker, timeframe): file, source, hash; nullopt when nothing is.
  std::optional<StoredSeries> stored(const std::string& ticker, Timeframe timeframe) const;
  // Everything stored, sorted by interval then ticker; when the store's folders hold nothing, the
  // TICKER.csv files directly in the directory.
  std::vector<StoredSeries> list() const;

 private:
  std::filesystem::path dir_;
};

// Applies a quality policy to the report of `file`: with kError the first error-level issue throws
// InputError("<file>:<line>: <code>: <message>"); with kWarn errors are logged as warnings.
void apply_quality_policy(const QualityReport& report, const std::string& file, QualityPolicy policy);

// Loads a series from a CSV file and applies the quality policy as DataStore::load does.
BarSeries load_checked(const std::filesystem::path& file, QualityPolicy policy, QualityReport* report = nullptr);

}  // namespace ploutos::data
