#pragma once
// Path to ../shared/data (the real OHLCV every session and CI has). Tests that need it skip with a
// clear message when it is absent.
#include <filesystem>
#include <string>

namespace ploutos::test {

inline std::filesystem::path shared_data_dir() {
  return std::filesystem::path(PLOUTOS_SOURCE_DIR) / ".." / "shared" / "data";
}

inline const char* kStandardTickers[] = {"NVDA", "MSFT", "AAPL", "GOOGL", "AMZN", "META", "TSLA", "SPY",
                                         "QQQ",  "VOO",  "VTI",  "XLE",   "XLF",  "XLK",  "XLV"};

}  // namespace ploutos::test

#define PLOUTOS_REQUIRE_SHARED_DATA()                                                                   \
  do {                                                                                                  \
    if (!std::filesystem::is_directory(ploutos::test::shared_data_dir() / "daily")) {                   \
      GTEST_SKIP() << "../shared/data is absent (" << ploutos::test::shared_data_dir() << "); skipped"; \
    }                                                                                                   \
  } while (0)
