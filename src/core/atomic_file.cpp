#include "ploutos/core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "ploutos/core/error.hpp"

namespace ploutos {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some filesystems refuse to open directories
  ::fsync(fd);
  ::close(fd);
}

void make_directories(const std::filesystem::path& where) {
  std::error_code ec;
  std::filesystem::create_directories(where, ec);
  if (ec) throw IoError(where.string() + ": cannot create directory: " + ec.message());
}

}  // namespace

void ensure_writable_directory(const std::filesystem::path& dir) {
  const std::filesystem::path where = dir.empty() ? "." : dir;
  make_directories(where);
  std::string probe = (where / ".ploutos-write-test.XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) throw IoError(where.string() + ": cannot write there: " + errno_text());
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string read_file(const std::filesystem::path& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path.string() + ": is a directory, not a " + what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot read " + what + ": " + errno_text());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(path.string() + ": reading failed: " + errno_text());
  return text;
}

void write_file_atomic(const std::filesystem::path& target, std::string_view content) {
  if (std::error_code ec; std::filesystem::is_directory(target, ec))
    throw IoError(target.string() + ": is a directory; give a file name");
  const std::filesystem::path dir = target.parent_path();
  // No probe file here: the temporary file below is one, and says why when it cannot be made.
  if (!dir.empty()) make_directories(dir);
  std::string tmp_name = ".";
  tmp_name += target.filename().string();
  tmp_name += ".tmp.XXXXXX";  // mkstemp replaces the Xs
  std::string tmp = (dir / tmp_name).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw IoError(target.string() + ": cannot create temporary file: " + errno_text());

  auto fail = [&](const std::string& what) {
    const std::string reason = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError(target.string() + ": " + what + ": " + reason);
  };
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  // mkstemp creates 0600; data files should be readable like any other file the user writes.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw IoError(target.string() + ": close failed: " + errno_text());
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(target.string() + ": rename failed: " + reason);
  }
  fsync_directory(dir);
}

void write_file_atomic(const std::filesystem::path& target, const std::function<void(std::ostream&)>& write) {
  std::ostringstream buffer;
  write(buffer);  // an exception here leaves nothing behind
  write_file_atomic(target, buffer.view());
}

}  // namespace ploutos
