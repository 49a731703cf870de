#pragma once
// Fetch into the data directory: asks the source chain only for the sessions the store lacks
// (before its first bar, after its last), merges (stored bars win), and saves atomically with the
// source recorded.
#include <string>
#include <vector>

#include "ploutos/data/sources.hpp"
#include "ploutos/data/store.hpp"

namespace ploutos::data {

struct FetchOutcome {
  std::string ticker;
  std::string source;  // sources of the stored series after the fetch, e.g. "alpaca" or "yahoo+alpaca"
  std::size_t new_bars = 0;
  std::size_t total_bars = 0;
  std::vector<std::pair<Day, Day>> requested;  // ranges asked of the chain; empty when up to date
};

// The ranges of [start, end] not covered by a stored series spanning [first, last] (each range holds
// at least one NYSE session).
std::vector<std::pair<Day, Day>> missing_ranges(Day start, Day end, const BarSeries* stored);

// The fetch window from config-style text: explicit start/end (YYYY-MM-DD), else `period` (90d, 12w,
// 6m, 5y) back from end; an empty end means `today`. Throws InputError on bad text or start > end.
std::pair<Day, Day> resolve_window(const std::string& start, const std::string& end, const std::string& period,
                                   Day today);

FetchOutcome fetch_into_store(const DataStore& store, SourceChain& chain, const FetchRequest& request);

}  // namespace ploutos::data
