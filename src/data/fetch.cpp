#include "ploutos/data/fetch.hpp"

#include <algorithm>
#include <charconv>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::data {
namespace {

bool has_session(Day first, Day last) {
  return first <= last && !calendar::nyse().sessions_between(first, last).empty();
}

}  // namespace

std::vector<std::pair<Day, Day>> missing_ranges(Day start, Day end, const BarSeries* stored) {
  std::vector<std::pair<Day, Day>> out;
  if (stored == nullptr || stored->empty()) {
    if (has_session(start, end)) out.emplace_back(start, end);
    return out;
  }
  const Day first = session_day(stored->timeframe, stored->time.front()),
            last = session_day(stored->timeframe, stored->time.back());
  const Day before_end = std::min(end, first - std::chrono::days{1});
  if (start < first && has_session(start, before_end)) out.emplace_back(start, before_end);
  const Day after_start = std::max(start, last + std::chrono::days{1});
  if (end > last && has_session(after_start, end)) out.emplace_back(after_start, end);
  return out;
}

std::pair<Day, Day> resolve_window(const std::string& start_text, const std::string& end_text,
                                   const std::string& period, Day today) {
  const Day end = end_text.empty() ? today : parse_day(end_text);
  Day start = end;
  if (!start_text.empty()) {
    start = parse_day(start_text);
  } else {
    if (period.size() < 2) throw InputError("period '" + period + "': expected a look-back like 90d, 12w, 6m or 5y");
    int count = 0;
    const auto [ptr, ec] = std::from_chars(period.data(), period.data() + period.size() - 1, count);
    if (ec != std::errc() || ptr != period.data() + period.size() - 1 || count <= 0) {
      throw InputError("period '" + period + "': expected a look-back like 90d, 12w, 6m or 5y");
    }
    const std::chrono::year_month_day ymd{end};
    switch (period.back()) {
      case 'd':
        start = end - std::chrono::days{count};
        break;
      case 'w':
        start = end - std::chrono::days{7 * count};
        break;
      case 'm':
        start = Day{(ymd - std::chrono::months{count})};
        break;
      case 'y':
        start = Day{(ymd - std::chrono::years{count})};
        break;
      default:
        throw InputError("period '" + period + "': expected a unit d, w, m or y");
    }
  }
  if (start > end) throw InputError("fetch window: start " + format_day(start) + " is after end " + format_day(end));
  return {start, end};
}

FetchOutcome fetch_into_store(const DataStore& store, SourceChain& chain, const FetchRequest& request) {
  FetchOutcome outcome;
  outcome.ticker = request.ticker;
  BarSeries stored;
  std::string stored_source;
  if (const auto info = store.stored(request.ticker, request.timeframe)) {
    stored = store.load(request.ticker, request.timeframe, QualityPolicy::kWarn);
    stored_source = info->source;
  }
  outcome.requested = missing_ranges(request.start, request.end, stored.empty() ? nullptr : &stored);
  outcome.source = stored_source;
  outcome.total_bars = stored.size();
  if (outcome.requested.empty()) return outcome;

  std::vector<Bar> bars;
  for (std::size_t i = 0; i < stored.size(); ++i) bars.push_back(stored.bar(i));
  std::vector<std::string> sources;
  if (!stored_source.empty()) sources.push_back(stored_source);
  for (const auto& [first, last] : outcome.requested) {
    const ChainResult got = chain.fetch(FetchRequest{request.ticker, request.timeframe, first, last});
    for (std::size_t i = 0; i < got.series.size(); ++i) bars.push_back(got.series.bar(i));
    outcome.new_bars += got.series.size();
    if (std::find(sources.begin(), sources.end(), got.source) == sources.end()) sources.push_back(got.source);
  }
  // Stored bars come first in `bars`, and a stable sort keeps them ahead of a fetched duplicate.
  std::stable_sort(bars.begin(), bars.end(), [](const Bar& a, const Bar& b) { return a.time < b.time; });
  BarSeries merged;
  merged.ticker = request.ticker;
  merged.timeframe = request.timeframe;
  for (const Bar& b : bars) {
    if (merged.empty() || b.time > merged.time.back()) merged.push_back(b);
  }
  std::string source;
  for (const auto& s : sources) source += (source.empty() ? "" : "+") + s;
  const auto info = store.save(merged, source);
  outcome.source = info.source;
  outcome.total_bars = info.rows;
  return outcome;
}

}  // namespace ploutos::data
