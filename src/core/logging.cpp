#include "ploutos/core/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>

#include "ploutos/core/error.hpp"
#include "ploutos/core/progress.hpp"
#include "ploutos/core/secrets.hpp"

namespace ploutos {
namespace {

// Forwards each message with secrets masked; formatting happens in the children.
class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingSink(std::vector<spdlog::sink_ptr> children) : children_(std::move(children)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string clean = redact(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(clean.data(), clean.size());
    with_progress_line_cleared([&] {
      for (const auto& child : children_) {
        if (child->should_log(copy.level)) child->log(copy);
      }
    });
  }
  void flush_() override {
    for (const auto& child : children_) child->flush();
  }

 private:
  std::vector<spdlog::sink_ptr> children_;
};

spdlog::level::level_enum parse_level(const std::string& name) {
  for (int i = spdlog::level::trace; i <= spdlog::level::off; ++i) {
    const auto level = static_cast<spdlog::level::level_enum>(i);
    const auto text = spdlog::level::to_string_view(level);
    if (name == std::string_view(text.data(), text.size())) return level;
  }
  if (name == "warning") return spdlog::level::warn;
  throw UsageError("--log-level: unknown level '" + name +
                   "' (expected trace, debug, info, warn, error, critical or off)");
}

}  // namespace

void setup_logging(const LogOptions& options) {
  const auto level = parse_level(options.level);
  const char* no_color = std::getenv("NO_COLOR");
  spdlog::sink_ptr console;
  if (no_color != nullptr && *no_color != '\0') {
    console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic);
  }
  console->set_pattern("%^[%H:%M:%S.%e] %-5l%$ %v");
  console->set_level(options.quiet ? std::max(level, spdlog::level::warn) : level);
  std::vector<spdlog::sink_ptr> children{console};
  if (!options.file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, false);
      file->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l [%t] %v");
      file->set_level(level);
      children.push_back(std::move(file));
    } catch (const spdlog::spdlog_ex& e) {
      throw IoError("--log-file " + options.file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("ploutos", std::make_shared<RedactingSink>(std::move(children)));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace ploutos
