#pragma once
// Progress for anything longer than a few seconds. On a terminal: one redrawn line with a bar,
// rate and ETA, cut to the terminal's width. Elsewhere (CI, pipes, --log-file): a plain line
// every few seconds.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ploutos {

// "1:02:03", "4:05", "0:07"; "--:--" for an unknown or absurd value.
std::string format_duration(double seconds);

// What a job knows beyond its count: a training iteration spends most of its time in the update,
// while its step count stands still. Negative means unknown.
struct ProgressEstimate {
  double fraction = -1;     // of the whole job, 0..1; < 0: done / total
  double eta_seconds = -1;  // < 0: unknown ("--:--")
  std::string phase;        // what runs now ("update epoch 3/20"); empty: nothing to add
};

// Runs `write` (a log line to the terminal) with the redrawn progress line, if one is shown,
// cleared before and drawn again after, so the two never share a line.
void with_progress_line_cleared(const std::function<void()>& write);

// One progress line: "train [#####.....]  50.0%  5000/10000  500.0 steps/s  elapsed 0:10  ETA 0:10".
// `rate` is per second (< 0: unknown, shown as "--").
std::string render_progress_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double elapsed_seconds, const std::string& unit, int bar_width = 24);
std::string render_progress_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double elapsed_seconds, double rate, const ProgressEstimate& estimate,
                                 const std::string& unit, int bar_width = 24);

struct ProgressOptions {
  std::string unit = "it";
  bool quiet = false;
  double log_interval_seconds = 5.0;  // non-TTY: at most one line this often
  std::FILE* stream = stderr;
  int force_tty = -1;  // -1 detect, 0 plain lines, 1 redrawn line
};

class Progress {
 public:
  // `already_done`: work done before this process (a resumed run), in the bar but not in the rate.
  Progress(std::string label, std::uint64_t total, ProgressOptions options = {}, std::uint64_t already_done = 0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool due() const;                 // would an update print now? (to skip building an estimate)
  void update(std::uint64_t done);  // cheap when nothing needs printing
  void update(std::uint64_t done, const ProgressEstimate& estimate);
  void advance(std::uint64_t n = 1) { update(done_ + n); }
  void finish();  // prints the final line once
  std::uint64_t done() const { return done_; }
  double elapsed_seconds() const;

 private:
  void print(bool final_line);
  using Clock = std::chrono::steady_clock;
  std::string label_;
  std::uint64_t total_;
  ProgressOptions options_;
  bool tty_;
  std::uint64_t base_;
  std::uint64_t done_ = 0;
  ProgressEstimate estimate_;
  Clock::time_point start_;
  Clock::time_point last_print_;
  std::string last_line_state_;  // non-TTY: the final line is not repeated when nothing changed
  bool finished_ = false;
};

// Estimates for a job of rounds that each run the same phases in order (training: a rollout, then
// the update; walk-forward: one training per fold and seed). A phase's length is its mean over the
// finished rounds. In the first round the phase under way is extrapolated from its own progress,
// and while a later phase has not begun the ETA is unknown and the bar stays where the round
// began. Times are the caller's seconds (Progress::elapsed_seconds), so the arithmetic is testable.
class RoundEstimator {
 public:
  // `rounds_before`: rounds done before this process (a resumed run); `rounds_total` includes them.
  RoundEstimator(double rounds_before, double rounds_total, std::size_t phases);
  void begin_phase(std::size_t phase, double now);  // in order; phase 0 begins a round
  void end_round(double now);                       // and the next round begins
  void skip_round() { rounds_before_ += 1; }        // found done (resumed): in the fraction, not in the times
  ProgressEstimate estimate(double now, double phase_fraction) const;  // of the phase under way
  // The same while the round under way (one phase: a training) reports its own progress; its
  // phase is shown after `label`.
  ProgressEstimate estimate(double now, const ProgressEstimate& round, const std::string& label) const;
  int finished_rounds() const { return finished_; }

 private:
  double mean(std::size_t phase) const { return sums_[phase] / finished_; }
  double rounds_before_, rounds_total_;
  std::vector<double> sums_;     // each phase's time summed over the finished rounds
  std::vector<double> current_;  // this round's finished phases
  std::size_t phase_ = 0;
  double phase_start_ = 0;
  int finished_ = 0;
};

// Estimates for rounds that run side by side, up to `workers` at a time (walk-forward --jobs, an
// autonomous search's n_jobs). A round's length is the mean of the finished ones; before one has
// finished, each running round's elapsed time over its own fraction (< 0 or 0: unknown). What is
// left is every running round's rest and the queued rounds, spread over the workers, but never less
// than the longest rest of a running round.
class ParallelRoundEstimator {
 public:
  ParallelRoundEstimator(double rounds_total, int workers);
  void skip_round() { skipped_ += 1; }  // found done (resumed): in the fraction, not in the times
  void begin_round(std::size_t id, double now);
  void update_round(std::size_t id, double fraction);  // the round's own fraction, 0..1 (< 0: unknown)
  void end_round(std::size_t id, double now);
  ProgressEstimate estimate(double now) const;

 private:
  struct Running {
    double started = 0;
    double fraction = -1;
  };
  double rounds_total_;
  int workers_;
  double skipped_ = 0;
  int finished_ = 0;
  double finished_seconds_ = 0;
  std::map<std::size_t, Running> running_;
};

// One progress line for a study of rounds (walk-forward runs, search trials), each a training that
// reports its own progress, one or several at a time. Safe to call from the rounds' threads. One
// worker: RoundEstimator's arithmetic; more: ParallelRoundEstimator's. The count is in `unit`s
// (`units_per_round` each), a running round's done units included; the phase names the rounds
// that run ("fold 2 seed 1: iteration 3/4: update epoch 2/4").
class StudyProgress {
 public:
  StudyProgress(std::string label, std::size_t rounds, std::uint64_t units_per_round, ProgressOptions options,
                int workers);
  void skip(std::size_t round);
  void begin(std::size_t round, std::string name);
  void report(std::size_t round, std::uint64_t units_done, const ProgressEstimate& round_estimate);
  void end(std::size_t round);
  void finish();

 private:
  void show();  // under mutex_
  struct Running {
    std::string name;
    std::uint64_t units = 0;
    ProgressEstimate estimate;
  };
  std::mutex mutex_;
  Progress progress_;
  std::uint64_t units_per_round_;
  int workers_;
  RoundEstimator sequential_;
  ParallelRoundEstimator parallel_;
  std::uint64_t units_finished_ = 0;
  std::map<std::size_t, Running> running_;
};

}  // namespace ploutos
