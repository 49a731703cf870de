#include "ploutos/calendar/nyse.hpp"

#include <date/tz.h>

#include <algorithm>

#include "ploutos/core/error.hpp"

namespace ploutos::calendar {
namespace {

using std::chrono::Friday;
using std::chrono::Monday;
using std::chrono::month;
using std::chrono::Saturday;
using std::chrono::Sunday;
using std::chrono::Thursday;
using std::chrono::Tuesday;
using std::chrono::Wednesday;
using std::chrono::weekday;
using std::chrono::year;
using std::chrono::year_month_day;

Day ymd(int y, unsigned m, unsigned d) {
  return Day{year_month_day{year{y}, month{m}, std::chrono::day{d}}};
}

weekday weekday_of(Day d) {
  return weekday{d};
}

// n-th (1-based) `wd` of a month; n = -1 for the last.
Day nth_weekday(int y, unsigned m, weekday wd, int n) {
  if (n > 0) {
    return Day{std::chrono::year_month_weekday{year{y}, month{m}, wd[static_cast<unsigned>(n)]}};
  }
  return Day{std::chrono::year_month_weekday_last{year{y}, month{m}, std::chrono::weekday_last{wd}}};
}

// Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
Day easter_sunday(int y) {
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int mon = (h + l - 7 * m + 114) / 31, day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(y, static_cast<unsigned>(mon), static_cast<unsigned>(day));
}

// A fixed-date holiday on Saturday is observed the Friday before, on Sunday the Monday after.
Day observed(Day d) {
  const weekday wd = weekday_of(d);
  if (wd == Saturday) return d - std::chrono::days{1};
  if (wd == Sunday) return d + std::chrono::days{1};
  return d;
}

struct Closure {
  int y;
  unsigned m, d;
  const char* name;
};

constexpr Closure kAdHocClosures[] = {
    {1994, 4, 27, "National day of mourning for President Richard Nixon"},
    {2001, 9, 11, "September 11 attacks"},
    {2001, 9, 12, "September 11 attacks"},
    {2001, 9, 13, "September 11 attacks"},
    {2001, 9, 14, "September 11 attacks"},
    {2004, 6, 11, "National day of mourning for President Ronald Reagan"},
    {2007, 1, 2, "National day of mourning for President Gerald Ford"},
    {2012, 10, 29, "Hurricane Sandy"},
    {2012, 10, 30, "Hurricane Sandy"},
    {2018, 12, 5, "National day of mourning for President George H. W. Bush"},
    {2025, 1, 9, "National day of mourning for President Jimmy Carter"},
};

const date::time_zone* new_york() {
  static const date::time_zone* zone = [] {
    try {
      return date::locate_zone("America/New_York");
    } catch (const std::exception& e) {
      throw Error(std::string("time zone America/New_York not found (install tzdata): ") + e.what());
    }
  }();
  return zone;
}

Instant new_york_time(Day day, int hour, int minute) {
  const date::local_seconds local{std::chrono::duration_cast<std::chrono::seconds>(
      day.time_since_epoch() + std::chrono::hours{hour} + std::chrono::minutes{minute})};
  return date::zoned_time<std::chrono::seconds>(new_york(), local).get_sys_time();
}

}  // namespace

NyseCalendar::NyseCalendar() : first_day_(ymd(kFirstYear, 1, 1)) {
  const Day end = ymd(kLastYear + 1, 1, 1);
  kinds_.resize(static_cast<std::size_t>((end - first_day_).count()), DayKind::kSession);
  for (Day d = first_day_; d < end; d += std::chrono::days{1}) {
    const weekday wd = weekday_of(d);
    if (wd == Saturday || wd == Sunday) kinds_[index(d)] = DayKind::kWeekend;
  }
  auto holiday = [&](Day d, const char* name) {
    if (d < first_day_ || d >= end) return;
    kinds_[index(d)] = DayKind::kHoliday;
    names_.emplace_back(d, name);
  };
  auto early = [&](Day d) {
    if (d < first_day_ || d >= end) return;
    if (kinds_[index(d)] == DayKind::kSession) kinds_[index(d)] = DayKind::kEarlyClose;
  };

  for (int y = kFirstYear; y <= kLastYear; ++y) {
    // New Year's Day: Sunday -> Monday; a Saturday January 1 is not observed on December 31.
    const Day new_year = ymd(y, 1, 1);
    if (weekday_of(new_year) != Saturday) holiday(observed(new_year), "New Year's Day");
    if (y >= 1998) holiday(nth_weekday(y, 1, Monday, 3), "Martin Luther King Jr. Day");
    holiday(nth_weekday(y, 2, Monday, 3), "Washington's Birthday");
    holiday(easter_sunday(y) - std::chrono::days{2}, "Good Friday");
    holiday(nth_weekday(y, 5, Monday, -1), "Memorial Day");
    if (y >= 2022) holiday(observed(ymd(y, 6, 19)), "Juneteenth National Independence Day");
    holiday(observed(ymd(y, 7, 4)), "Independence Day");
    holiday(nth_weekday(y, 9, Monday, 1), "Labor Day");
    const Day thanksgiving = nth_weekday(y, 11, Thursday, 4);
    holiday(thanksgiving, "Thanksgiving Day");
    holiday(observed(ymd(y, 12, 25)), "Christmas Day");
  }
  for (const auto& c : kAdHocClosures) holiday(ymd(c.y, c.m, c.d), c.name);

  // 13:00 early closes (docs/calendar.md): applied after all holidays so a holiday always wins.
  for (int y = kFirstYear; y <= kLastYear; ++y) {
    const Day july3 = ymd(y, 7, 3);
    const weekday wd3 = weekday_of(july3);
    if (y >= 1995 && (wd3 == Monday || wd3 == Tuesday || wd3 == Thursday)) early(july3);
    if (y >= 2013 && wd3 == Wednesday) early(july3);
    const Day july5 = ymd(y, 7, 5);
    if (y >= 1996 && y < 2013 && weekday_of(july5) == Friday) early(july5);
    if (y >= 1993) early(nth_weekday(y, 11, Thursday, 4) + std::chrono::days{1});
    const Day christmas_eve = ymd(y, 12, 24);
    const weekday wd24 = weekday_of(christmas_eve);
    if (y >= 1993 && wd24 != Saturday && wd24 != Sunday) early(christmas_eve);
  }
  std::sort(names_.begin(), names_.end());
}

std::size_t NyseCalendar::index(Day day) const {
  const auto offset = (day - first_day_).count();
  if (offset < 0 || static_cast<std::size_t>(offset) >= kinds_.size()) {
    throw InputError("date " + format_day(day) + " is outside the NYSE calendar's range " + std::to_string(kFirstYear) +
                     "-01-01.." + std::to_string(kLastYear) + "-12-31");
  }
  return static_cast<std::size_t>(offset);
}

DayKind NyseCalendar::kind(Day day) const {
  return kinds_[index(day)];
}

bool NyseCalendar::is_session(Day day) const {
  const DayKind k = kind(day);
  return k == DayKind::kSession || k == DayKind::kEarlyClose;
}

std::string NyseCalendar::holiday_name(Day day) const {
  const auto it =
      std::lower_bound(names_.begin(), names_.end(), day, [](const auto& entry, Day d) { return entry.first < d; });
  // Two rules can name one day (an ad-hoc closure on a holiday); the first name is kept.
  return it != names_.end() && it->first == day ? it->second : std::string();
}

Session NyseCalendar::session(Day day) const {
  const DayKind k = kind(day);
  if (k == DayKind::kWeekend || k == DayKind::kHoliday) {
    throw InputError(format_day(day) + " is not an NYSE session" +
                     (k == DayKind::kHoliday ? " (" + holiday_name(day) + ")" : std::string(" (weekend)")));
  }
  const bool early_close = k == DayKind::kEarlyClose;
  return Session{day, new_york_time(day, 9, 30), new_york_time(day, early_close ? 13 : 16, 0), early_close};
}

Day NyseCalendar::new_york_day(Instant t) const {
  const auto local = date::zoned_time<std::chrono::seconds>(new_york(), t).get_local_time();
  return Day{std::chrono::floor<std::chrono::days>(local.time_since_epoch())};
}

bool NyseCalendar::is_open(Instant t) const {
  const Day day = new_york_day(t);
  if (!is_session(day)) return false;
  const Session s = session(day);
  return t >= s.open && t < s.close;
}

Day NyseCalendar::next_session(Day day) const {
  Day d = day + std::chrono::days{1};
  while (!is_session(d)) d += std::chrono::days{1};
  return d;
}

Day NyseCalendar::previous_session(Day day) const {
  Day d = day - std::chrono::days{1};
  while (!is_session(d)) d -= std::chrono::days{1};
  return d;
}

Instant NyseCalendar::next_open(Instant t) const {
  const Day day = new_york_day(t);
  if (is_session(day)) {
    const Session s = session(day);
    if (t < s.open) return s.open;
  }
  return session(next_session(day)).open;
}

Instant NyseCalendar::next_close(Instant t) const {
  const Day day = new_york_day(t);
  if (is_session(day)) {
    const Session s = session(day);
    if (t < s.close) return s.close;
  }
  return session(next_session(day)).close;
}

Instant NyseCalendar::previous_close(Instant t) const {
  const Day day = new_york_day(t);
  if (is_session(day)) {
    const Session s = session(day);
    if (t >= s.close) return s.close;
  }
  return session(previous_session(day)).close;
}

std::vector<Day> NyseCalendar::sessions_between(Day first, Day last) const {
  std::vector<Day> days;
  if (first > last) return days;
  index(first);
  index(last);
  for (Day d = first; d <= last; d += std::chrono::days{1}) {
    if (is_session(d)) days.push_back(d);
  }
  return days;
}

const NyseCalendar& nyse() {
  static const NyseCalendar calendar;
  return calendar;
}

}  // namespace ploutos::calendar

namespace ploutos::calendar {

MarketStatus market_status(const NyseCalendar& calendar, Instant at) {
  MarketStatus status;
  status.at = at;
  status.new_york_day = calendar.new_york_day(at);
  status.open = calendar.is_open(at);
  status.next_open = calendar.next_open(at);
  status.next_close = calendar.next_close(at);
  status.previous_close = calendar.previous_close(at);
  switch (calendar.kind(status.new_york_day)) {
    case DayKind::kWeekend:
      status.closed_reason = "weekend";
      break;
    case DayKind::kHoliday:
      status.closed_reason = calendar.holiday_name(status.new_york_day);
      break;
    case DayKind::kEarlyClose:
    case DayKind::kSession: {
      const Session s = calendar.session(status.new_york_day);
      status.early_close_today = s.early_close;
      if (at < s.open) status.closed_reason = "before the open";
      if (at >= s.close)
        status.closed_reason = s.early_close ? "after the early close (13:00 New York)" : "after the close";
      break;
    }
  }
  return status;
}

}  // namespace ploutos::calendar
