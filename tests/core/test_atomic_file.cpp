#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"

namespace fs = std::filesystem;
using namespace ploutos;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("ploutos_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}
std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}
}  // namespace

TEST(AtomicFile, WritesAndReplacesWithoutLeavingTemporaries) {
  const auto dir = fresh_dir("atomic");
  const auto target = dir / "sub" / "model.json";
  write_file_atomic(target, "first");
  EXPECT_EQ(slurp(target), "first");
  write_file_atomic(target, std::string(1 << 20, 'x'));
  EXPECT_EQ(slurp(target).size(), 1u << 20);
  EXPECT_EQ(entries(target.parent_path()), 1u);
  fs::remove_all(dir);
}

TEST(AtomicFile, FailedWriterLeavesOldContentAndNoTemporary) {
  const auto dir = fresh_dir("atomic_fail");
  const auto target = dir / "journal.txt";
  write_file_atomic(target, "intact");
  EXPECT_THROW(write_file_atomic(target,
                                 [](std::ostream& out) {
                                   out << "half a file";
                                   throw IoError("disk on fire");
                                 }),
               IoError);
  EXPECT_EQ(slurp(target), "intact");
  EXPECT_EQ(entries(dir), 1u);
  fs::remove_all(dir);
}

TEST(AtomicFile, UnwritableDirectoryIsAnIoError) {
  EXPECT_THROW(write_file_atomic("/proc/ploutos/x.txt", "x"), IoError);
}
