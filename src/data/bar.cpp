#include "ploutos/data/bar.hpp"

#include <algorithm>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::data {

Day session_day(Timeframe tf, Instant t) {
  return tf == Timeframe::k1d ? std::chrono::floor<std::chrono::days>(t) : calendar::nyse().new_york_day(t);
}

std::string stamp_text(Timeframe tf, Instant t) {
  return tf == Timeframe::k1d ? format_day(std::chrono::floor<std::chrono::days>(t)) : format_instant(t);
}

std::string_view to_string(Timeframe tf) {
  switch (tf) {
    case Timeframe::k1d:
      return "1d";
    case Timeframe::k1h:
      return "1h";
    case Timeframe::k4h:
      return "4h";
  }
  return "?";
}

Timeframe parse_timeframe(std::string_view text) {
  if (text == "1d" || text == "daily" || text == "1Day") return Timeframe::k1d;
  if (text == "1h" || text == "hourly" || text == "1Hour") return Timeframe::k1h;
  if (text == "4h") return Timeframe::k4h;
  throw InputError("unknown interval '" + std::string(text) + "' (expected 1d, 1h or 4h)");
}

void BarSeries::reserve(std::size_t n) {
  time.reserve(n);
  for (auto* column : {&open, &high, &low, &close, &volume}) column->reserve(n);
}

void BarSeries::push_back(const Bar& bar) {
  time.push_back(bar.time);
  open.push_back(bar.open);
  high.push_back(bar.high);
  low.push_back(bar.low);
  close.push_back(bar.close);
  volume.push_back(bar.volume);
}

BarSeries BarSeries::slice(Instant first, Instant last) const {
  BarSeries out;
  out.ticker = ticker;
  out.timeframe = timeframe;
  const auto begin = static_cast<std::size_t>(std::lower_bound(time.begin(), time.end(), first) - time.begin());
  const auto end = static_cast<std::size_t>(std::upper_bound(time.begin(), time.end(), last) - time.begin());
  if (begin >= end) return out;
  const auto b = static_cast<std::ptrdiff_t>(begin), e = static_cast<std::ptrdiff_t>(end);
  out.time.assign(time.begin() + b, time.begin() + e);
  out.open.assign(open.begin() + b, open.begin() + e);
  out.high.assign(high.begin() + b, high.begin() + e);
  out.low.assign(low.begin() + b, low.begin() + e);
  out.close.assign(close.begin() + b, close.begin() + e);
  out.volume.assign(volume.begin() + b, volume.begin() + e);
  return out;
}

}  // namespace ploutos::data
