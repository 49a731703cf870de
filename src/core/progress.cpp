#include "ploutos/core/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

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

// The redrawn progress line on show, if any: what a log line must clear and draw again.
struct ShownLine {
  std::mutex mutex;
  const void* owner = nullptr;
  std::FILE* stream = nullptr;
  std::string text;
};
ShownLine& shown_line() {
  static ShownLine line;
  return line;
}

std::string format_rate(double per_second) {
  if (!(per_second > 0) || !std::isfinite(per_second)) return "--";
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  } else if (per_second >= 0.995) {  // "%.2g" would print 0.999 as "1"
    std::snprintf(buf, sizeof buf, "%.1f", per_second);
  } else {  // a walk-forward's runs: "0.0042"
    std::snprintf(buf, sizeof buf, "%.2g", per_second);
  }
  return buf;
}

// Without an estimate: the time left at `rate` for what the count has left.
double eta_from_count(std::uint64_t done, std::uint64_t total, double rate) {
  if (done >= total) return 0;
  return rate > 0 ? static_cast<double>(total - done) / rate : -1.0;
}

// The terminal's width, or 0 when the stream is not one.
std::size_t terminal_columns(std::FILE* stream) {
  winsize size{};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}
}  // namespace

void with_progress_line_cleared(const std::function<void()>& write) {
  auto& shown = shown_line();
  const std::lock_guard lock(shown.mutex);
  if (shown.owner != nullptr) {
    std::fputs("\r\033[2K", shown.stream);
    std::fflush(shown.stream);
  }
  write();
  if (shown.owner != nullptr) {
    std::fputs(shown.text.c_str(), shown.stream);
    std::fflush(shown.stream);
  }
}

std::string render_progress_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double elapsed_seconds, const std::string& unit, int bar_width) {
  const double rate = elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds : -1.0;
  ProgressEstimate estimate;
  estimate.eta_seconds = eta_from_count(done, total, rate);
  return render_progress_line(label, done, total, elapsed_seconds, rate, estimate, unit, bar_width);
}

std::string render_progress_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double elapsed_seconds, double rate, const ProgressEstimate& estimate,
                                 const std::string& unit, int bar_width) {
  const double counted = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  const double fraction = std::clamp(estimate.fraction >= 0 ? estimate.fraction : counted, 0.0, 1.0);
  std::string line = label + " [";
  const int filled = static_cast<int>(fraction * bar_width);
  line.append(static_cast<std::size_t>(filled), '#');
  line.append(static_cast<std::size_t>(bar_width - filled), '.');
  char buf[160];
  std::snprintf(buf, sizeof buf, "] %5.1f%%  %llu/%llu  %s %s/s  elapsed %s  ETA %s", fraction * 100.0,
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                format_rate(rate).c_str(), unit.c_str(), format_duration(elapsed_seconds).c_str(),
                format_duration(estimate.eta_seconds).c_str());
  line += buf;
  if (!estimate.phase.empty()) line += "  " + estimate.phase;
  return line;
}

Progress::Progress(std::string label, std::uint64_t total, ProgressOptions options, std::uint64_t already_done)
    : label_(std::move(label)),
      total_(total),
      options_(std::move(options)),
      tty_(options_.force_tty >= 0 ? options_.force_tty == 1 : ::isatty(::fileno(options_.stream)) == 1),
      base_(already_done),
      done_(already_done),
      start_(Clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && done_ > base_) finish();
  auto& shown = shown_line();
  const std::lock_guard lock(shown.mutex);
  if (shown.owner == this) shown.owner = nullptr;
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

bool Progress::due() const {
  if (options_.quiet) return false;
  const double since = std::chrono::duration<double>(Clock::now() - last_print_).count();
  return since >= (tty_ ? 0.1 : options_.log_interval_seconds);
}

void Progress::update(std::uint64_t done) {
  update(done, ProgressEstimate{});
}

void Progress::update(std::uint64_t done, const ProgressEstimate& estimate) {
  done_ = done;
  estimate_ = estimate;
  if (due()) print(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  estimate_.phase.clear();
  if (done_ >= total_) estimate_ = ProgressEstimate{1.0, 0.0, ""};
  if (!options_.quiet) print(true);
}

void Progress::print(bool final_line) {
  last_print_ = Clock::now();
  const double elapsed = std::chrono::duration<double>(last_print_ - start_).count();
  // The rate of this process's work; with an estimate, of the work it says is done.
  const double work =
      estimate_.fraction >= 0 ? estimate_.fraction * static_cast<double>(total_) : static_cast<double>(done_);
  const double rate = elapsed > 0 ? (work - static_cast<double>(base_)) / elapsed : -1.0;
  ProgressEstimate shown = estimate_;
  if (shown.eta_seconds < 0 && estimate_.fraction < 0) shown.eta_seconds = eta_from_count(done_, total_, rate);
  std::string line = render_progress_line(label_, done_, total_, elapsed, rate, shown, options_.unit);
  if (tty_) {
    // A line longer than the terminal wraps, and "\r" would then redraw only its last part.
    if (const std::size_t columns = terminal_columns(options_.stream); columns > 1 && line.size() >= columns) {
      line.resize(columns - 1);
    }
    auto& on_show = shown_line();
    const std::lock_guard lock(on_show.mutex);
    std::fprintf(options_.stream, "\r\033[2K%s%s", line.c_str(), final_line ? "\n" : "");
    std::fflush(options_.stream);
    on_show.owner = final_line ? nullptr : this;
    on_show.stream = options_.stream;
    on_show.text = line;
    return;
  }
  // What the line says, but for the clock.
  const std::string state = std::to_string(done_) + " " + line.substr(0, line.find('%')) + " " + shown.phase;
  if (final_line && state == last_line_state_) return;
  last_line_state_ = state;
  std::fprintf(options_.stream, "%s\n", line.c_str());
  std::fflush(options_.stream);
}

ProgressEstimate RoundEstimator::estimate(double now, const ProgressEstimate& round, const std::string& label) const {
  ProgressEstimate e = estimate(now, std::max(0.0, round.fraction));
  e.phase = label + round.phase;
  return e;
}

RoundEstimator::RoundEstimator(double rounds_before, double rounds_total, std::size_t phases)
    : rounds_before_(rounds_before), rounds_total_(rounds_total), sums_(phases, 0.0), current_(phases, 0.0) {}

void RoundEstimator::begin_phase(std::size_t phase, double now) {
  if (phase == 0) {
    std::fill(current_.begin(), current_.end(), 0.0);
  } else {
    current_[phase_] = now - phase_start_;
  }
  phase_ = phase;
  phase_start_ = now;
}

void RoundEstimator::end_round(double now) {
  current_[phase_] = now - phase_start_;
  for (std::size_t p = 0; p < sums_.size(); ++p) sums_[p] += current_[p];
  ++finished_;
  begin_phase(0, now);  // until the caller begins the next round itself
}

ProgressEstimate RoundEstimator::estimate(double now, double phase_fraction) const {
  const double f = std::clamp(phase_fraction, 0.0, 1.0);
  const double in_phase = std::max(0.0, now - phase_start_);
  ProgressEstimate e;
  e.fraction = rounds_total_ > 0 ? std::min(1.0, (rounds_before_ + finished_) / rounds_total_) : 0.0;
  if (rounds_before_ + finished_ >= rounds_total_) return ProgressEstimate{1.0, 0.0, ""};  // all done
  // This phase's whole length, and what the phases after it will take.
  double phase_length = -1, later = 0;
  if (finished_ > 0) {
    phase_length = std::max(mean(phase_), in_phase);
    for (std::size_t q = phase_ + 1; q < sums_.size(); ++q) later += mean(q);
  } else if (phase_ + 1 == sums_.size() && f > 0) {
    phase_length = in_phase / f;
  }
  if (phase_length < 0) return e;  // the first round's later phases have not run yet
  const double before = std::accumulate(current_.begin(), current_.begin() + static_cast<std::ptrdiff_t>(phase_), 0.0);
  const double round_length = before + phase_length + later;
  const double left_in_round = phase_length - in_phase + later;
  const double rounds_after = std::max(0.0, rounds_total_ - rounds_before_ - finished_ - 1);
  const double mean_round = finished_ > 0 ? std::accumulate(sums_.begin(), sums_.end(), 0.0) / finished_ : round_length;
  if (round_length > 0 && rounds_total_ > 0) {
    e.fraction =
        std::min(1.0, (rounds_before_ + finished_ + (round_length - left_in_round) / round_length) / rounds_total_);
  }
  e.eta_seconds = left_in_round + rounds_after * mean_round;
  return e;
}

ParallelRoundEstimator::ParallelRoundEstimator(double rounds_total, int workers)
    : rounds_total_(rounds_total), workers_(std::max(1, workers)) {}

void ParallelRoundEstimator::begin_round(std::size_t id, double now) {
  running_[id] = Running{now, -1.0};
}

void ParallelRoundEstimator::update_round(std::size_t id, double fraction) {
  if (const auto it = running_.find(id); it != running_.end()) it->second.fraction = std::min(1.0, fraction);
}

void ParallelRoundEstimator::end_round(std::size_t id, double now) {
  const auto it = running_.find(id);
  if (it == running_.end()) return;
  finished_seconds_ += now - it->second.started;
  ++finished_;
  running_.erase(it);
}

ProgressEstimate ParallelRoundEstimator::estimate(double now) const {
  if (skipped_ + finished_ >= rounds_total_) return ProgressEstimate{1.0, 0.0, ""};
  double work = finished_;
  for (const auto& [id, r] : running_) work += std::max(0.0, r.fraction);
  ProgressEstimate e;
  e.fraction = rounds_total_ > 0 ? std::min(1.0, (skipped_ + work) / rounds_total_) : 0.0;
  double round_length = -1;
  if (finished_ > 0) {
    round_length = finished_seconds_ / finished_;
  } else {
    double sum = 0;
    int known = 0;
    for (const auto& [id, r] : running_) {
      if (r.fraction <= 0) continue;
      sum += (now - r.started) / r.fraction;
      ++known;
    }
    if (known > 0) round_length = sum / known;
  }
  if (round_length < 0) return e;
  double rest_sum = 0, rest_max = 0;
  for (const auto& [id, r] : running_) {
    const double rest = round_length * (1.0 - std::max(0.0, r.fraction));
    rest_sum += rest;
    rest_max = std::max(rest_max, rest);
  }
  const double queued = std::max(0.0, rounds_total_ - skipped_ - finished_ - static_cast<double>(running_.size()));
  e.eta_seconds = std::max(rest_max, (rest_sum + queued * round_length) / workers_);
  return e;
}

StudyProgress::StudyProgress(std::string label, std::size_t rounds, std::uint64_t units_per_round,
                             ProgressOptions options, int workers)
    : progress_(std::move(label), rounds * units_per_round, std::move(options)),
      units_per_round_(units_per_round),
      workers_(std::max(1, workers)),
      sequential_(0, static_cast<double>(rounds), 1),
      parallel_(static_cast<double>(rounds), workers_) {}

void StudyProgress::skip(std::size_t) {
  const std::lock_guard lock(mutex_);
  sequential_.skip_round();
  parallel_.skip_round();
  units_finished_ += units_per_round_;
  show();
}

void StudyProgress::begin(std::size_t round, std::string name) {
  const std::lock_guard lock(mutex_);
  const double now = progress_.elapsed_seconds();
  if (workers_ == 1) {
    sequential_.begin_phase(0, now);
  } else {
    parallel_.begin_round(round, now);
  }
  running_[round] = Running{std::move(name), 0, ProgressEstimate{}};
}

void StudyProgress::report(std::size_t round, std::uint64_t units_done, const ProgressEstimate& round_estimate) {
  const std::lock_guard lock(mutex_);
  const auto it = running_.find(round);
  if (it == running_.end()) return;
  it->second.units = std::min(units_per_round_, units_done);
  it->second.estimate = round_estimate;
  parallel_.update_round(round, round_estimate.fraction);
  show();
}

void StudyProgress::end(std::size_t round) {
  const std::lock_guard lock(mutex_);
  const double now = progress_.elapsed_seconds();
  if (workers_ == 1) {
    sequential_.end_round(now);
  } else {
    parallel_.end_round(round, now);
  }
  running_.erase(round);
  units_finished_ += units_per_round_;
  show();
}

void StudyProgress::finish() {
  const std::lock_guard lock(mutex_);
  progress_.finish();
}

void StudyProgress::show() {
  std::uint64_t units = units_finished_;
  for (const auto& [id, r] : running_) units += r.units;
  const double now = progress_.elapsed_seconds();
  if (workers_ == 1) {
    progress_.update(units, running_.empty() ? sequential_.estimate(now, 0.0)
                                             : sequential_.estimate(now, running_.begin()->second.estimate,
                                                                    running_.begin()->second.name));
    return;
  }
  ProgressEstimate e = parallel_.estimate(now);
  for (const auto& [id, r] : running_) e.phase += (e.phase.empty() ? "" : "; ") + r.name + r.estimate.phase;
  progress_.update(units, e);
}

}  // namespace ploutos
