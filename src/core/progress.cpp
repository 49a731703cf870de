#include "ploutos/core/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace ploutos {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e7) return "--:--";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[32];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", m, s);
  }
  return buf;
}

namespace {
std::string format_rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", per_second);
  }
  return buf;
}
}  // namespace

std::string render_progress_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double elapsed_seconds, const std::string& unit, int bar_width) {
  const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
  const double rate = elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds : 0.0;
  const double eta = rate > 0 && total >= done ? static_cast<double>(total - done) / rate : -1.0;
  std::string line = label + " [";
  const int filled = static_cast<int>(fraction * bar_width);
  line.append(static_cast<std::size_t>(filled), '#');
  line.append(static_cast<std::size_t>(bar_width - filled), '.');
  char buf[160];
  std::snprintf(buf, sizeof buf, "] %5.1f%%  %llu/%llu  %s %s/s  elapsed %s  ETA %s", fraction * 100.0,
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                format_rate(rate).c_str(), unit.c_str(), format_duration(elapsed_seconds).c_str(),
                done >= total ? "0:00" : format_duration(eta).c_str());
  return line + buf;
}

Progress::Progress(std::string label, std::uint64_t total, ProgressOptions options)
    : label_(std::move(label)),
      total_(total),
      options_(std::move(options)),
      tty_(options_.force_tty >= 0 ? options_.force_tty == 1 : ::isatty(::fileno(options_.stream)) == 1),
      start_(Clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && done_ > 0) finish();
}

void Progress::update(std::uint64_t done) {
  done_ = done;
  if (options_.quiet) return;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  const double interval = tty_ ? 0.1 : options_.log_interval_seconds;
  if (since >= interval) print(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!options_.quiet) print(true);
}

void Progress::print(bool final_line) {
  last_print_ = Clock::now();
  const double elapsed = std::chrono::duration<double>(last_print_ - start_).count();
  const std::string line = render_progress_line(label_, done_, total_, elapsed, options_.unit);
  if (tty_) {
    std::fprintf(options_.stream, "\r\033[2K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(options_.stream, "%s\n", line.c_str());
  }
  std::fflush(options_.stream);
}

}  // namespace ploutos
