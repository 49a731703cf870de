#include "worker_pool.hpp"

#include <algorithm>
#include <thread>

namespace ploutos::rl {

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
  if (!poll_until(finished, spin_)) {
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
    if (!poll_until(woken, spin_)) {
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

WorkerPool& decision_pool() {
  static WorkerPool pool(std::max(1, static_cast<int>(std::thread::hardware_concurrency())),
                         std::chrono::milliseconds{1});
  return pool;
}

std::mutex& decision_pool_mutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace ploutos::rl
