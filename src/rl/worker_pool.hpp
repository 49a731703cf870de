#pragma once
// A fixed set of threads that run one function over part indices and wait for all of them: the
// update's data-parallel minibatch passes (actor_critic.cpp) and a decision's matrix-vector
// products (ppo.cpp). Torch-free.
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

}  // namespace ploutos::rl
