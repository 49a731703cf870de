#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/http.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/progress.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/fetch.hpp"
#include "ploutos/data/quality.hpp"
#include "ploutos/data/store.hpp"
#include "ploutos/data/synthetic.hpp"

namespace ploutos::cli {
namespace {

// --map time=Date,close=Close,...
data::ColumnMapping parse_mapping(const std::string& text) {
  data::ColumnMapping m;
  for (const auto& pair : split_list(text)) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) throw UsageError("--map: expected column=name pairs, got '" + pair + "'");
    const std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    std::string* slot = key == "time"     ? &m.time
                        : key == "open"   ? &m.open
                        : key == "high"   ? &m.high
                        : key == "low"    ? &m.low
                        : key == "close"  ? &m.close
                        : key == "volume" ? &m.volume
                                          : nullptr;
    if (slot == nullptr)
      throw UsageError("--map: unknown column '" + key + "' (expected time, open, high, low, close, volume)");
    *slot = value;
  }
  return m;
}

// Files named on the command line, or every series stored in the data directory.
std::vector<std::filesystem::path> target_files(const std::vector<std::string>& files, const std::string& dir,
                                                const std::vector<std::string>& tickers) {
  std::vector<std::filesystem::path> out;
  if (!files.empty()) {
    out.assign(files.begin(), files.end());
    return out;
  }
  for (const auto& s : data::DataStore(dir).list()) {
    if (tickers.empty() || std::find(tickers.begin(), tickers.end(), s.ticker) != tickers.end()) out.push_back(s.file);
  }
  if (out.empty())
    throw InputError("no data in " + dir + " (import CSV with `ploutos data import` or `ploutos data synth`)");
  return out;
}

nlohmann::ordered_json issue_json(const data::QualityIssue& i) {
  return {{"severity", i.severity == data::Severity::kError ? "error" : "warning"},
          {"code", i.code},
          {"line", i.row + 2},
          {"message", i.message}};
}

std::string range_of(const data::BarSeries& s) {
  if (s.empty()) return "";
  return data::stamp_text(s.timeframe, s.time.front()) + " .. " + data::stamp_text(s.timeframe, s.time.back());
}

}  // namespace

nlohmann::ordered_json fetch_bars(const config::Config& config, const std::string& dir,
                                  const std::vector<std::string>& tickers, data::Timeframe timeframe, Day start,
                                  Day end, const std::vector<std::string>& source_order, bool quiet, bool print) {
  HttpClientOptions http_options;
  http_options.timeout_seconds = config.data.http_timeout_seconds;
  http_options.max_retries = config.data.http_max_retries;
  http_options.requests_per_second = config.data.requests_per_minute / 60.0;
  HttpClient http(http_options);
  auto chain = data::make_source_chain(http, source_order);
  const data::DataStore store(dir);
  Progress progress("fetch", tickers.size(), ProgressOptions{"tickers", quiet});
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& ticker : tickers) {
    try {
      const auto r = data::fetch_into_store(store, chain, data::FetchRequest{ticker, timeframe, start, end}, now_utc());
      out.push_back({{"ticker", ticker},
                     {"new_bars", r.new_bars},
                     {"total_bars", r.total_bars},
                     {"source", r.source},
                     {"up_to_date", r.requested.empty()},
                     {"unfinished_bars", r.unfinished_bars},
                     {"rebased", r.rebased}});
      if (r.rebased) {
        out.back()["note"] = r.note;
        spdlog::warn("{}: {}", ticker, r.note);
      }
      if (print) {
        std::cout << ticker << ": " << (r.requested.empty() ? "up to date" : "+" + std::to_string(r.new_bars) + " bars")
                  << ", " << r.total_bars << " stored (" << r.source << ")"
                  << (r.unfinished_bars > 0 ? "; the bar under way is left for a later fetch" : "") << "\n";
      }
    } catch (const data::SourceError& e) {
      spdlog::error("{}", e.what());
      out.push_back({{"ticker", ticker}, {"error", e.what()}});
    }
    progress.advance();
  }
  progress.finish();
  return out;
}

void add_data_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand(
      "data", "Market data: import CSV, check quality, inspect, generate the synthetic market, fetch");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n"
      "  ploutos data import ../shared/data/daily/*.csv\n"
      "  ploutos data check --data ../shared/data\n"
      "  ploutos data info --json\n"
      "  ploutos data synth --tickers SYNA,SYNB --days 2000 --seed 7 --out data/market");

  // --- import -------------------------------------------------------------------------------------
  struct ImportOptions {
    std::vector<std::string> files;
    std::string dir, interval, ticker, map, policy = "error";
    bool adjust = false;
  };
  auto im = std::make_shared<ImportOptions>();
  auto* import = cmd->add_subcommand(
      "import", "Import CSV files into the data directory (normalised format, atomic, with source and hash)");
  import->add_option("files", im->files, "CSV files: normalised, Yahoo download, or other columns with --map")
      ->required();
  import->add_option("--data", im->dir, "Data directory (default: data.dir of the config, data/market)");
  import->add_option("--interval", im->interval, "1d or 1h (default: from the time column)");
  import->add_option("--ticker", im->ticker, "Ticker (default: each file's name); only with one file");
  import->add_option("--map", im->map, "Column names, e.g. time=Day,close=Last,volume=Shares");
  import->add_flag("--adjust", im->adjust, "Scale OHLC by adj_close/close (dividend-adjust a raw Yahoo download)");
  import->add_option("--policy", im->policy, "Quality errors: error (refuse the file, default) or warn");
  import->footer(
      "Examples:\n  ploutos data import ../shared/data/daily/*.csv\n  ploutos data import raw/AAPL.csv --map "
      "time=Day,close=Last --ticker AAPL");
  import->callback([&globals, im] {
    globals.action = [&globals, im]() -> int {
      const auto config = load_effective_config(globals);
  const data::DataStore store(im->dir.empty() ? config.data.dir : im->dir);
  if (!im->ticker.empty() && im->files.size() != 1) throw UsageError("--ticker needs exactly one file");
  const auto policy = data::parse_quality_policy(im->policy, "--policy");
  data::CsvReadOptions options;
  options.ticker = im->ticker;
  options.mapping = parse_mapping(im->map);
  if (!im->interval.empty()) options.timeframe = data::parse_timeframe(im->interval);
  if (im->adjust) options.adjustment = data::PriceAdjustment::kScaleToAdjClose;
  // Parse and check every file before writing any, so a bad file leaves the directory untouched.
  std::vector<std::pair<data::BarSeries, std::string>> ready;
  for (const auto& file : im->files) {
    auto parsed = data::read_csv(file, options);
    data::apply_quality_policy(data::check_quality(parsed.series), file, policy);
    if (parsed.skipped_null_rows > 0) spdlog::info("{}: skipped {} null rows", file, parsed.skipped_null_rows);
    ready.emplace_back(std::move(parsed.series), "csv:" + std::filesystem::path(file).filename().string());
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [series, source] : ready) {
    const auto info = store.save(series, source);
    out.push_back({{"ticker", info.ticker},
                   {"interval", data::to_string(info.timeframe)},
                   {"rows", info.rows},
                   {"first", info.first},
                   {"last", info.last},
                   {"file", info.file.string()},
                   {"content_hash", info.content_hash}});
    if (!globals.json) {
      std::cout << "imported " << info.ticker << " " << data::to_string(info.timeframe) << ": " << info.rows << " bars "
                << info.first << " .. " << info.last << " -> " << info.file.string() << "\n";
    }
  }
  if (globals.json) std::cout << json_text(out, 2) << "\n";
  return 0;
};
}  // namespace ploutos::cli
);

// --- check --------------------------------------------------------------------------------------
struct CheckOptions {
  std::vector<std::string> files;
  std::string dir, tickers;
  bool verbose = false;
};
auto ch = std::make_shared<CheckOptions>();
auto* check = cmd->add_subcommand(
    "check", "Quality checks (OHLC, prices, volume, order, missing sessions, split-like jumps); exit 2 on errors");
check->add_option("files", ch->files, "CSV files (default: everything in the data directory)");
check->add_option("--data", ch->dir,
                  "Data directory (default: data.dir); ../shared/data's daily/ and hourly/ work too");
check->add_option("--tickers", ch->tickers, "Comma-separated tickers to check");
check->add_flag("-v,--verbose", ch->verbose, "List every issue, not only the counts");
check->footer("Examples:\n  ploutos data check --data ../shared/data\n  ploutos data check some.csv --json");
check->callback([&globals, ch] {
  globals.action = [&globals, ch]() -> int {
    const auto config = load_effective_config(globals);
    const auto files = target_files(ch->files, ch->dir.empty() ? config.data.dir : ch->dir, split_list(ch->tickers));
    std::size_t errors = 0;
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& file : files) {
      data::QualityReport report;
      std::string structural;
      try {
        report = data::check_quality(data::read_csv(file).series);
      } catch (const InputError& e) {
        structural = e.what();
      }
      report.ticker = file.stem().string();
      const std::size_t file_errors = structural.empty() ? report.errors() : 1;
      errors += file_errors;
      nlohmann::ordered_json issues = nlohmann::ordered_json::array();
      for (const auto& i : report.issues) issues.push_back(issue_json(i));
      if (!structural.empty())
        issues.push_back({{"severity", "error"}, {"code", "unreadable"}, {"message", structural}});
      out.push_back(
          {{"file", file.string()}, {"errors", file_errors}, {"warnings", report.warnings()}, {"issues", issues}});
      if (globals.json) continue;
      std::cout << (file_errors ? "FAIL " : "ok   ") << file.string() << ": " << file_errors << " errors, "
                << report.warnings() << " warnings\n";
      if (!structural.empty()) std::cout << "     " << structural << "\n";
      for (const auto& i : report.issues) {
        if (i.severity == data::Severity::kError || ch->verbose) {
          std::cout << "     " << file.string() << ":" << i.row + 2 << ": " << i.code << ": " << i.message << "\n";
        }
      }
    }
    if (globals.json) std::cout << json_text(out, 2) << "\n";
    if (errors > 0) {
      spdlog::error("{} error-level problems in {} files", errors, files.size());
      return kExitUsage;
    }
    return 0;
  };
});

// --- info ---------------------------------------------------------------------------------------
struct InfoOptions {
  std::vector<std::string> files;
  std::string dir;
};
auto in = std::make_shared<InfoOptions>();
auto* info_cmd = cmd->add_subcommand("info", "Tickers, intervals, ranges, rows, source and quality of stored data");
info_cmd->add_option("files", in->files, "CSV files (default: everything in the data directory)");
info_cmd->add_option("--data", in->dir, "Data directory (default: data.dir)");
info_cmd->footer("Examples:\n  ploutos data info\n  ploutos data info --data ../shared/data --json");
info_cmd->callback([&globals, in] {
  globals.action = [&globals, in]() -> int {
    const auto config = load_effective_config(globals);
    const std::string dir = in->dir.empty() ? config.data.dir : in->dir;
    std::map<std::string, std::string> sources;
    if (in->files.empty()) {
      for (const auto& s : data::DataStore(dir).list()) sources[s.file.string()] = s.source;
    }
    const auto files = target_files(in->files, dir, {});
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    if (!globals.json)
      std::printf("%-8s %-4s %7s  %-45s %-8s %s\n", "ticker", "int", "rows", "range", "quality", "source");
    for (const auto& file : files) {
      const auto series = data::read_csv(file).series;
      const auto report = data::check_quality(series);
      const std::string source = sources.count(file.string()) ? sources[file.string()] : "file";
      const std::string quality = report.errors() ? "errors" : report.warnings() ? "warnings" : "clean";
      out.push_back({{"ticker", series.ticker},
                     {"interval", data::to_string(series.timeframe)},
                     {"rows", series.size()},
                     {"range", range_of(series)},
                     {"source", source},
                     {"errors", report.errors()},
                     {"warnings", report.warnings()},
                     {"file", file.string()}});
      if (!globals.json) {
        std::printf("%-8s %-4s %7zu  %-45s %-8s %s\n", series.ticker.c_str(),
                    std::string(data::to_string(series.timeframe)).c_str(), series.size(), range_of(series).c_str(),
                    quality.c_str(), source.c_str());
      }
    }
    if (globals.json) std::cout << json_text(out, 2) << "\n";
    return 0;
  };
});

// --- synth --------------------------------------------------------------------------------------
struct SynthOptions {
  std::string tickers, out, calibrate_from, start = "2016-01-04";
  int days = 2000;
};
auto sy = std::make_shared<SynthOptions>();
auto* synth =
    cmd->add_subcommand("synth", "Generate the synthetic market (correlated, GARCH, fat tails, regimes) as daily CSV");
synth->add_option("--tickers", sy->tickers, "Comma-separated tickers (default: data.tickers of the config)");
synth->add_option("--days", sy->days, "Number of NYSE sessions")->check(CLI::Range(2, 100000));
synth->add_option("--start", sy->start, "First day (YYYY-MM-DD)");
synth->add_option("--out", sy->out, "Data directory to write (default: data.dir)");
synth->add_option("--calibrate-from", sy->calibrate_from, "Estimate parameters from real files in this directory");
synth->footer(
    "Examples:\n  ploutos data synth --tickers SYNA,SYNB,SYNC --days 2500 --seed 7 --out data/market\n"
    "Same --seed, same options -> byte-identical files.");
synth->callback([&globals, sy] {
  globals.action = [&globals, sy]() -> int {
    const auto config = load_effective_config(globals);
    data::SyntheticOptions options;
    options.tickers = sy->tickers.empty() ? config.data.tickers : split_list(sy->tickers);
    options.sessions = sy->days;
    options.start = parse_day(sy->start);
    options.seed = config.training.seed;
    std::string source = "synthetic:seed=" + std::to_string(options.seed);
    if (!sy->calibrate_from.empty()) {
      const data::DataStore real_store(sy->calibrate_from);
      std::vector<data::BarSeries> real;
      for (const auto& stored : real_store.list()) {
        if (stored.timeframe == data::Timeframe::k1d)
          real.push_back(real_store.load(stored.ticker, data::Timeframe::k1d));
      }
      if (real.empty()) throw InputError("--calibrate-from " + sy->calibrate_from + ": no daily series found");
      options = data::calibrate_synthetic(options, real);
      source += ",calibrated:" + sy->calibrate_from;
      spdlog::info("calibrated on {} series: GARCH alpha {:.2f}, beta {:.3f}", real.size(), options.garch_alpha,
                   options.garch_beta);
    }
    const data::DataStore store(sy->out.empty() ? config.data.dir : sy->out);
    for (const auto& series : data::generate_synthetic(options)) {
      const auto info = store.save(series, source);
      if (!globals.json)
        std::cout << "wrote " << info.file.string() << " (" << info.rows << " bars, " << info.first << " .. "
                  << info.last << ")\n";
    }
    return 0;
  };
});

// --- fetch --------------------------------------------------------------------------------------
struct FetchOptions {
  std::string tickers, start, end, interval, source = "auto", dir;
};
auto f = std::make_shared<FetchOptions>();
auto* fetch =
    cmd->add_subcommand("fetch", "Download bars into the data directory; a second fetch asks only for what is missing");
fetch->add_option("--tickers", f->tickers, "Comma-separated tickers (default: data.tickers)");
fetch->add_option("--start", f->start, "First day YYYY-MM-DD (default: data.start, or data.end minus data.period)");
fetch->add_option("--end", f->end, "Last day YYYY-MM-DD (default: data.end, or today)");
fetch->add_option("--interval", f->interval, "1d or 1h (4h is built from 1h on load; default: data.interval)");
fetch->add_option("--source", f->source,
                  "auto (data.source_order: alpaca -> yahoo -> polygon), alpaca, yahoo or polygon");
fetch->add_option("--data", f->dir, "Data directory (default: data.dir)");
fetch->footer(
    "Examples:\n"
    "  ploutos data fetch --tickers NVDA,MSFT --start 2015-01-01 --end 2024-12-31 --interval 1d\n"
    "  ploutos data fetch --config v6_better_timing.yaml --source yahoo\n"
    "Credentials come from the environment or .env (ALPACA_API_KEY/ALPACA_SECRET_KEY, POLYGON_API_KEY);\n"
    "a source without them is skipped. ALPACA_DATA_URL, YAHOO_BASE_URL, POLYGON_BASE_URL redirect a source.");
fetch->callback([&globals, f] {
  globals.action = [&globals, f]() -> int {
    const auto config = load_effective_config(globals);
    const auto tickers = f->tickers.empty() ? config.data.tickers : split_list(f->tickers);
    auto timeframe = data::parse_timeframe(f->interval.empty() ? config.data.interval : f->interval);
    if (timeframe == data::Timeframe::k4h) timeframe = data::Timeframe::k1h;
    const auto [start, end] =
        data::resolve_window(f->start.empty() ? config.data.start : f->start, f->end.empty() ? config.data.end : f->end,
                             config.data.period, calendar::nyse().new_york_day(now_utc()));
    const auto out = fetch_bars(config, f->dir.empty() ? config.data.dir : f->dir, tickers, timeframe, start, end,
                                f->source == "auto" ? config.data.source_order : std::vector<std::string>{f->source},
                                globals.quiet || globals.json, !globals.json);
    std::vector<std::string> failed;
    for (const auto& r : out) {
      if (r.contains("error")) failed.push_back(r["ticker"].get<std::string>());
    }
    if (globals.json) std::cout << json_text(out, 2) << "\n";
    if (!failed.empty())
      throw Error("fetch failed for " + std::to_string(failed.size()) + " of " + std::to_string(tickers.size()) +
                  " tickers");
    return 0;
  };
});
}

}  // namespace ploutos::cli
