#pragma once
// CSV bars. Recognised headers (case-insensitive):
//  - the project's normalised daily format  `date,open,high,low,close,adj_close,volume`
//  - the normalised intraday format         `timestamp,open,high,low,close,volume` (ISO-8601 UTC)
//  - Yahoo's download format                `Date,Open,High,Low,Close,Adj Close,Volume` (`null` rows skipped)
//  - anything else through a ColumnMapping.
// Errors read `file:line: what` (InputError, exit 2).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ploutos/data/bar.hpp"

namespace ploutos::data {

// Column names to use instead of the recognised ones; empty keeps the default lookup.
struct ColumnMapping {
  std::string time, open, high, low, close, volume;
};

// How Yahoo-style files with a separate adjusted close are turned into bars.
enum class PriceAdjustment {
  kAsStored,        // OHLC as in the file (the project's files are already adjusted)
  kScaleToAdjClose  // multiply OHLC by adj_close / close (dividend-adjust a raw Yahoo download)
};

struct CsvReadOptions {
  std::string ticker;                  // default: the file's stem
  std::optional<Timeframe> timeframe;  // default: 1d for date-only times, else 1h
  ColumnMapping mapping;
  PriceAdjustment adjustment = PriceAdjustment::kAsStored;
};

struct CsvReadResult {
  BarSeries series;
  std::size_t skipped_null_rows = 0;  // Yahoo `null` rows (non-trading placeholders)
};

// Parses CSV text. Structural problems (missing column, a non-number in a price, unsorted or
// duplicate times) throw InputError naming `file_name:line`. Value checks are data::check_quality's.
CsvReadResult parse_csv(std::string_view text, const std::string& file_name, const CsvReadOptions& options = {});
CsvReadResult read_csv(const std::filesystem::path& path, const CsvReadOptions& options = {});

// The normalised format (daily: date,open,high,low,close,adj_close,volume; intraday: timestamp,...),
// prices with up to 6 decimals. Deterministic: the same series gives the same bytes.
std::string to_csv(const BarSeries& series);
// Writes atomically (temp file + rename).
void write_csv(const std::filesystem::path& path, const BarSeries& series);

}  // namespace ploutos::data
