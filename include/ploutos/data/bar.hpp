#pragma once
// Market data value types. A bar is stamped with its session date (daily, as midnight UTC of that
// date) or its start time (intraday, UTC).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ploutos/core/time.hpp"

namespace ploutos::data {

enum class Timeframe { k1d, k1h, k4h };

std::string_view to_string(Timeframe tf);
// "1d", "1h", "4h" (also "daily", "hourly"); throws InputError otherwise.
Timeframe parse_timeframe(std::string_view text);
inline bool is_intraday(Timeframe tf) {
  return tf != Timeframe::k1d;
}
// Bars of a regular 9:30-16:00 session: 7 hourly (the last one half an hour), 2 four-hour
// (9:30 and 13:30).
inline int bars_per_session(Timeframe tf) {
  return tf == Timeframe::k1h ? 7 : tf == Timeframe::k4h ? 2 : 1;
}
// Annualising everywhere: 252 sessions a year times the bars of a session.
inline constexpr double kSessionsPerYear = 252.0;
inline double bars_per_year(Timeframe tf) {
  return kSessionsPerYear * bars_per_session(tf);
}

// The NYSE session of a bar stamped `t`: a daily bar's stamp is its date, an intraday bar's its
// start instant (the New York trading day of that instant).
Day session_day(Timeframe tf, Instant t);
// A bar's stamp as text: its date for daily bars (2024-11-29), its start instant otherwise.
std::string stamp_text(Timeframe tf, Instant t);

struct Bar {
  Instant time;
  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  double volume = 0;
};

// One ticker, one timeframe, ascending unique times; struct of arrays so indicators run over
// contiguous columns. Filled by readers and generators, checked by data::check_quality().
struct BarSeries {
  std::string ticker;
  Timeframe timeframe = Timeframe::k1d;
  std::vector<Instant> time;
  std::vector<double> open, high, low, close, volume;

  std::size_t size() const { return time.size(); }
  bool empty() const { return time.empty(); }
  void reserve(std::size_t n);
  void push_back(const Bar& bar);
  Bar bar(std::size_t i) const { return {time[i], open[i], high[i], low[i], close[i], volume[i]}; }
  // Bars with first <= time <= last (binary search; the series is sorted).
  BarSeries slice(Instant first, Instant last) const;
};

}  // namespace ploutos::data
