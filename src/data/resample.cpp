#include "ploutos/data/resample.hpp"

#include <algorithm>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::data {

BarSeries resample_1h_to_4h(const BarSeries& hourly) {
  if (hourly.timeframe != Timeframe::k1h) {
    throw InputError(hourly.ticker + ": 4h bars are built from 1h bars, got " +
                     std::string(to_string(hourly.timeframe)));
  }
  const auto& cal = calendar::nyse();
  BarSeries out;
  out.ticker = hourly.ticker;
  out.timeframe = Timeframe::k4h;
  out.reserve(hourly.size() / 2 + 1);
  constexpr auto kBucket = std::chrono::hours{4};
  Day current_day{};
  calendar::Session session{};
  bool have_session = false;
  Instant bucket_start{};
  bool open_bucket = false;
  for (std::size_t i = 0; i < hourly.size(); ++i) {
    const Instant t = hourly.time[i];
    const Day day = cal.new_york_day(t);
    if (!have_session || day != current_day) {
      current_day = day;
      have_session = cal.is_session(day);
      if (have_session) session = cal.session(day);
      open_bucket = false;
    }
    if (!have_session || t < session.open || t >= session.close) continue;
    const Instant start = session.open + kBucket * ((t - session.open) / kBucket);
    if (!open_bucket || start != bucket_start) {
      out.push_back(Bar{start, hourly.open[i], hourly.high[i], hourly.low[i], hourly.close[i], hourly.volume[i]});
      bucket_start = start;
      open_bucket = true;
      continue;
    }
    out.high.back() = std::max(out.high.back(), hourly.high[i]);
    out.low.back() = std::min(out.low.back(), hourly.low[i]);
    out.close.back() = hourly.close[i];
    out.volume.back() += hourly.volume[i];
  }
  return out;
}

}  // namespace ploutos::data
