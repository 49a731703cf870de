#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "ploutos/core/error.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/panel.hpp"
#include "ploutos/data/store.hpp"

using namespace ploutos;
using namespace ploutos::data;

namespace {
BarSeries daily(const std::string& ticker, std::initializer_list<const char*> days) {
  BarSeries s;
  s.ticker = ticker;
  double p = 10;
  for (const char* d : days) {
    s.push_back({Instant{parse_day(d)}, p, p + 1, p - 1, p + 0.5, 100});
    p += 1;
  }
  return s;
}
}  // namespace

TEST(Panel, AlignsOnSessionsAndMasksWithoutLookingAhead) {
  const auto a = daily("AAA", {"2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"});
  const auto b = daily("BBB", {"2024-01-04", "2024-01-08"});  // starts later, misses 01-05
  const Panel p = build_panel({a, b});
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p.valid[1], (std::vector<std::uint8_t>{0, 0, 1, 0, 1}));
  EXPECT_TRUE(std::isnan(p.close[1][0]));
  EXPECT_TRUE(std::isnan(p.close[1][3]));  // not filled from 01-08
  EXPECT_DOUBLE_EQ(p.close[1][4], 11.5);
  const Panel filled = build_panel({a, b}, PanelOptions{true});
  EXPECT_EQ(filled.filled[1], (std::vector<std::uint8_t>{0, 0, 0, 1, 0}));
  EXPECT_DOUBLE_EQ(filled.close[1][3], 10.5);   // from 01-04, the bar before
  EXPECT_TRUE(std::isnan(filled.close[1][1]));  // never back-filled before the first bar
}

TEST(Panel, TruncatingTheInputNeverChangesEarlierCells) {
  const auto a = daily("AAA", {"2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"});
  const auto b = daily("BBB", {"2024-01-03", "2024-01-05", "2024-01-09"});
  const Panel full = build_panel({a, b}, PanelOptions{true});
  for (std::size_t cut = 1; cut < full.size(); ++cut) {
    const Panel part = build_panel(
        {a.slice(full.time.front(), full.time[cut]), b.slice(full.time.front(), full.time[cut])}, PanelOptions{true});
    for (std::size_t k = 0; k < 2; ++k) {
      for (std::size_t t = 0; t < part.size(); ++t) {
        ASSERT_EQ(part.valid[k][t], full.valid[k][t]);
        ASSERT_EQ(part.filled[k][t], full.filled[k][t]);
        if (part.valid[k][t] || part.filled[k][t]) {
          ASSERT_EQ(part.close[k][t], full.close[k][t]);
        }
      }
    }
  }
}

TEST(Panel, RejectsMixedTimeframesAndDuplicates) {
  auto a = daily("AAA", {"2024-01-02"});
  auto h = a;
  h.ticker = "HHH";
  h.timeframe = Timeframe::k1h;
  EXPECT_THROW(build_panel({a, h}), InputError);
  EXPECT_THROW(build_panel({a, a}), InputError);
}

TEST(Store, SavesAtomicallyWithSourceAndHashAndLoadsBack) {
  const auto dir = std::filesystem::temp_directory_path() / ("ploutos_store_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const DataStore store(dir);
  const auto s = daily("AAA", {"2024-01-02", "2024-01-03", "2024-01-04"});
  const auto info = store.save(s, "csv:test");
  EXPECT_EQ(info.file, dir / "1d" / "AAA.csv");
  EXPECT_EQ(info.content_hash, content_hash(to_csv(s)));
  const auto listed = store.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].source, "csv:test");
  EXPECT_EQ(listed[0].content_hash, info.content_hash);
  const auto back = store.load("AAA", Timeframe::k1d);
  EXPECT_EQ(back.close, s.close);
  EXPECT_THROW(store.load("ZZZ", Timeframe::k1d), InputError);
  // Only the CSV and its sidecar: no temporaries left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir / "1d"), std::filesystem::directory_iterator()), 2);
  std::filesystem::remove_all(dir);
}

// A plain folder of TICKER.csv is what training accepts as --data; data check and info list it too,
// each file with the interval its times say.
TEST(Store, AFolderOfTickerCsvFilesIsListedWithEachFilesInterval) {
  const auto dir = std::filesystem::temp_directory_path() / ("ploutos_store_flat_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream d(dir / "DAY.csv");
    d << "date,open,high,low,close,adj_close,volume\n2024-01-02,10,11,9,10,10,1\n2024-01-03,10,11,9,10,10,1\n";
    std::ofstream h(dir / "HOUR.csv");
    h << "time,open,high,low,close,volume\n2024-01-02T14:30:00Z,10,11,9,10,1\n2024-01-02T15:30:00Z,10,11,9,10,1\n";
    std::ofstream n(dir / "notes.txt");
    n << "not data\n";
  }
  const auto listed = DataStore(dir).list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].ticker, "DAY");
  EXPECT_EQ(listed[0].timeframe, Timeframe::k1d);
  EXPECT_EQ(listed[1].ticker, "HOUR");
  EXPECT_EQ(listed[1].timeframe, Timeframe::k1h);
  // Once the store's own folders hold series, loose files beside them are not the store's.
  DataStore(dir).save(daily("AAA", {"2024-01-02"}), "csv:test");
  ASSERT_EQ(DataStore(dir).list().size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Store, QualityPolicyErrorRejectsWithFileAndLine) {
  const auto dir = std::filesystem::temp_directory_path() / ("ploutos_store_bad_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "1d");
  {
    std::ofstream out(dir / "1d" / "BAD.csv");
    out << "date,open,high,low,close,adj_close,volume\n2024-01-02,10,11,9,10,10,1\n2024-01-03,10,9,11,10,10,1\n";
  }
  const DataStore store(dir);
  try {
    store.load("BAD", Timeframe::k1d);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("BAD.csv:3: ohlc_inconsistent"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(store.load("BAD", Timeframe::k1d, QualityPolicy::kWarn));
  std::filesystem::remove_all(dir);
}
