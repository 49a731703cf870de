#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"

using namespace ploutos;
using namespace ploutos::calendar;

namespace {

// shared/brokers.md, "NYSE calendar" table for 2023-2026.
const std::map<int, std::vector<std::string>> kHolidays = {
    {2023,
     {"2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29", "2023-06-19", "2023-07-04", "2023-09-04",
      "2023-11-23", "2023-12-25"}},
    {2024,
     {"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02",
      "2024-11-28", "2024-12-25"}},
    {2025,
     {"2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19", "2025-07-04",
      "2025-09-01", "2025-11-27", "2025-12-25"}},
    {2026,
     {"2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03", "2026-09-07",
      "2026-11-26", "2026-12-25"}},
};
const std::map<int, std::vector<std::string>> kEarlyCloses = {
    {2023, {"2023-07-03", "2023-11-24"}},
    {2024, {"2024-07-03", "2024-11-29", "2024-12-24"}},
    {2025, {"2025-07-03", "2025-11-28", "2025-12-24"}},
    {2026, {"2026-11-27", "2026-12-24"}},
};

std::set<std::string> days_of_kind(int year, DayKind kind) {
  std::set<std::string> out;
  const auto& cal = nyse();
  for (Day d = parse_day(std::to_string(year) + "-01-01"); d <= parse_day(std::to_string(year) + "-12-31");
       d += std::chrono::days{1}) {
    if (cal.kind(d) == kind) out.insert(format_day(d));
  }
  return out;
}

}  // namespace

TEST(Nyse, HolidaysAndEarlyClosesMatchTheTable2023To2026) {
  for (const auto& [year, days] : kHolidays) {
    EXPECT_EQ(days_of_kind(year, DayKind::kHoliday), std::set<std::string>(days.begin(), days.end())) << year;
  }
  for (const auto& [year, days] : kEarlyCloses) {
    EXPECT_EQ(days_of_kind(year, DayKind::kEarlyClose), std::set<std::string>(days.begin(), days.end())) << year;
  }
}

TEST(Nyse, SessionCountsPerYearAreRealistic) {
  // Published NYSE session counts.
  const std::map<int, std::size_t> expected = {{2019, 252}, {2020, 253}, {2021, 252}, {2022, 251},
                                               {2023, 250}, {2024, 252}, {2025, 250}};
  for (const auto& [year, count] : expected) {
    EXPECT_EQ(
        nyse()
            .sessions_between(parse_day(std::to_string(year) + "-01-01"), parse_day(std::to_string(year) + "-12-31"))
            .size(),
        count)
        << year;
  }
}

TEST(Nyse, ObservanceRules) {
  const auto& cal = nyse();
  EXPECT_TRUE(cal.is_session(parse_day("2021-12-31")));   // Sat Jan 1 2022 is not observed on Friday
  EXPECT_FALSE(cal.is_session(parse_day("2022-12-26")));  // Christmas on Sunday -> Monday
  EXPECT_FALSE(cal.is_session(parse_day("2021-12-24")));  // Christmas on Saturday -> Friday
  EXPECT_FALSE(cal.is_session(parse_day("2022-06-20")));  // Juneteenth on Sunday -> Monday
  EXPECT_TRUE(cal.is_session(parse_day("2021-06-18")));   // no Juneteenth before 2022
  EXPECT_FALSE(cal.is_session(parse_day("2021-07-05")));  // July 4 on Sunday -> Monday
  EXPECT_TRUE(cal.is_session(parse_day("1997-01-20")));   // no MLK day before 1998
  EXPECT_FALSE(cal.is_session(parse_day("1998-01-19")));
  EXPECT_FALSE(cal.is_session(parse_day("2000-04-21")));  // Good Friday
  EXPECT_EQ(cal.holiday_name(parse_day("2024-11-28")), "Thanksgiving Day");
  EXPECT_EQ(cal.holiday_name(parse_day("2024-11-29")), "");
}

TEST(Nyse, AdHocClosures) {
  const auto& cal = nyse();
  for (const char* d : {"1994-04-27", "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14", "2004-06-11",
                        "2007-01-02", "2012-10-29", "2012-10-30", "2018-12-05", "2025-01-09"}) {
    EXPECT_FALSE(cal.is_session(parse_day(d))) << d;
    EXPECT_FALSE(cal.holiday_name(parse_day(d)).empty()) << d;
  }
  EXPECT_TRUE(cal.is_session(parse_day("2001-09-17")));
}

TEST(Nyse, EarlyCloseRulesOverTheYears) {
  const auto& cal = nyse();
  EXPECT_EQ(cal.kind(parse_day("2019-07-03")), DayKind::kEarlyClose);  // Wednesday, since 2013
  EXPECT_EQ(cal.kind(parse_day("2002-07-05")), DayKind::kEarlyClose);  // Friday after, before 2013
  EXPECT_EQ(cal.kind(parse_day("2002-07-03")), DayKind::kSession);
  EXPECT_EQ(cal.kind(parse_day("2020-07-02")), DayKind::kSession);  // July 3 2020 was the holiday
  EXPECT_EQ(cal.kind(parse_day("2021-12-23")), DayKind::kSession);
}

TEST(Nyse, SessionTimesFollowNewYorkDaylightSaving) {
  const auto& cal = nyse();
  const auto winter = cal.session(parse_day("2024-01-02"));
  EXPECT_EQ(format_instant(winter.open), "2024-01-02T14:30:00Z");
  EXPECT_EQ(format_instant(winter.close), "2024-01-02T21:00:00Z");
  const auto summer = cal.session(parse_day("2024-07-03"));
  EXPECT_EQ(format_instant(summer.open), "2024-07-03T13:30:00Z");
  EXPECT_EQ(format_instant(summer.close), "2024-07-03T17:00:00Z");
  EXPECT_TRUE(summer.early_close);
  EXPECT_THROW(cal.session(parse_day("2024-07-04")), InputError);
}

TEST(Nyse, AcceptanceInstants) {
  const auto& cal = nyse();
  EXPECT_FALSE(cal.is_open(parse_instant("2025-01-09T15:00:00Z")));
  EXPECT_TRUE(cal.is_open(parse_instant("2024-12-24T17:30:00Z")));
  EXPECT_FALSE(cal.is_open(parse_instant("2024-12-24T18:30:00Z")));
  EXPECT_FALSE(cal.is_open(parse_instant("2024-07-04T15:00:00Z")));
  EXPECT_EQ(format_instant(cal.next_open(parse_instant("2024-11-28T12:00:00Z"))), "2024-11-29T14:30:00Z");
}

TEST(Nyse, NextAndPreviousAreConsistent) {
  const auto& cal = nyse();
  const Instant fri_close = parse_instant("2024-03-28T20:00:00Z");  // Thu before Good Friday, 16:00 EDT
  EXPECT_TRUE(cal.is_open(fri_close - std::chrono::seconds{1}));
  EXPECT_FALSE(cal.is_open(fri_close));
  EXPECT_EQ(format_instant(cal.next_open(fri_close)), "2024-04-01T13:30:00Z");
  EXPECT_EQ(cal.previous_close(fri_close), fri_close);
  EXPECT_EQ(format_instant(cal.next_close(parse_instant("2024-04-01T13:30:00Z"))), "2024-04-01T20:00:00Z");
  // Property: for instants through 2024, next_open > t, previous_close <= t, and is_open matches the session bounds.
  for (Instant t = parse_instant("2024-01-01T00:00:00Z"); t < parse_instant("2025-01-01T00:00:00Z");
       t += std::chrono::minutes{97}) {
    const Instant open = cal.next_open(t), close = cal.next_close(t);
    ASSERT_GT(open, t);
    ASSERT_GT(close, t);
    ASSERT_LE(cal.previous_close(t), t);
    ASSERT_EQ(cal.is_open(t), close < open) << format_instant(t);
  }
}

TEST(Nyse, OutOfRangeDatesAreInputErrors) {
  EXPECT_THROW(nyse().is_session(parse_day("1989-12-29")), InputError);
  EXPECT_THROW(nyse().is_session(parse_day("2100-01-04")), InputError);
}

TEST(Nyse, MarketStatusExplainsWhyClosed) {
  const auto s = market_status(nyse(), parse_instant("2025-01-09T15:00:00Z"));
  EXPECT_FALSE(s.open);
  EXPECT_NE(s.closed_reason.find("Carter"), std::string::npos);
  EXPECT_EQ(format_instant(s.next_open), "2025-01-10T14:30:00Z");
  const auto late = market_status(nyse(), parse_instant("2024-12-24T18:30:00Z"));
  EXPECT_TRUE(late.early_close_today);
  EXPECT_NE(late.closed_reason.find("early close"), std::string::npos);
}
