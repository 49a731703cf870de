#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "ploutos/config/config.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::config {
namespace {

std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

std::vector<std::filesystem::path> config_search_dirs() {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("PLOUTOS_CONFIG_DIR"); env != nullptr && *env != '\0') candidates.emplace_back(env);
  candidates.emplace_back("config");
  if (const auto exe = executable_dir(); !exe.empty()) {
    candidates.push_back(exe / ".." / "config");
    candidates.push_back(exe / ".." / "share" / "ploutos" / "config");
  }
#ifdef PLOUTOS_SOURCE_DIR
  candidates.push_back(std::filesystem::path(PLOUTOS_SOURCE_DIR) / "config");
#endif
  // A build directory inside the source tree reaches the same config/ twice; list it once.
  std::vector<std::filesystem::path> dirs, seen;
  for (const auto& dir : candidates) {
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(dir, ec);
    const auto& key = ec ? dir : canonical;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    dirs.push_back(dir.lexically_normal());
  }
  return dirs;
}

std::filesystem::path resolve_config_path(std::string_view name, std::string_view option) {
  const std::string opt(option);
  if (name.empty()) throw UsageError(opt + ": expected a file name or path, got nothing");
  const std::string text(name);
  if (text.find('/') != std::string::npos) {
    if (!std::filesystem::exists(text)) throw UsageError(opt + " " + text + ": no such file");
    return text;
  }
  // A file of that name here is the one meant (`--config my.yaml` beside it), before any library.
  if (std::error_code ec; std::filesystem::is_regular_file(text, ec)) return text;
  std::vector<std::string> names{text, "training_config_" + text};
  if (!text.ends_with(".yaml") && !text.ends_with(".yml")) {
    names.push_back(text + ".yaml");
    names.push_back("training_config_" + text + ".yaml");
  }
  std::string tried;
  for (const auto& dir : config_search_dirs()) {
    for (const auto& candidate : names) {
      const auto path = dir / candidate;
      std::error_code ec;
      if (std::filesystem::is_regular_file(path, ec)) return path.lexically_normal();
    }
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  throw UsageError(
      opt + " " + text + ": not found in " + tried +
      " (nor here; a path containing '/' is used as given; `ploutos config list` shows the available configs)");
}

}  // namespace ploutos::config
