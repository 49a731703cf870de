#pragma once
// The NYSE trading calendar: regular sessions 09:30-16:00 America/New_York, every full-day holiday
// rule since 1990 with its weekend observance, 13:00 early closes, and the ad-hoc closures. Rules
// and their sources are in docs/calendar.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ploutos/core/time.hpp"

namespace ploutos::calendar {

struct Session {
  Day day;
  Instant open;   // UTC
  Instant close;  // UTC; 13:00 New York time on an early close
  bool early_close = false;
};

enum class DayKind : std::uint8_t { kSession, kEarlyClose, kWeekend, kHoliday };

class NyseCalendar {
 public:
  static constexpr int kFirstYear = 1990;
  static constexpr int kLastYear = 2099;

  NyseCalendar();

  bool is_session(Day day) const;
  DayKind kind(Day day) const;
  // Name of the holiday or closure ("Thanksgiving Day", "Hurricane Sandy"), empty for other days.
  std::string holiday_name(Day day) const;

  // The session on `day`; throws InputError if the market is closed that day.
  Session session(Day day) const;
  bool is_open(Instant t) const;

  Instant next_open(Instant t) const;       // first session open strictly after t
  Instant next_close(Instant t) const;      // first session close strictly after t
  Instant previous_close(Instant t) const;  // last session close at or before t

  Day next_session(Day day) const;                               // first session day strictly after `day`
  Day previous_session(Day day) const;                           // last session day strictly before `day`
  std::vector<Day> sessions_between(Day first, Day last) const;  // inclusive; empty if first > last

  // The New York calendar day of an instant.
  Day new_york_day(Instant t) const;

 private:
  std::size_t index(Day day) const;  // throws InputError outside [kFirstYear, kLastYear]
  Day first_day_;
  std::vector<DayKind> kinds_;
  std::vector<std::pair<Day, std::string>> names_;  // sorted by day
};

// The process-wide calendar (built once, ~40k days).
const NyseCalendar& nyse();

}  // namespace ploutos::calendar

namespace ploutos::calendar {

// What `ploutos status` and the trading loop need to know about one instant.
struct MarketStatus {
  Instant at;
  bool open = false;
  Day new_york_day;
  std::string closed_reason;  // "weekend", a holiday name, "before the open", "after the close"; empty when open
  bool early_close_today = false;
  Instant next_open;
  Instant next_close;
  Instant previous_close;
};

MarketStatus market_status(const NyseCalendar& calendar, Instant at);

}  // namespace ploutos::calendar
