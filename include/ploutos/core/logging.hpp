#pragma once
// Logging goes to stderr (stdout stays clean for --json and CSV) and optionally to a file; every
// sink passes through redact(). Use spdlog's free functions (spdlog::info, ...) after setup.
#include <string>

namespace ploutos {

struct LogOptions {
  std::string level = "info";  // trace|debug|info|warn|error|critical|off
  std::string file;            // also log here (appended) when not empty
  bool quiet = false;          // console shows warnings and errors only
};

// Installs the default logger. Honours NO_COLOR. Throws UsageError on an unknown level.
void setup_logging(const LogOptions& options);

}  // namespace ploutos
