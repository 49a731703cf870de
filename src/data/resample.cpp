#include "ploutos/data/resample.hpp"

#include <algorithm>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::data {
namespace {

// Buckets of `length` from each session's open; bars outside regular sessions are dropped.
BarSeries session_buckets(const BarSeries& in, std::chrono::hours length, Timeframe timeframe) {
  const auto& cal = calendar::nyse();
  BarSeries out;
  out.ticker = in.ticker;
  out.timeframe = timeframe;
  Day current_day{};
  calendar::Session session{};
  bool have_session = false;
  Instant bucket_start{};
  bool open_bucket = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Instant t = in.time[i];
    const Day day = cal.new_york_day(t);
    if (!have_session || day != current_day) {
      current_day = day;
      have_session = cal.is_session(day);
      if (have_session) session = cal.session(day);
      open_bucket = false;
    }
    if (!have_session || t < session.open || t >= session.close) continue;
    const Instant start = session.open + length * ((t - session.open) / length);
    if (!open_bucket || start != bucket_start) {
      out.push_back(Bar{start, in.open[i], in.high[i], in.low[i], in.close[i], in.volume[i]});
      bucket_start = start;
      open_bucket = true;
      continue;
    }
    out.high.back() = std::max(out.high.back(), in.high[i]);
    out.low.back() = std::min(out.low.back(), in.low[i]);
    out.close.back() = in.close[i];
    out.volume.back() += in.volume[i];
  }
  return out;
}

}  // namespace

BarSeries resample_1h_to_4h(const BarSeries& hourly) {
  if (hourly.timeframe != Timeframe::k1h) {
    throw InputError(hourly.ticker + ": 4h bars are built from 1h bars, got " +
                     std::string(to_string(hourly.timeframe)));
  }
  return session_buckets(hourly, std::chrono::hours{4}, Timeframe::k4h);
}

BarSeries session_hours(const BarSeries& finer) {
  return session_buckets(finer, std::chrono::hours{1}, Timeframe::k1h);
}

}  // namespace ploutos::data
