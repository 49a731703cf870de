#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/json_text.hpp"

namespace ploutos::cli {

void add_status_command(CLI::App& app, Globals& globals) {
  auto* cmd =
      app.add_subcommand("status", "Is the NYSE open? Next open and close (UTC), from the built-in NYSE calendar");
  auto at = std::make_shared<std::string>();
  cmd->add_option("--at", *at, "Instant to ask about, ISO-8601 with zone (default: now), e.g. 2024-12-24T17:30:00Z");
  cmd->footer(
      "Examples:\n"
      "  ploutos status\n"
      "  ploutos status --at 2025-01-09T15:00:00Z --json\n"
      "JSON keys: at, open (bool), session_day, closed_reason, early_close, next_open, next_close, previous_close;\n"
      "instants are UTC ISO-8601 with Z.");
  cmd->callback([&globals, at] {
    globals.action = [&globals, at]() -> int {
      const Instant when = at->empty() ? now_utc() : parse_instant(*at);
      const auto s = calendar::market_status(calendar::nyse(), when);
      if (globals.json) {
        nlohmann::ordered_json j{
            {"at", format_instant(s.at)},
            {"open", s.open},
            {"session_day", format_day(s.new_york_day)},
            {"closed_reason", s.open ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.closed_reason)},
            {"early_close", s.early_close_today},
            {"next_open", format_instant(s.next_open)},
            {"next_close", format_instant(s.next_close)},
            {"previous_close", format_instant(s.previous_close)}};
        std::cout << json_text(j, 2) << "\n";
        return 0;
      }
      std::cout << "NYSE is " << (s.open ? "OPEN" : "CLOSED");
      if (!s.open) std::cout << " (" << s.closed_reason << ")";
      if (s.early_close_today) std::cout << " [13:00 early close today]";
      std::cout << "\n  at              " << format_instant(s.at) << "  (New York day " << format_day(s.new_york_day)
                << ")"
                << "\n  next open       " << format_instant(s.next_open) << "\n  next close      "
                << format_instant(s.next_close) << "\n  previous close  " << format_instant(s.previous_close) << "\n";
      return 0;
    };
  });
}

}  // namespace ploutos::cli
