#pragma once
// Data quality checks, run by `ploutos data check` and on every load (policy error|warn).
// Nothing here repairs data: a missing session stays missing.
#include <cstddef>
#include <string>
#include <vector>

#include "ploutos/data/bar.hpp"

namespace ploutos::data {

enum class Severity { kWarning, kError };

struct QualityIssue {
  Severity severity = Severity::kWarning;
  std::string code;     // ohlc_inconsistent, non_positive_price, negative_volume, unsorted_time,
                        // missing_sessions, zero_volume, split_like_jump, off_calendar
  std::size_t row = 0;  // index of the bar (0-based); for a file, line = row + 2
  std::string message;
};

struct QualityOptions {
  double ohlc_tolerance = 1e-6;       // relative slack for low <= open, close <= high (rounded adjusted prices)
  double split_jump_min_move = 0.30;  // |close/prev_close - 1| above this is inspected for a split ratio
  double split_ratio_tolerance = 0.03;
  std::size_t max_issues_per_code = 20;  // beyond that, one summary issue counts the rest
};

struct QualityReport {
  std::string ticker;
  std::vector<QualityIssue> issues;
  std::size_t errors() const;
  std::size_t warnings() const;
};

QualityReport check_quality(const BarSeries& series, const QualityOptions& options = {});

// "AAPL: 2 errors, 1 warning; first error: row 13 (2024-01-19): high 101.2 < low 101.5"
std::string summarize(const QualityReport& report);

}  // namespace ploutos::data
