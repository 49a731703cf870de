#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "ploutos/core/progress.hpp"

using namespace ploutos;

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(7), "0:07");
  EXPECT_EQ(format_duration(245), "4:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "--:--");
  EXPECT_EQ(format_duration(1.0 / 0.0), "--:--");
}

TEST(Progress, LineShowsFractionRateAndEta) {
  const auto line = render_progress_line("train", 5000, 10000, 10.0, "steps", 10);
  EXPECT_NE(line.find("train [#####.....]"), std::string::npos) << line;
  EXPECT_NE(line.find("50.0%"), std::string::npos) << line;
  EXPECT_NE(line.find("5000/10000"), std::string::npos) << line;
  EXPECT_NE(line.find("500.0 steps/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:10"), std::string::npos) << line;
}

TEST(Progress, NonTtyPrintsPlainLinesAndAFinalOne) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  {
    Progress p("load", 3, ProgressOptions{"files", false, 0.0, stream, 0});
    p.advance();
    p.advance();
    p.advance();
    p.finish();
  }
  std::fclose(stream);
  const std::string out(buffer, size);
  std::free(buffer);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("3/3"), std::string::npos) << out;
  EXPECT_NE(out.find("100.0%"), std::string::npos) << out;
}

TEST(Progress, QuietPrintsNothing) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  {
    Progress p("load", 3, ProgressOptions{"files", true, 0.0, stream, 0});
    p.advance(3);
    p.finish();
  }
  std::fclose(stream);
  EXPECT_EQ(size, 0u);
  std::free(buffer);
}
