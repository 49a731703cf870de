// The one-writer lock: refused while another process holds it (naming that process), free the
// moment the holder dies, even by SIGKILL, with no stale lock to clear by hand.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ploutos/core/error.hpp"
#include "ploutos/core/file_lock.hpp"

namespace ploutos {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ploutos_lock_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string refusal(const fs::path& path) {
  try {
    ExclusiveFileLock again(path, "a test holder");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ExclusiveFileLock, ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  const auto dir = fresh_dir("same_process");
  const auto path = dir / "x.lock";
  {
    const ExclusiveFileLock first(path, "a test holder");
    const std::string what = refusal(path);
    EXPECT_EQ(what.rfind(path.string() + ": held by pid " + std::to_string(::getpid()) + " since ", 0), 0u) << what;
    EXPECT_NE(what.find(", a test holder; stop it first"), std::string::npos) << what;
    const auto holder = ExclusiveFileLock::holder(path);
    ASSERT_TRUE(holder) << "a look at a held lock sees its holder";
    EXPECT_EQ(holder->rfind("pid " + std::to_string(::getpid()) + " since ", 0), 0u) << *holder;
  }
  EXPECT_FALSE(ExclusiveFileLock::holder(path)) << "nobody holds it";
  EXPECT_EQ(refusal(path), "") << "released with its holder";
  EXPECT_FALSE(ExclusiveFileLock::holder(dir / "never.lock"));
  fs::remove_all(dir);
}

// The holder is another process, killed without any chance to clean up.
TEST(ExclusiveFileLock, AKilledHolderLeavesNoStaleLock) {
  const auto dir = fresh_dir("killed");
  const auto path = dir / "x.lock";
  // The child makes system calls only: after fork in a threaded process nothing else is safe.
  char holder_text[64];
  const pid_t parent = ::getpid();
  const int length = std::snprintf(holder_text, sizeof holder_text, "pid %d's child\n", static_cast<int>(parent));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0) << std::strerror(errno);
  if (child == 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0 || ::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, holder_text, static_cast<std::size_t>(length), 0) != length)
      ::_exit(1);
    for (;;) ::pause();
  }
  std::string what;
  for (int wait = 0; wait < 500 && what.find("child") == std::string::npos; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    what = refusal(path);
  }
  EXPECT_EQ(what, path.string() + ": held by pid " + std::to_string(parent) + "'s child, a test holder; stop it first");
  EXPECT_EQ(ExclusiveFileLock::holder(path).value_or("nobody"), "pid " + std::to_string(parent) + "'s child");
  EXPECT_EQ(refusal(path), what) << "looking took nothing";
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(ExclusiveFileLock::holder(path)) << "a dead holder holds nothing";
  EXPECT_EQ(refusal(path), "") << "free once its holder died";
  {
    const ExclusiveFileLock mine(path, "a test holder");
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    EXPECT_EQ(text.str().rfind("pid " + std::to_string(parent) + " since ", 0), 0u)
        << "it now names us: " << text.str();
  }
  fs::remove_all(dir);
}

TEST(ExclusiveFileLock, ALockWhereNoFileCanBeMadeIsAnIoErrorNamingIt) {
  const fs::path path = "/proc/ploutos-cannot-be-here.lock";
  try {
    ExclusiveFileLock lock(path, "a test holder");
    FAIL() << "locked " << path;
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path.string() + ": cannot open the lock file: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace ploutos
