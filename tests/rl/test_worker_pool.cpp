// The worker pool behind the update's passes and a decision's matrix-vector products
// (src/rl/worker_pool.hpp), sleeping and polling.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "rl/worker_pool.hpp"

using namespace ploutos::rl;
using namespace std::chrono_literals;

namespace {

void check_pool(WorkerPool& pool) {
  // Back to back (a polling pool's workers never sleep), then with pauses longer than the poll
  // (they sleep and are woken): every part runs exactly once a call, and the call waits for all.
  for (const auto pause : {0ms, 3ms}) {
    for (int call = 0; call < 200; ++call) {
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(pool.parts()));
      pool.run([&](int part) {
        if (part == pool.parts() - 1) std::this_thread::sleep_for(20us);  // the last part finishes last
        runs[static_cast<std::size_t>(part)].fetch_add(1);
      });
      for (int p = 0; p < pool.parts(); ++p) ASSERT_EQ(runs[static_cast<std::size_t>(p)].load(), 1) << "part " << p;
      if (pause.count() > 0 && call % 20 == 0) std::this_thread::sleep_for(pause);
    }
  }
  EXPECT_THROW(pool.run([](int part) {
    if (part == 1) throw std::runtime_error("part 1 failed");
  }),
               std::runtime_error);
  std::atomic<int> after{0};
  pool.run([&](int) { after.fetch_add(1); });  // a failure leaves the pool usable
  EXPECT_EQ(after.load(), pool.parts());
}

}  // namespace

TEST(WorkerPool, SleepingWorkersRunEveryPartOnceAndPassOnFailures) {
  WorkerPool pool(3);
  check_pool(pool);
}

TEST(WorkerPool, PollingWorkersRunEveryPartOnceAndPassOnFailures) {
  WorkerPool pool(3, 1ms);
  check_pool(pool);
}

// A decision's layers: each part writes its share of a layer, and after the barrier every part reads
// the whole layer. A part that left the barrier early would read a slot not yet written this round.
TEST(WorkerPool, TheBarrierHoldsEveryPartUntilAllHaveArrived) {
  WorkerPool pool(3, 1ms);
  constexpr int kLayers = 4;
  std::vector<std::atomic<int>> slots(static_cast<std::size_t>(pool.parts()));
  std::atomic<int> early{0};
  for (int call = 1; call <= 300; ++call) {
    SpinBarrier barrier(pool.parts());
    pool.run([&](int part) {
      for (int layer = 0; layer < kLayers; ++layer) {
        const int stamp = call * kLayers + layer;
        if (part == call % pool.parts()) std::this_thread::sleep_for(10us);  // a different part comes last each call
        slots[static_cast<std::size_t>(part)].store(stamp);
        barrier.arrive_and_wait();
        for (const auto& slot : slots) {
          if (slot.load() < stamp) early.fetch_add(1);
        }
        barrier.arrive_and_wait();  // nobody writes the next layer's stamp before all have read this one's
      }
    });
  }
  EXPECT_EQ(early.load(), 0);
}

// Every policy decides on the process's one decision pool; decisions from several threads at once
// take turns on it.
TEST(WorkerPool, TheDecisionPoolHasAPartForEveryCore) {
  EXPECT_EQ(decision_pool().parts(), std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  EXPECT_EQ(&decision_pool(), &decision_pool());
}
