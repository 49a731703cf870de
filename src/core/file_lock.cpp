#include "ploutos/core/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ploutos/core/error.hpp"
#include "ploutos/core/time.hpp"

namespace ploutos {
namespace {

std::string holder_of(int fd) {
  char text[256];
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return "another process";
  std::string holder(text, static_cast<std::size_t>(n));
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\r')) holder.pop_back();
  return holder.empty() ? "another process" : holder;
}

}  // namespace

ExclusiveFileLock::ExclusiveFileLock(std::filesystem::path path, const std::string& what) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(path_.string() + ": cannot open the lock file: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    if (error == EWOULDBLOCK) throw Error(path_.string() + ": held by " + holder + ", " + what + "; stop it first");
    throw IoError(path_.string() + ": cannot lock: " + std::strerror(error));
  }
  const std::string holder = "pid " + std::to_string(::getpid()) + " since " + format_instant(now_utc()) + "\n";
  // Best effort: the lock is the flock, the text only tells a refused process who has it.
  [[maybe_unused]] const bool told =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, holder.data(), holder.size(), 0) == static_cast<ssize_t>(holder.size());
}

ExclusiveFileLock::~ExclusiveFileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the flock
}

}  // namespace ploutos
