#include <gtest/gtest.h>

#include "ploutos/rl/runtime.hpp"

TEST(TorchRuntime, ReportsVersionThreadsAndComputes) {
  const auto info = ploutos::rl::torch_runtime();
  EXPECT_EQ(info.torch_version.rfind("1.", 0), 0u) << info.torch_version;
  EXPECT_GE(info.threads, 1);
  EXPECT_GT(ploutos::rl::torch_matmul_gflops(64, 4), 0.0);
}
