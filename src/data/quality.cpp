#include "ploutos/data/quality.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "ploutos/calendar/nyse.hpp"

namespace ploutos::data {
namespace {

std::string fmt_price(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string time_text(const BarSeries& s, std::size_t i) {
  return stamp_text(s.timeframe, s.time[i]);
}

class Collector {
 public:
  Collector(QualityReport& report, std::size_t cap) : report_(report), cap_(cap) {}
  void add(Severity severity, const std::string& code, std::size_t row, std::string message) {
    if (++counts_[code] > cap_) return;
    report_.issues.push_back({severity, code, row, std::move(message)});
  }
  void finish() {
    for (const auto& [code, count] : counts_) {
      if (count <= cap_) continue;
      const auto it =
          std::find_if(report_.issues.begin(), report_.issues.end(), [&](const auto& i) { return i.code == code; });
      report_.issues.push_back(
          {it->severity, code, 0, std::to_string(count - cap_) + " more " + code + " issues not listed"});
    }
  }

 private:
  QualityReport& report_;
  std::size_t cap_;
  std::map<std::string, std::size_t> counts_;
};

}  // namespace

std::size_t QualityReport::errors() const {
  return static_cast<std::size_t>(
      std::count_if(issues.begin(), issues.end(), [](const auto& i) { return i.severity == Severity::kError; }));
}
std::size_t QualityReport::warnings() const {
  return issues.size() - errors();
}

QualityReport check_quality(const BarSeries& s, const QualityOptions& options) {
  QualityReport report;
  report.ticker = s.ticker;
  Collector out(report, options.max_issues_per_code);
  const auto& cal = calendar::nyse();
  const double tol = options.ohlc_tolerance;

  std::set<Day> days_seen;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::string at = time_text(s, i);
    if (i > 0 && s.time[i] <= s.time[i - 1]) {
      out.add(Severity::kError, "unsorted_time", i, at + ": not after the previous bar " + time_text(s, i - 1));
    }
    const double o = s.open[i], h = s.high[i], l = s.low[i], c = s.close[i];
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0) {
      out.add(Severity::kError, "non_positive_price", i,
              at + ": non-positive price (o " + fmt_price(o) + ", h " + fmt_price(h) + ", l " + fmt_price(l) + ", c " +
                  fmt_price(c) + ")");
    } else if (h < l * (1 - tol) || h < std::max(o, c) * (1 - tol) || l > std::min(o, c) * (1 + tol)) {
      out.add(Severity::kError, "ohlc_inconsistent", i,
              at + ": expected low <= open, close <= high, got o " + fmt_price(o) + " h " + fmt_price(h) + " l " +
                  fmt_price(l) + " c " + fmt_price(c));
    }
    if (s.volume[i] < 0) {
      out.add(Severity::kError, "negative_volume", i, at + ": negative volume " + fmt_price(s.volume[i]));
    } else if (s.volume[i] == 0) {
      out.add(Severity::kWarning, "zero_volume", i, at + ": zero volume (treated as missing volume)");
    }
    const Day day = session_day(s.timeframe, s.time[i]);
    if (day >= Day{std::chrono::year{calendar::NyseCalendar::kFirstYear} / 1 / 1} &&
        day <= Day{std::chrono::year{calendar::NyseCalendar::kLastYear} / 12 / 31}) {
      if (!cal.is_session(day)) {
        out.add(Severity::kWarning, "off_calendar", i, at + ": not an NYSE session");
      } else if (s.timeframe != Timeframe::k1d) {
        const auto session = cal.session(day);
        if (s.time[i] < session.open || s.time[i] >= session.close) {
          out.add(Severity::kWarning, "off_calendar", i, at + ": outside regular hours");
        }
      }
      days_seen.insert(day);
    }
    if (i > 0 && s.close[i - 1] > 0 && c > 0) {
      const double ratio = c / s.close[i - 1];
      if (std::abs(ratio - 1) > options.split_jump_min_move) {
        for (const double k : {2.0, 3.0, 4.0, 5.0, 10.0, 1.5, 20.0}) {
          for (const double r : {k, 1 / k}) {
            if (std::abs(ratio / r - 1) < options.split_ratio_tolerance) {
              out.add(Severity::kWarning, "split_like_jump", i,
                      at + ": close moved x" + fmt_price(ratio) + " from " + fmt_price(s.close[i - 1]) +
                          ", close to a split ratio of " + fmt_price(r) + " (unadjusted split?)");
            }
          }
        }
      }
    }
  }
  if (!days_seen.empty()) {
    const auto sessions = cal.sessions_between(*days_seen.begin(), *days_seen.rbegin());
    std::size_t missing = 0;
    std::string examples;
    for (const Day d : sessions) {
      if (days_seen.count(d) != 0) continue;
      if (++missing <= 5) examples += (examples.empty() ? "" : ", ") + format_day(d);
    }
    if (missing > 0) {
      out.add(Severity::kWarning, "missing_sessions", 0,
              std::to_string(missing) + " of " + std::to_string(sessions.size()) + " sessions missing (e.g. " +
                  examples + "); they stay missing, never filled from later bars");
    }
  }
  out.finish();
  return report;
}

std::string summarize(const QualityReport& r) {
  std::string text =
      r.ticker + ": " + std::to_string(r.errors()) + " errors, " + std::to_string(r.warnings()) + " warnings";
  const auto first =
      std::find_if(r.issues.begin(), r.issues.end(), [](const auto& i) { return i.severity == Severity::kError; });
  if (first != r.issues.end()) text += "; first error: row " + std::to_string(first->row) + ": " + first->message;
  return text;
}

}  // namespace ploutos::data
