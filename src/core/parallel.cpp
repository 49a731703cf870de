#include "ploutos/core/parallel.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ploutos {

std::size_t run_jobs(std::size_t count, int workers, const std::function<void(std::size_t)>& job,
                     const std::function<bool(std::size_t)>& may_start, std::atomic<bool>* failed) {
  std::mutex mutex;
  std::size_t next = 0;
  bool stopped = false;
  std::size_t failed_at = count;
  std::exception_ptr failure;
  auto work = [&] {
    for (;;) {
      std::size_t i = 0;
      {
        const std::lock_guard lock(mutex);
        if (stopped || next >= count) return;
        if (may_start && !may_start(next)) {
          stopped = true;
          return;
        }
        i = next++;
      }
      try {
        job(i);
      } catch (...) {
        const std::lock_guard lock(mutex);
        stopped = true;
        if (i < failed_at) {
          failed_at = i;
          failure = std::current_exception();
        }
        if (failed != nullptr) *failed = true;
      }
    }
  };
  const auto threads = static_cast<std::size_t>(std::max(1, workers));
  if (threads == 1 || count <= 1) {
    work();
  } else {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < std::min(threads, count); ++t) pool.emplace_back(work);
  }  // the jthreads join here
  if (failure) std::rethrow_exception(failure);
  return next;
}

}  // namespace ploutos
