// run_jobs: every job once, in index order on one worker, side by side on several; a refusal or a
// failure stops new starts, and the failure of the lowest index comes back.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ploutos/core/parallel.hpp"

using namespace ploutos;

TEST(RunJobs, OneWorkerRunsEveryJobInOrderOnTheCallingThread) {
  std::vector<std::size_t> order;
  const auto caller = std::this_thread::get_id();
  bool elsewhere = false;
  EXPECT_EQ(run_jobs(5, 1,
                     [&](std::size_t i) {
                       order.push_back(i);
                       elsewhere |= std::this_thread::get_id() != caller;
                     }),
            5u);
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(elsewhere);
}

TEST(RunJobs, SeveralWorkersRunEveryJobOnceAndAtTheSameTime) {
  std::vector<std::atomic<int>> runs(40);
  std::atomic<int> running{0}, most{0};
  run_jobs(runs.size(), 3, [&](std::size_t i) {
    const int now = ++running;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ++runs[i];
    --running;
  });
  for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "job " << i;
  EXPECT_GE(most.load(), 2) << "the jobs never overlapped";
  EXPECT_LE(most.load(), 3);
}

TEST(RunJobs, ARefusalStopsNewStartsAndTheStartedJobsAreCounted) {
  std::mutex mutex;
  std::vector<std::size_t> ran;
  const auto started = run_jobs(
      10, 2,
      [&](std::size_t i) {
        const std::lock_guard lock(mutex);
        ran.push_back(i);
      },
      [](std::size_t i) { return i < 4; });
  EXPECT_EQ(started, 4u);
  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(ran, (std::vector<std::size_t>{0, 1, 2, 3}));
}

TEST(RunJobs, AFailureStopsNewStarts) {
  std::vector<std::size_t> ran;
  EXPECT_THROW(run_jobs(10, 1,
                        [&](std::size_t i) {
                          ran.push_back(i);
                          if (i == 2) throw std::runtime_error("job 2");
                        }),
               std::runtime_error);
  EXPECT_EQ(ran, (std::vector<std::size_t>{0, 1, 2}));
  // Two workers: job 0 fails while job 1 runs; job 1 hears of it through `failed` (set once the
  // failure is recorded) and ends; nothing more starts.
  std::atomic<bool> failed{false};
  std::atomic<int> started{0};
  EXPECT_THROW(run_jobs(
                   10, 2,
                   [&](std::size_t i) {
                     ++started;
                     if (i == 0) {
                       while (started < 2) std::this_thread::yield();
                       throw std::runtime_error("job 0");
                     }
                     while (!failed) std::this_thread::yield();
                   },
                   {}, &failed),
               std::runtime_error);
  EXPECT_EQ(started.load(), 2);
  EXPECT_TRUE(failed.load());
  std::atomic<bool> untouched{false};
  run_jobs(
      3, 2, [](std::size_t) {}, {}, &untouched);
  EXPECT_FALSE(untouched.load()) << "set without a failure";
}

TEST(RunJobs, TheLowestFailingIndexIsRethrownAfterTheRunningJobsEnd) {
  // Job 1 fails first; job 0, still running, fails later: job 0's exception comes back, and only
  // after it has ended.
  std::atomic<bool> one_failed{false}, zero_ended{false};
  try {
    run_jobs(2, 2, [&](std::size_t i) {
      if (i == 1) {
        one_failed = true;
        throw std::runtime_error("job 1");
      }
      while (!one_failed) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      zero_ended = true;
      throw std::runtime_error("job 0");
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "job 0");
    EXPECT_TRUE(zero_ended.load());
  }
}
