// Test entry point: the same BLAS kernel check as the ploutos binary (so the learning tests run on
// the kernels a user gets), then GoogleTest.
#include <gtest/gtest.h>

#include "ploutos/rl/runtime.hpp"

int main(int argc, char** argv) {
  ploutos::rl::ensure_fast_blas_kernels(argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
