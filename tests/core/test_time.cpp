#include <gtest/gtest.h>

#include "ploutos/core/error.hpp"
#include "ploutos/core/time.hpp"

using namespace ploutos;

TEST(Time, ParsesAndFormatsUtcInstants) {
  EXPECT_EQ(format_instant(parse_instant("2024-11-29T14:30:00Z")), "2024-11-29T14:30:00Z");
  EXPECT_EQ(format_instant(parse_instant("2024-11-29 14:30:00Z")), "2024-11-29T14:30:00Z");
  EXPECT_EQ(format_instant(parse_instant("2024-11-29T14:30Z")), "2024-11-29T14:30:00Z");
  EXPECT_EQ(format_instant(parse_instant("2024-11-29T14:30:59.999Z")), "2024-11-29T14:30:59Z");
  EXPECT_EQ(format_instant(parse_instant("2024-11-29")), "2024-11-29T00:00:00Z");
}

TEST(Time, BarTimesOfDailyBarsReadAsTheirDate) {
  EXPECT_EQ(bar_time_text("2024-11-29T00:00:00Z"), "2024-11-29");
  EXPECT_EQ(bar_time_text("2024-11-29T14:30:00Z"), "2024-11-29T14:30:00Z");
  EXPECT_EQ(bar_time_text("2024-11-29T00:00:01Z"), "2024-11-29T00:00:01Z");
  EXPECT_EQ(bar_time_text("T00:00:00Z"), "T00:00:00Z") << "not an instant: left as it is";
  EXPECT_EQ(bar_time_text(""), "");
}

TEST(Time, AppliesZoneOffsets) {
  EXPECT_EQ(parse_instant("2024-11-29T09:30:00-05:00"), parse_instant("2024-11-29T14:30:00Z"));
  EXPECT_EQ(parse_instant("2024-11-30T01:00:00+02:00"), parse_instant("2024-11-29T23:00:00Z"));
}

TEST(Time, RejectsMalformedTextWithItsValue) {
  for (const char* bad : {"2024-13-01T00:00:00Z", "2024-02-30", "2024-11-29T14:30:00", "yesterday",
                          "2024-11-29T25:00:00Z", "2024-11-29T14:30:00Zjunk", ""}) {
    try {
      parse_instant(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
      EXPECT_EQ(e.exit_code(), kExitUsage);
    }
  }
}

TEST(Time, DaysRoundTrip) {
  EXPECT_EQ(format_day(parse_day("2000-02-29")), "2000-02-29");
  EXPECT_THROW(parse_day("1900-02-29"), InputError);
  EXPECT_THROW(parse_day("2024-1-01"), InputError);
}
