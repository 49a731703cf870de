#pragma once
// One writer at a time for state that two processes must never advance together (a trading
// session's journal and simulated broker). An advisory flock(2) on a lock file beside what it
// guards: the kernel drops it when the holder ends, however it ends, so a crash or a kill -9
// never leaves a stale lock to clear by hand. The file stays; it records who holds it.
#include <filesystem>
#include <optional>
#include <string>

namespace ploutos {

class ExclusiveFileLock {
 public:
  // Takes the lock or throws Error naming `path`, the holder (pid and since when) and `what` the
  // holder is ("a trading session on data/journal.sqlite"). It never waits: a second session is
  // refused, not queued behind the first. Locks are per open file, so a second lock in the same
  // process is refused too.
  ExclusiveFileLock(const std::filesystem::path& path, const std::string& what);
  ~ExclusiveFileLock();
  ExclusiveFileLock(const ExclusiveFileLock&) = delete;
  ExclusiveFileLock& operator=(const ExclusiveFileLock&) = delete;

  // Who holds the lock at `path` now ("pid 1234 since ..."), from the kernel's table of locks
  // (/proc/locks) and the holder's line in the file, without taking it: a holder starting meanwhile
  // is never refused because someone looked. nullopt when nobody holds it or the kernel cannot say.
  static std::optional<std::string> holder(const std::filesystem::path& path);

 private:
  int fd_ = -1;
};

}  // namespace ploutos
