#pragma once
// A fixed set of threads that run one function over part indices and wait for all of them: the
// update's data-parallel minibatch passes (actor_critic.cpp) and a decision's matrix-vector
// products (ppo.cpp), with the barrier between a decision's layers. Torch-free.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ploutos::rl {

// How long a wait polls without a system call before it yields between polls. On a VM where a
// system call costs ~1 us, a thread that yielded while it waited for the next decision made that
// decision slower as a whole (V6, back to back: 118 us median against 89 us when it polled;
// docs/decisions.md, "Thread hand-over"). Short, so that a waiting thread soon gives its core to
// one with work.
inline constexpr std::chrono::microseconds kBusyPoll{100};

// Polls `done` until it holds or `budget` has passed (true when it holds): for the first kBusyPoll
// of the budget without a system call, then yielding between polls.
template <class Predicate>
bool poll_until(Predicate done, std::chrono::microseconds budget) {
  if (budget.count() <= 0) return done();
  const auto start = std::chrono::steady_clock::now();
  const auto busy_until = start + std::min(budget, kBusyPoll);
  const auto deadline = start + budget;
  bool busy = true;
  for (int i = 0;; ++i) {
    if (done()) return true;
    if ((i & 63) == 63) {  // the clock costs ~50 ns a reading: look at it now and then
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return done();
      busy = now < busy_until;
    }
    if (!busy) std::this_thread::yield();
  }
}

// A barrier for the threads of one WorkerPool::run (the layers of a decision): polls, then yields
// while it waits (a busy machine may have descheduled a peer).
class SpinBarrier {
 public:
  explicit SpinBarrier(int parts) : parts_(parts) {}
  void arrive_and_wait() {
    const int phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts_) {
      arrived_.store(0, std::memory_order_relaxed);
      phase_.store(phase + 1, std::memory_order_release);
      return;
    }
    const auto released = [&] { return phase_.load(std::memory_order_acquire) != phase; };
    while (!poll_until(released, std::chrono::hours{1})) {
    }
  }

 private:
  const int parts_;
  std::atomic<int> arrived_{0}, phase_{0};
};

class WorkerPool {
 public:
  // `spin`: how long an idle worker polls for the next job before it sleeps, and how long the
  // caller polls for the others to finish. Waking a sleeping thread costs tens of microseconds on
  // a VM (a futex and an inter-processor interrupt): a decision, ~0.2 ms of work in all, pays it
  // per call unless its pool spins. Zero: sleep at once (the update's passes are long).
  explicit WorkerPool(int parts, std::chrono::microseconds spin = std::chrono::microseconds{0});
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int parts() const { return parts_; }
  // Runs fn(0), ..., fn(parts - 1) at once, fn(0) on the calling thread; returns when all have
  // finished, rethrowing the first exception any of them threw.
  void run(const std::function<void(int)>& fn);

 private:
  void loop(int part);

  int parts_;
  std::chrono::microseconds spin_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  // Written under the mutex, read also without it by spinning threads.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> running_{0};
  std::atomic<bool> quit_{false};
  std::exception_ptr error_;
};

// The process's pool for single decisions, one part a core, whose idle threads poll for 1 ms
// before they sleep, and the mutex every decision holds while it uses the pool. One pool for every
// policy: an int8 backtest asks its float32 twin at each step, and two pools' polling threads took
// each other's cores (docs/decisions.md, "Thread hand-over"). A decision uses every core, so two
// decisions at once would gain nothing from running side by side.
WorkerPool& decision_pool();
std::mutex& decision_pool_mutex();

}  // namespace ploutos::rl
