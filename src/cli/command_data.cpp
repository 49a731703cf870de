#include "cli.hpp"

namespace ploutos::cli {

void add_data_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("data", "Market data: fetch (Alpaca, Yahoo, Polygon) into the cache, import CSV, inspect");
  cmd->require_subcommand(1);

  struct FetchOptions {
    std::string tickers, start, end, interval, source, dir;
  };
  auto f = std::make_shared<FetchOptions>();
  auto* fetch = cmd->add_subcommand("fetch", "Download bars into the data directory (only what is missing)");
  fetch->add_option("--tickers", f->tickers, "Comma-separated tickers (default: data.tickers)");
  fetch->add_option("--start", f->start, "First day YYYY-MM-DD");
  fetch->add_option("--end", f->end, "Last day YYYY-MM-DD");
  fetch->add_option("--interval", f->interval, "1d, 1h or 4h");
  fetch->add_option("--source", f->source, "auto (alpaca -> yahoo -> polygon), alpaca, yahoo or polygon");
  fetch->add_option("--dir", f->dir, "Data directory (default: data.dir)");
  fetch->footer("Examples:\n  ploutos data fetch --tickers NVDA,MSFT --start 2015-01-01 --end 2024-12-31 --interval 1d");
  not_implemented(*fetch, globals, "ploutos data fetch (issue #3)", f);

  auto files = std::make_shared<std::vector<std::string>>();
  auto* import = cmd->add_subcommand("import", "Import CSV files (project format, Yahoo download, or mapped columns)");
  import->add_option("files", *files, "CSV files");
  import->footer("Examples:\n  ploutos data import ../shared/data/daily/*.csv");
  not_implemented(*import, globals, "ploutos data import (issue #3)", files);

  auto* inspect = cmd->add_subcommand("inspect", "Coverage, gaps and quality checks of stored bars");
  inspect->footer("Examples:\n  ploutos data inspect --config quickstart");
  not_implemented(*inspect, globals, "ploutos data inspect (issue #3)");
}

}  // namespace ploutos::cli
