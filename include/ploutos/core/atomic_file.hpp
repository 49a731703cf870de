#pragma once
// Files are never left half-written: content goes to a temporary file in the same directory, is
// fsync'ed, and renamed over the target (then the directory is fsync'ed). A crash leaves either
// the old file or the new one. Files are read whole, with a directory told from a file.
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace ploutos {

void write_file_atomic(const std::filesystem::path& target, std::string_view content);

// Creates `dir` (and its parents) unless it exists, and checks that files can be made in it by
// making one (permission bits do not bind root, and /proc or a read-only mount can refuse what they
// allow): a long job calls it before it starts, not when its first result is due. Throws IoError
// naming the directory and the reason.
void ensure_writable_directory(const std::filesystem::path& dir);

// Streams into the temporary file; if `write` throws, the target is untouched and the temporary removed.
void write_file_atomic(const std::filesystem::path& target, const std::function<void(std::ostream&)>& write);

// The whole content of `path`. A missing path or a directory is an InputError naming it and saying
// what was expected there (`what`: "CSV file", "config file"); a failing read an IoError.
std::string read_file(const std::filesystem::path& path, const std::string& what);

}  // namespace ploutos
