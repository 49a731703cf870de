#pragma once
// Instants are UTC seconds; days are calendar days. Text forms are ISO-8601 (`2024-11-29T14:30:00Z`,
// `2024-11-29`).
#include <chrono>
#include <string>
#include <string_view>

namespace ploutos {

using Instant = std::chrono::sys_seconds;
using Day = std::chrono::sys_days;

// Accepts `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)`, a space instead of `T`, and a bare date
// (midnight UTC). Fractional seconds are truncated. Throws InputError naming the text.
Instant parse_instant(std::string_view text);
// Accepts `YYYY-MM-DD`. Throws InputError naming the text.
Day parse_day(std::string_view text);

std::string format_instant(Instant t);  // 2024-11-29T14:30:00Z
std::string format_day(Day d);          // 2024-11-29
// A bar time as a person reads it: daily bars are stamped at midnight UTC, and their date is what
// they mean (`2024-11-29T00:00:00Z` -> `2024-11-29`); intraday bars never start at midnight UTC.
std::string bar_time_text(std::string_view iso_instant);

Instant now_utc();

}  // namespace ploutos
