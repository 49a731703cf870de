#include <gtest/gtest.h>

#include "ploutos/core/text.hpp"

namespace ploutos {
namespace {

TEST(Text, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("--timestep", "--timesteps"), 1u);
  EXPECT_EQ(edit_distance("--modle", "--model"), 2u);  // a swap is two edits
}

TEST(Text, NearestIsTheClosestWithinTheLimitAndTheFirstOfEquals) {
  const std::vector<std::string> options{"--cycles", "--config", "--model", "--json"};
  EXPECT_EQ(nearest("--max-cycles", options, 4), "--cycles");
  EXPECT_EQ(nearest("--max-cycles", options, 3), "");
  EXPECT_EQ(nearest("--modle", options, 2), "--model");
  EXPECT_EQ(nearest("--jsn", options, 2), "--json");
  EXPECT_EQ(nearest("--conf", {"--confa", "--confb"}, 2), "--confa");
}

}  // namespace
}  // namespace ploutos
