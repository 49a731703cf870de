#include "ploutos/core/time.hpp"

#include <charconv>
#include <cstdio>

#include "ploutos/core/error.hpp"

namespace ploutos {
namespace {

struct Cursor {
  std::string_view text;
  std::size_t pos = 0;

  bool done() const { return pos >= text.size(); }
  char peek() const { return done() ? '\0' : text[pos]; }
  bool digits(int count, int& out) {
    if (pos + static_cast<std::size_t>(count) > text.size()) return false;
    const char* first = text.data() + pos;
    for (int i = 0; i < count; ++i) {
      if (first[i] < '0' || first[i] > '9') return false;
    }
    std::from_chars(first, first + count, out);
    pos += static_cast<std::size_t>(count);
    return true;
  }
  bool literal(char c) {
    if (peek() != c) return false;
    ++pos;
    return true;
  }
};

[[noreturn]] void bad(std::string_view text, const char* expected) {
  throw InputError("invalid time '" + std::string(text) + "': expected " + expected);
}

Day parse_day_at(Cursor& c, std::string_view whole, const char* expected) {
  int y = 0, m = 0, d = 0;
  if (!c.digits(4, y) || !c.literal('-') || !c.digits(2, m) || !c.literal('-') || !c.digits(2, d)) {
    bad(whole, expected);
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) bad(whole, "a valid calendar date");
  return std::chrono::sys_days{ymd};
}

}  // namespace

Day parse_day(std::string_view text) {
  Cursor c{text};
  const Day day = parse_day_at(c, text, "YYYY-MM-DD");
  if (!c.done()) bad(text, "YYYY-MM-DD");
  return day;
}

Instant parse_instant(std::string_view text) {
  constexpr const char* kExpected = "ISO-8601 like 2024-12-24T17:30:00Z";
  Cursor c{text};
  const Day day = parse_day_at(c, text, kExpected);
  if (c.done()) return Instant{day};
  if (!c.literal('T') && !c.literal(' ')) bad(text, kExpected);
  int hh = 0, mm = 0, ss = 0;
  if (!c.digits(2, hh) || !c.literal(':') || !c.digits(2, mm)) bad(text, kExpected);
  if (c.literal(':') && !c.digits(2, ss)) bad(text, kExpected);
  if (c.literal('.')) {
    while (!c.done() && c.peek() >= '0' && c.peek() <= '9') ++c.pos;
  }
  if (hh > 23 || mm > 59 || ss > 60) bad(text, "a valid time of day");
  int offset_minutes = 0;
  if (c.literal('Z') || c.literal('z')) {
  } else if (c.peek() == '+' || c.peek() == '-') {
    const int sign = c.peek() == '-' ? -1 : 1;
    ++c.pos;
    int oh = 0, om = 0;
    if (!c.digits(2, oh)) bad(text, kExpected);
    c.literal(':');
    if (!c.digits(2, om)) bad(text, kExpected);
    offset_minutes = sign * (oh * 60 + om);
  } else {
    bad(text, "an explicit zone (Z or ±HH:MM) in ISO-8601 like 2024-12-24T17:30:00Z");
  }
  if (!c.done()) bad(text, kExpected);
  using namespace std::chrono;
  return Instant{day} + hours{hh} + minutes{mm} + seconds{ss} - minutes{offset_minutes};
}

std::string bar_time_text(std::string_view iso) {
  constexpr std::string_view midnight = "T00:00:00Z";
  if (iso.size() == 10 + midnight.size() && iso.substr(10) == midnight) return std::string(iso.substr(0, 10));
  return std::string(iso);
}

std::string format_day(Day d) {
  const std::chrono::year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string format_instant(Instant t) {
  using namespace std::chrono;
  const Day day = floor<days>(t);
  const hh_mm_ss hms{t - day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return format_day(day) + buf;
}

Instant now_utc() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace ploutos
