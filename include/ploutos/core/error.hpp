#pragma once
// One exception hierarchy for every I/O and user-input boundary. main() catches ploutos::Error once
// and turns it into a one-line message and the exit code the error carries.
#include <stdexcept>
#include <string>

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
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, kExitUsage) {}
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
