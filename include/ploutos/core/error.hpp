#pragma once
// One exception hierarchy for every I/O and user-input boundary. main() catches ploutos::Error once
// and turns it into a one-line message and the exit code the error carries.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ploutos {

enum ExitCode : int {
  kExitOk = 0,
  kExitRuntime = 1,  // the job ran and failed (I/O, network, not implemented yet, ...)
  kExitUsage = 2,    // the user asked for something invalid (arguments, config, input files)
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int exit_code = kExitRuntime)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

// Bad command-line usage (unknown config name, conflicting flags).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, kExitUsage) {}
};

// A config file that does not validate. The message reads `file:line: key.path: what was expected`.
// A file with several problems carries them all (`config validate` lists them); its message is the
// first, with how many more there are.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, kExitUsage), problems_{message} {}
  explicit ConfigError(std::vector<std::string> problems)
      : Error(summary(problems), kExitUsage), problems_(std::move(problems)) {}
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  static std::string summary(const std::vector<std::string>& problems) {
    if (problems.empty()) return "invalid config";
    if (problems.size() == 1) return problems.front();
    return problems.front() + " (and " + std::to_string(problems.size() - 1) +
           " more; `ploutos config validate` lists all)";
  }
  std::vector<std::string> problems_;
};

// Malformed user input other than config: data files, .env, timestamps given on the command line.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(message, kExitUsage) {}
};

// Reading or writing files failed.
class IoError : public Error {
 public:
  explicit IoError(const std::string& message) : Error(message, kExitRuntime) {}
};

// A capability that a later issue builds. Never replaced by a silent fake.
class NotImplementedError : public Error {
 public:
  explicit NotImplementedError(const std::string& what) : Error(what + ": not implemented yet", kExitRuntime) {}
};

}  // namespace ploutos
