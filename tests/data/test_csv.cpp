#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/quality.hpp"
#include "ploutos/data/resample.hpp"
#include "ploutos/data/store.hpp"
#include "shared_data.hpp"

using namespace ploutos;
using namespace ploutos::data;

namespace {
std::string error_of(const std::string& text, const CsvReadOptions& options = {}) {
  try {
    parse_csv(text, "bad.csv", options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}
}  // namespace

TEST(Csv, ReadsTheNormalisedDailyAndIntradayFormats) {
  const auto daily = parse_csv(
                         "date,open,high,low,close,adj_close,volume\n2024-01-02,10,11,9.5,10.5,10.5,1000\n"
                         "2024-01-03,10.5,10.75,10,10.25,10.25,2000\n",
                         "data/1d/ABC.csv")
                         .series;
  EXPECT_EQ(daily.ticker, "ABC");
  EXPECT_EQ(daily.timeframe, Timeframe::k1d);
  ASSERT_EQ(daily.size(), 2u);
  EXPECT_EQ(format_day(std::chrono::floor<std::chrono::days>(daily.time[1])), "2024-01-03");
  EXPECT_DOUBLE_EQ(daily.low[0], 9.5);
  const auto hourly =
      parse_csv("timestamp,open,high,low,close,volume\r\n2024-01-03T14:30:00Z,1,2,0.5,1.5,7\r\n", "X.csv").series;
  EXPECT_EQ(hourly.timeframe, Timeframe::k1h);
  EXPECT_EQ(format_instant(hourly.time[0]), "2024-01-03T14:30:00Z");
}

TEST(Csv, ReadsYahooDownloadsSkippingNullRowsAndCanAdjust) {
  const std::string yahoo =
      "Date,Open,High,Low,Close,Adj Close,Volume\n"
      "2024-01-02,100,110,90,100,50,10\n"
      "2024-01-03,null,null,null,null,null,null\n"
      "2024-01-04,100,120,100,110,55,20\n";
  const auto raw = parse_csv(yahoo, "yahoo.csv");
  EXPECT_EQ(raw.skipped_null_rows, 1u);
  EXPECT_EQ(raw.series.size(), 2u);
  EXPECT_DOUBLE_EQ(raw.series.close[0], 100);
  CsvReadOptions adjust;
  adjust.adjustment = PriceAdjustment::kScaleToAdjClose;
  const auto adjusted = parse_csv(yahoo, "yahoo.csv", adjust).series;
  EXPECT_DOUBLE_EQ(adjusted.close[0], 50);
  EXPECT_DOUBLE_EQ(adjusted.high[0], 55);
}

TEST(Csv, MapsOtherColumnNames) {
  CsvReadOptions o;
  o.mapping = {"Day", "O", "H", "L", "C", "Shares"};
  const auto s = parse_csv("Day,O,H,L,C,Shares\n2024-01-02,1,2,0.5,1.5,10\n", "m.csv", o).series;
  EXPECT_DOUBLE_EQ(s.volume[0], 10);
  EXPECT_EQ(error_of("Day,O,H,L,C,Shares\n2024-01-02,1,2,0.5,1.5,10\n"),
            "bad.csv:1: missing column 'date/timestamp' (header has: day,o,h,l,c,shares)");
}

TEST(Csv, BadFilesNameFileLineAndWhat) {
  EXPECT_EQ(error_of("date,open,high,low,volume\n2024-01-02,1,2,0.5,1\n"),
            "bad.csv:1: missing column 'close' (header has: date,open,high,low,volume)");
  EXPECT_EQ(error_of("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1,1\n2024-01-03,1,2,abc,1,1\n"),
            "bad.csv:3: low: expected a number, got 'abc'");
  EXPECT_EQ(error_of("date,open,high,low,close,volume\n2024-01-03,1,2,0.5,1,1\n2024-01-02,1,2,0.5,1,1\n"),
            "bad.csv:3: time 2024-01-02 is before the previous row (rows must be ascending and unique)");
  EXPECT_EQ(error_of("date,open,high,low,close,volume\n2024-01-03,1,2,0.5,1,1\n2024-01-03,1,2,0.5,1,1\n"),
            "bad.csv:3: time 2024-01-03 repeats the previous row (rows must be ascending and unique)");
  EXPECT_EQ(error_of("date,open,high,low,close,volume\n2024-01-03,1,2,0.5\n"), "bad.csv:2: expected 6 fields, got 4");
  EXPECT_EQ(error_of("date,open,high,low,close,volume\n2024-13-03,1,2,0.5,1,1\n").substr(0, 37),
            "bad.csv:2: invalid time '2024-13-03':");
  EXPECT_EQ(error_of(""), "bad.csv:1: empty file (expected a header like date,open,high,low,close,adj_close,volume)");
  EXPECT_EQ(error_of("date,open,high,low,close,volume\n"), "bad.csv:1: no bars (only a header)");
}

TEST(Csv, WritesDeterministicallyAndReadsBack) {
  BarSeries s;
  s.ticker = "ABC";
  s.push_back({Instant{parse_day("2024-01-02")}, 10.1234, 11.5, 9.25, 10.5, 1000});
  s.push_back({Instant{parse_day("2024-01-03")}, 0.1 + 0.2, 11, 0.3, 0.30000000000000004, 2e9});
  const std::string text = to_csv(s);
  EXPECT_EQ(text.substr(0, text.find('\n')), "date,open,high,low,close,adj_close,volume");
  const auto back = parse_csv(text, "ABC.csv").series;
  EXPECT_EQ(back.open, s.open);
  EXPECT_EQ(back.close, s.close);
  EXPECT_EQ(back.volume, s.volume);
  EXPECT_EQ(to_csv(back), text);
}

TEST(Quality, FlagsEachKindOfProblem) {
  BarSeries s;
  s.ticker = "BAD";
  auto day = [](const char* d) { return Instant{parse_day(d)}; };
  s.push_back({day("2024-01-02"), 10, 11, 9, 10, 100});
  s.push_back({day("2024-01-03"), 10, 9.5, 10.2, 10, 100});  // high < low
  s.push_back({day("2024-01-04"), 10, 11, 9, 10, -5});       // negative volume
  s.push_back({day("2024-01-05"), 10, 11, 9, 10, 0});        // zero volume
  s.push_back({day("2024-01-09"), 5, 5.1, 4.9, 5, 100});     // 2:1 drop, and 2024-01-08 is missing
  s.push_back({day("2024-01-10"), -1, 5, 4, 5, 100});        // negative price
  s.push_back({day("2024-01-13"), 5, 5.1, 4.9, 5, 100});     // a Saturday
  const auto report = check_quality(s);
  std::map<std::string, int> codes;
  for (const auto& issue : report.issues) ++codes[issue.code];
  EXPECT_EQ(codes["ohlc_inconsistent"], 1);
  EXPECT_EQ(codes["negative_volume"], 1);
  EXPECT_EQ(codes["zero_volume"], 1);
  EXPECT_EQ(codes["split_like_jump"], 1);
  EXPECT_EQ(codes["non_positive_price"], 1);
  EXPECT_EQ(codes["off_calendar"], 1);
  EXPECT_EQ(codes["missing_sessions"], 1);
  EXPECT_EQ(report.errors(), 3u);
  EXPECT_EQ(report.issues.front().row, 1u);
}

TEST(SharedData, AllDailyAndHourlyFilesImportAndPassTheChecks) {
  PLOUTOS_REQUIRE_SHARED_DATA();
  const auto dir = ploutos::test::shared_data_dir();
  std::size_t files = 0;
  for (const char* sub : {"daily", "hourly", "hourly/long"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir / sub)) {
      if (entry.path().extension() != ".csv") continue;
      QualityReport report;
      ASSERT_NO_THROW(load_checked(entry.path(), QualityPolicy::kError, &report)) << entry.path();
      EXPECT_EQ(report.errors(), 0u) << summarize(report);
      ++files;
    }
  }
  EXPECT_GE(files, 15u + 9u);
}

TEST(SharedData, LoadsFifteenDailyFilesQuickly) {
  PLOUTOS_REQUIRE_SHARED_DATA();
  const auto start = std::chrono::steady_clock::now();
  std::size_t rows = 0;
  for (const char* t : ploutos::test::kStandardTickers) {
    rows += read_csv(ploutos::test::shared_data_dir() / "daily" / (std::string(t) + ".csv")).series.size();
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(rows, 95000u);
  // Reported, not asserted (bench/bench_data.cpp measures it against a baseline).
  RecordProperty("load_15_daily_ms", std::to_string(ms));
  std::printf("loaded %zu daily rows of 15 tickers in %.1f ms\n", rows, ms);
}

TEST(SharedData, FourHourBarsNeverCrossASession) {
  PLOUTOS_REQUIRE_SHARED_DATA();
  const auto hourly = read_csv(ploutos::test::shared_data_dir() / "hourly" / "SPY.csv").series;
  const auto four = resample_1h_to_4h(hourly);
  const auto& cal = calendar::nyse();
  ASSERT_GT(four.size(), 900u);
  std::size_t next_hour = 0;
  double volume_in = 0, volume_out = 0;
  for (std::size_t i = 0; i < four.size(); ++i) {
    const Day day = cal.new_york_day(four.time[i]);
    const auto session = cal.session(day);
    // Every 1h bar folded into bar i starts in the same session, at or after its start, before the next 4h bar.
    const Instant end = i + 1 < four.size() ? std::min(four.time[i + 1], session.close) : session.close;
    double high = -1, low = 1e300;
    while (next_hour < hourly.size() && hourly.time[next_hour] < end) {
      ASSERT_EQ(cal.new_york_day(hourly.time[next_hour]), day);
      ASSERT_GE(hourly.time[next_hour], four.time[i]);
      high = std::max(high, hourly.high[next_hour]);
      low = std::min(low, hourly.low[next_hour]);
      volume_in += hourly.volume[next_hour];
      ++next_hour;
    }
    EXPECT_EQ(four.high[i], high);
    EXPECT_EQ(four.low[i], low);
    volume_out += four.volume[i];
    EXPECT_TRUE(four.time[i] == session.open || four.time[i] == session.open + std::chrono::hours{4})
        << format_instant(four.time[i]);
  }
  EXPECT_EQ(next_hour, hourly.size());
  EXPECT_DOUBLE_EQ(volume_in, volume_out);
}
