#pragma once
// Fetch into the data directory: asks the source chain only for the sessions the store lacks
// (before its first bar, after its last, and the sessions between when a window lies beyond the
// stored one, so the store stays contiguous), keeps only bars that have ended, checks that the
// source's prices of a session it already has are the stored ones (a split or a dividend since
// the last fetch rescales a source's history), merges, and saves atomically with the source
// recorded. docs/data.md.
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
  std::size_t unfinished_bars = 0;             // bars the source had that had not ended yet: not stored
  bool rebased = false;                        // the history was fetched again on the source's new basis
  std::string note;                            // why, when rebased
};

// When the bar stamped `t` has ended: a daily bar at its session's close, an intraday bar one
// interval after its start or at the session's close, whichever comes first.
Instant bar_end(Timeframe tf, Instant t);

// The ranges to ask for to cover [start, end] given a stored series spanning sessions
// [first, last]: [start, first] when a session lies before `first`; [the stored session before
// `last`, end] when one lies after `last` or the stored last session is not complete yet
// (intraday). Each reaches into the stored sessions, whose bars show whether the source's prices
// are still the stored ones.
std::vector<std::pair<Day, Day>> missing_ranges(Day start, Day end, const BarSeries* stored);

// The fetch window from config-style text: explicit start/end (YYYY-MM-DD), else `period` (90d, 12w,
// 6m, 5y) back from end; an empty end means `today`. Throws InputError on bad text or start > end.
std::pair<Day, Day> resolve_window(const std::string& start, const std::string& end, const std::string& period,
                                   Day today);

// `now` decides which bars have ended. When the source's prices of a stored session differ (a
// split or dividend since), the whole history is fetched again on the new basis; when the source
// cannot deliver all of it again, throws SourceError and changes nothing.
FetchOutcome fetch_into_store(const DataStore& store, SourceChain& chain, const FetchRequest& request, Instant now);

}  // namespace ploutos::data
