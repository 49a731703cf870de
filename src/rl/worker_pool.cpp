#include "worker_pool.hpp"

#include <algorithm>

namespace ploutos::rl {

namespace {
// Polls `done` until it holds or `budget` has passed; true when it holds.
template <class Predicate>
bool spin_until(Predicate done, std::chrono::microseconds budget) {
  if (budget.count() <= 0) return done();
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (int i = 0;; ++i) {
    if (done()) return true;
    // Past the first polls, yield between them: a thread that has work (another pool's, the
    // caller's) gets this core, and an idle core returns from the yield at once.
    if (i >= 64) std::this_thread::yield();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= deadline) return done();
  }
}
}  // namespace

WorkerPool::WorkerPool(int parts, std::chrono::microseconds spin) : parts_(std::max(1, parts)), spin_(spin) {
  for (int p = 1; p < parts_; ++p) threads_.emplace_back([this, p] { loop(p); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_.store(true);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::run(const std::function<void(int)>& fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    running_.store(parts_ - 1, std::memory_order_relaxed);
    error_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  std::exception_ptr own;
  try {
    fn(0);
  } catch (...) {
    own = std::current_exception();
  }
  const auto finished = [this] { return running_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(finished, spin_)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, finished);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  job_ = nullptr;
  if (own) std::rethrow_exception(own);
  if (error_) std::rethrow_exception(error_);
}

void WorkerPool::loop(int part) {
  std::uint64_t seen = 0;
  const auto woken = [&] {
    return quit_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
  };
  for (;;) {
    const std::function<void(int)>* job = nullptr;
    if (!spin_until(woken, spin_)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, woken);
    }
    if (quit_.load(std::memory_order_acquire)) return;
    // job_ was written before the generation was published (release), and stays until every part
    // has finished.
    seen = generation_.load(std::memory_order_acquire);
    job = job_;
    std::exception_ptr failure;
    try {
      (*job)(part);
    } catch (...) {
      failure = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failure && !error_) error_ = failure;
      running_.fetch_sub(1, std::memory_order_release);
    }
    done_.notify_one();
  }
}

}  // namespace ploutos::rl
