#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "ploutos/trading/journal_report.hpp"

namespace ploutos::cli {

void add_journal_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string path, out;
    int events = 10;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "journal", "What a trading session did, from its order journal: equity after costs, positions, trades, events");
  cmd->add_option("path", o->path, "Order journal (default: trading.journal of the config)");
  cmd->add_option("--out", o->out,
                  "Also write journal.html (equity and drawdown charts), equity.csv, orders.csv, fills.csv and "
                  "round_trips.csv into this directory");
  cmd->add_option("--events", o->events, "Latest events to list (kill switch, rejections, suggestions, ...)")
      ->check(kNonNegative);
  cmd->footer(
      "Reads the journal without changing it or locking it; a session may be running on it (the report says so).\n"
      "Examples:\n"
      "  ploutos journal data/runs/demo_journal.sqlite\n"
      "  ploutos journal data/runs/demo_journal.sqlite --out reports/paper --json");
  cmd->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      const std::string path = !o->path.empty() ? o->path : load_effective_config(globals).trading.journal;
      const auto report = trading::read_journal_report(path);
      std::vector<std::string> written;
      if (!o->out.empty()) written = trading::write_journal_report(report, o->out);
      if (globals.json) {
        std::cout << trading::journal_report_json(report) << "\n";
        return 0;
      }
      std::cout << trading::journal_report_text(report, static_cast<std::size_t>(o->events));
      if (!written.empty()) {
        std::cout << "report in " << o->out << "/ (";
        for (std::size_t i = 0; i < written.size(); ++i) std::cout << (i ? ", " : "") << written[i];
        std::cout << ")\n";
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
