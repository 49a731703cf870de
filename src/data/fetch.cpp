#include "ploutos/data/fetch.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::data {
namespace {

using std::chrono::days;

bool has_session(Day first, Day last) {
  return first <= last && !calendar::nyse().sessions_between(first, last).empty();
}

// Relative difference of a close above which the source's history is on another basis than the
// stored one. The same source repeats its numbers exactly; the smallest dividend that moves
// adjusted prices, a few hundredths of a percent, is still above it.
constexpr double kBasisTolerance = 1e-4;

std::string price_text(double price) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", price);
  return text;
}

// Bars of the chain that have ended at `now`; the others are counted, not kept.
std::vector<Bar> finished_bars(const BarSeries& series, Instant now, std::size_t& unfinished) {
  std::vector<Bar> out;
  out.reserve(series.size());
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (bar_end(series.timeframe, series.time[i]) > now) {
      ++unfinished;
      continue;
    }
    out.push_back(series.bar(i));
  }
  return out;
}

}  // namespace

Instant bar_end(Timeframe tf, Instant t) {
  const auto& cal = calendar::nyse();
  const Day day = session_day(tf, t);
  if (!cal.is_session(day)) return t;  // no session to wait for; the quality checks report such a bar
  const Instant close = cal.session(day).close;
  if (tf == Timeframe::k1d) return close;
  const std::chrono::hours length{tf == Timeframe::k4h ? 4 : 1};
  return std::min<Instant>(t + length, close);
}

std::vector<std::pair<Day, Day>> missing_ranges(Day start, Day end, const BarSeries* stored) {
  std::vector<std::pair<Day, Day>> out;
  if (stored == nullptr || stored->empty()) {
    if (has_session(start, end)) out.emplace_back(start, end);
    return out;
  }
  const Timeframe tf = stored->timeframe;
  const Day first = session_day(tf, stored->time.front()), last = session_day(tf, stored->time.back());
  if (start < first && has_session(start, first - days{1})) out.emplace_back(start, first);
  const auto& cal = calendar::nyse();
  // An intraday session is complete when its last bar ends at the close.
  const bool last_complete = !cal.is_session(last) || bar_end(tf, stored->time.back()) >= cal.session(last).close;
  if (has_session(last + days{1}, end) || (!last_complete && end >= last)) {
    // Back to the stored session before the last, when there is one: the last may hold a source's
    // first word on that day (a close corrected later), the one before is settled.
    Day from = last;
    for (std::size_t i = stored->size(); i-- > 0;) {
      if (const Day d = session_day(tf, stored->time[i]); d < last) {
        from = d;
        break;
      }
    }
    out.emplace_back(from, end);
  }
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

FetchOutcome fetch_into_store(const DataStore& store, SourceChain& chain, const FetchRequest& request, Instant now) {
  FetchOutcome outcome;
  outcome.ticker = request.ticker;
  const Timeframe tf = request.timeframe;
  BarSeries stored;
  std::string stored_source;
  std::filesystem::path stored_file;
  if (const auto info = store.stored(request.ticker, tf)) {
    stored = store.load(request.ticker, tf, QualityPolicy::kWarn);
    stored_source = info->source;
    stored_file = info->file;
  }
  outcome.requested = missing_ranges(request.start, request.end, stored.empty() ? nullptr : &stored);
  outcome.source = stored_source;
  outcome.total_bars = stored.size();
  if (outcome.requested.empty()) return outcome;

  const auto stored_at = [&](Instant t) -> std::optional<std::size_t> {
    const auto it = std::lower_bound(stored.time.begin(), stored.time.end(), t);
    if (it == stored.time.end() || *it != t) return std::nullopt;
    return static_cast<std::size_t>(it - stored.time.begin());
  };
  std::vector<Bar> fetched;
  std::vector<std::string> sources;
  if (!stored_source.empty()) sources.push_back(stored_source);
  std::string changed;  // how the source's prices moved since they were stored, if they did
  for (const auto& [first, last] : outcome.requested) {
    const ChainResult got = chain.fetch(FetchRequest{request.ticker, tf, first, last});
    const auto bars = finished_bars(got.series, now, outcome.unfinished_bars);
    // Each range reaches into the stored sessions: the first stored bar the source delivers again
    // tells whether its history is still the stored one's (a split or dividend since rescales it).
    for (const Bar& b : bars) {
      const auto i = stored_at(b.time);
      if (!i) {
        // A bar inside the stored span at a time the store has none: another bar grid (hours
        // of a clock-anchored source stored by an earlier version) or a hole; either way the
        // two cannot be merged bar by bar.
        if (changed.empty() && !stored.empty() && b.time > stored.time.front() && b.time < stored.time.back())
          changed = got.source + " has a bar at " + stamp_text(tf, b.time) + ", where the store has none";
        continue;
      }
      if (changed.empty() && std::abs(b.close / stored.close[*i] - 1) > kBasisTolerance)
        changed = "the close of " + stamp_text(tf, b.time) + " was stored as " + price_text(stored.close[*i]) +
                  " and is now " + price_text(b.close) + " at " + got.source;
      break;
    }
    fetched.insert(fetched.end(), bars.begin(), bars.end());
    if (std::find(sources.begin(), sources.end(), got.source) == sources.end()) sources.push_back(got.source);
  }
  if (!changed.empty()) {
    // The stored history is on another basis than the source's now: all of it is fetched again,
    // or, when the source no longer reaches back as far, nothing is changed and the user is told.
    const Day from = std::min(request.start, session_day(tf, stored.time.front()));
    const Day to = std::max(request.end, session_day(tf, stored.time.back()));
    const ChainResult again = chain.fetch(FetchRequest{request.ticker, tf, from, to});
    outcome.unfinished_bars = 0;
    fetched = finished_bars(again.series, now, outcome.unfinished_bars);
    if (fetched.empty() || fetched.front().time > stored.time.front()) {
      throw SourceError(request.ticker + ": the source's bars differ from the stored ones (" + changed +
                        ": a split or a dividend since adjusts the history), and " + again.source +
                        " cannot deliver the whole stored history again (it starts " +
                        (fetched.empty() ? std::string("nowhere") : stamp_text(tf, fetched.front().time)) +
                        ", the store " + stamp_text(tf, stored.time.front()) +
                        "); nothing was changed: import a file on today's basis, or move " + stored_file.string() +
                        " away and fetch afresh");
    }
    outcome.rebased = true;
    outcome.note = "history fetched again on the source's new basis: " + changed;
    sources.assign(1, again.source);
  } else {
    // The same basis: fetched bars replace the stored ones of the sessions fetched again (a bar
    // a source corrected since), the stored ones fill the rest.
    for (std::size_t i = 0; i < stored.size(); ++i) fetched.push_back(stored.bar(i));
  }
  // Fetched bars come first in `fetched`, and a stable sort keeps them ahead of a stored duplicate.
  std::stable_sort(fetched.begin(), fetched.end(), [](const Bar& a, const Bar& b) { return a.time < b.time; });
  BarSeries merged;
  merged.ticker = request.ticker;
  merged.timeframe = tf;
  for (const Bar& b : fetched) {
    if (merged.empty() || b.time > merged.time.back()) {
      merged.push_back(b);
      if (!stored_at(b.time)) ++outcome.new_bars;
    }
  }
  std::string source;
  for (const auto& s : sources) source += (source.empty() ? "" : "+") + s;
  const auto info = store.save(merged, source);
  outcome.source = info.source;
  outcome.total_bars = info.rows;
  return outcome;
}

}  // namespace ploutos::data
