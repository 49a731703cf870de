#pragma once
// Progress for anything longer than a few seconds. On a terminal: one redrawn line with a bar,
// rate and ETA. Elsewhere (CI, pipes, --log-file): a plain line every few seconds.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ploutos {

// "1:02:03", "4:05", "0:07"; "--:--" for an unknown or absurd value.
std::string format_duration(double seconds);

// One progress line: "train [#####.....]  50.0%  5000/10000  1.23k/s  ETA 0:04 (steps)".
std::string render_progress_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double elapsed_seconds, const std::string& unit, int bar_width = 24);

struct ProgressOptions {
  std::string unit = "it";
  bool quiet = false;
  double log_interval_seconds = 5.0;  // non-TTY: at most one line this often
  std::FILE* stream = stderr;
  int force_tty = -1;  // -1 detect, 0 plain lines, 1 redrawn line
};

class Progress {
 public:
  Progress(std::string label, std::uint64_t total, ProgressOptions options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::uint64_t done);  // cheap when nothing needs printing
  void advance(std::uint64_t n = 1) { update(done_ + n); }
  void finish();  // prints the final line once
  std::uint64_t done() const { return done_; }

 private:
  void print(bool final_line);
  using Clock = std::chrono::steady_clock;
  std::string label_;
  std::uint64_t total_;
  ProgressOptions options_;
  bool tty_;
  std::uint64_t done_ = 0;
  Clock::time_point start_;
  Clock::time_point last_print_;
  bool finished_ = false;
};

}  // namespace ploutos
