#pragma once
// A fixed set of threads that run one function over part indices and wait for all of them: the
// update's data-parallel minibatch passes (actor_critic.cpp). Torch-free.
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
  explicit WorkerPool(int parts);
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
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  std::uint64_t generation_ = 0;
  int running_ = 0;
  bool quit_ = false;
  std::exception_ptr error_;
};

}  // namespace ploutos::rl
