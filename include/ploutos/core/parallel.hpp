#pragma once
// Independent jobs side by side: a walk-forward's trainings (--jobs), an autonomous search's trials
// (search.n_jobs). Each job owns its inputs and outputs; the caller collects results by index, so
// what the jobs compute does not depend on how many run at once.
#include <atomic>
#include <cstddef>
#include <functional>

namespace ploutos {

// Runs job(i) for i = 0 .. count-1 on up to `workers` threads (1: on the calling thread, in order).
// Jobs start in index order. `may_start(i)`, when given, is asked before each start (under a lock,
// so it need not be thread-safe); once it says no, or a job has thrown, nothing more starts. Waits
// for every started job, then rethrows the exception of the lowest index that threw. Returns how
// many jobs were started. `failed`, when given, is set once a job's exception is recorded, so that
// the jobs under way can stop early instead of finishing work whose study has already failed.
std::size_t run_jobs(std::size_t count, int workers, const std::function<void(std::size_t)>& job,
                     const std::function<bool(std::size_t)>& may_start = {}, std::atomic<bool>* failed = nullptr);

}  // namespace ploutos
