#include "ploutos/core/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
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

ExclusiveFileLock::ExclusiveFileLock(const std::filesystem::path& path, const std::string& what) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(path.string() + ": cannot open the lock file: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    if (error == EWOULDBLOCK) throw Error(path.string() + ": held by " + holder + ", " + what + "; stop it first");
    throw IoError(path.string() + ": cannot lock: " + std::strerror(error));
  }
  const std::string holder = "pid " + std::to_string(::getpid()) + " since " + format_instant(now_utc()) + "\n";
  // Best effort: the lock is the flock, the text only tells a refused process who has it.
  [[maybe_unused]] const bool told =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, holder.data(), holder.size(), 0) == static_cast<ssize_t>(holder.size());
}

std::optional<std::string> ExclusiveFileLock::holder(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;  // never locked here
  struct stat file {};
  const bool known = ::fstat(fd, &file) == 0;
  const std::string text = holder_of(fd);
  ::close(fd);
  if (!known) return std::nullopt;
  // Lines read `1: FLOCK  ADVISORY  WRITE 1234 fe:00:10953063 0 EOF` (id, kind, mode, access, pid,
  // device:inode, range); a blocked waiter's line has `->` after the id. The device is left out: on
  // an overlay filesystem stat(2) and the lock table name different ones for the same file.
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream fields(line);
    std::string id, kind, mode, access, pid, where;
    if (!(fields >> id >> kind >> mode >> access >> pid >> where) || kind != "FLOCK" || access != "WRITE") continue;
    const auto colon = where.rfind(':');
    if (colon != std::string::npos && where.substr(colon + 1) == std::to_string(file.st_ino)) return text;
  }
  return std::nullopt;
}

ExclusiveFileLock::~ExclusiveFileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the flock
}

}  // namespace ploutos
