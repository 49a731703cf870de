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

TEST(AtomicFile, ADirectoryIsNoTargetAndKeepsWhatItHolds) {
  const auto dir = fresh_dir("target_dir");
  write_file_atomic(dir / "kept.txt", "kept");
  try {
    write_file_atomic(dir, "x");
    FAIL() << "wrote over a directory";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ": is a directory; give a file name");
  }
  EXPECT_EQ(entries(dir), 1u);
  EXPECT_EQ(slurp(dir / "kept.txt"), "kept");
  fs::remove_all(dir);
}

// A directory that exists and whose permission bits allow writing, where no file can be made
// (root ignores the bits; /proc refuses anyway): refused before a long job starts, and the probe
// file of a writable one does not stay behind.
TEST(AtomicFile, AWritableDirectoryIsOneWhereAFileCanBeMade) {
  if (!fs::is_directory("/proc/self")) GTEST_SKIP() << "no /proc here";
  EXPECT_THROW(ensure_writable_directory("/proc/self"), IoError);
  const auto dir = fresh_dir("writable");
  ensure_writable_directory(dir / "a" / "b");
  EXPECT_EQ(entries(dir / "a" / "b"), 0u);
  fs::remove_all(dir);
}

TEST(AtomicFile, ReadFileTellsADirectoryAndAMissingFileFromAFile) {
  const auto dir = fresh_dir("read");
  write_file_atomic(dir / "x.csv", std::string("a,b\n1,2\n\0tail", 13));
  EXPECT_EQ(read_file(dir / "x.csv", "CSV file"), std::string("a,b\n1,2\n\0tail", 13));
  try {
    read_file(dir, "CSV file");
    FAIL() << "a directory was read";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ": is a directory, not a CSV file");
  }
  try {
    read_file(dir / "none.yaml", "config file");
    FAIL() << "a missing file was read";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir / "none.yaml").string() + ": cannot read config file", 0), 0u)
        << e.what();
  }
  fs::remove_all(dir);
}
