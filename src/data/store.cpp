#include "ploutos/data/store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/resample.hpp"

namespace fs = std::filesystem;

namespace ploutos::data {
namespace {

// Folder names per timeframe, preferred first.
std::vector<std::string> folders(Timeframe tf) {
  switch (tf) {
    case Timeframe::k1d:
      return {"1d", "daily"};
    case Timeframe::k1h:
      return {"1h", "hourly"};
    case Timeframe::k4h:
      return {"4h"};
  }
  return {};
}

std::string range_text(const BarSeries& s, bool last) {
  if (s.empty()) return "";
  const Instant t = last ? s.time.back() : s.time.front();
  return stamp_text(s.timeframe, t);
}

}  // namespace

QualityPolicy parse_quality_policy(const std::string& text, const std::string& where) {
  if (text == "error") return QualityPolicy::kError;
  if (text == "warn") return QualityPolicy::kWarn;
  throw InputError(where + ": expected error or warn, got '" + text + "'");
}

std::string content_hash_hex(std::uint64_t hash) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

std::string content_hash(std::string_view bytes) {
  return content_hash_hex(fnv1a64(bytes));
}

void apply_quality_policy(const QualityReport& report, const std::string& file, QualityPolicy policy) {
  for (const auto& issue : report.issues) {
    if (issue.severity != Severity::kError) continue;
    const std::string where = file + ":" + std::to_string(issue.row + 2) + ": " + issue.code + ": " + issue.message;
    if (policy == QualityPolicy::kError) throw InputError(where);
    spdlog::warn("{}", where);
  }
  if (report.warnings() > 0) spdlog::debug("{}", summarize(report));
}

BarSeries load_checked(const fs::path& file, QualityPolicy policy, QualityReport* report_out) {
  BarSeries series = read_csv(file).series;
  const QualityReport report = check_quality(series);
  apply_quality_policy(report, file.string(), policy);
  if (report_out != nullptr) *report_out = report;
  return series;
}

std::optional<fs::path> DataStore::find(const std::string& ticker, Timeframe timeframe) const {
  const Timeframe stored = timeframe == Timeframe::k4h ? Timeframe::k1h : timeframe;
  for (const auto& folder : folders(stored)) {
    const fs::path path = dir_ / folder / (ticker + ".csv");
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return path;
  }
  return std::nullopt;
}

BarSeries DataStore::load(const std::string& ticker, Timeframe timeframe, QualityPolicy policy) const {
  const auto path = find(ticker, timeframe);
  if (!path) {
    throw InputError("no " + std::string(to_string(timeframe == Timeframe::k4h ? Timeframe::k1h : timeframe)) +
                     " data for " + ticker + " in " + dir_.string() +
                     " (import CSV with `ploutos data import` or fetch with `ploutos data fetch`)");
  }
  BarSeries series = load_checked(*path, policy);
  series.ticker = ticker;
  if (timeframe == Timeframe::k4h) {
    series.timeframe = Timeframe::k1h;
    return resample_1h_to_4h(series);
  }
  series.timeframe = timeframe;
  return series;
}

StoredSeries DataStore::save(const BarSeries& series, const std::string& source) const {
  if (series.timeframe == Timeframe::k4h)
    throw InputError(series.ticker + ": 4h bars are derived from 1h, store the 1h bars");
  const fs::path folder = dir_ / folders(series.timeframe).front();
  const std::string csv = to_csv(series);
  StoredSeries info{series.ticker,     series.timeframe, folder / (series.ticker + ".csv"), source,
                    content_hash(csv), series.size(),    range_text(series, false),         range_text(series, true)};
  const nlohmann::ordered_json meta{{"ticker", info.ticker}, {"interval", to_string(info.timeframe)},
                                    {"source", info.source}, {"content_hash", info.content_hash},
                                    {"rows", info.rows},     {"first", info.first},
                                    {"last", info.last},     {"format", "ploutos-bars-csv/1"}};
  write_file_atomic(info.file, csv);
  write_file_atomic(folder / (series.ticker + ".json"), json_text(meta, 2) + "\n");
  return info;
}

namespace {
// What the store knows of one CSV file: its sidecar's source and hash ("unknown" without one).
StoredSeries describe_file(const fs::path& csv, Timeframe tf) {
  StoredSeries info;
  info.ticker = csv.stem().string();
  info.timeframe = tf;
  info.file = csv;
  info.source = "unknown";
  const fs::path sidecar = fs::path(csv).replace_extension(".json");
  std::error_code ec;
  if (fs::is_regular_file(sidecar, ec)) {
    try {
      const auto meta = nlohmann::json::parse(read_file(sidecar, "metadata file"));
      info.source = meta.value("source", "unknown");
      info.content_hash = meta.value("content_hash", "");
    } catch (const nlohmann::json::exception& e) {
      throw InputError(sidecar.string() + ": malformed metadata: " + e.what());
    }
  }
  return info;
}
}  // namespace

std::optional<StoredSeries> DataStore::stored(const std::string& ticker, Timeframe timeframe) const {
  const auto path = find(ticker, timeframe);
  if (!path) return std::nullopt;
  return describe_file(*path, timeframe == Timeframe::k4h ? Timeframe::k1h : timeframe);
}

std::vector<StoredSeries> DataStore::list() const {
  std::vector<StoredSeries> out;
  for (const Timeframe tf : {Timeframe::k1d, Timeframe::k1h}) {
    for (const auto& folder : folders(tf)) {
      std::error_code ec;
      if (!fs::is_directory(dir_ / folder, ec)) continue;
      for (const auto& entry : fs::directory_iterator(dir_ / folder)) {
        if (entry.path().extension() == ".csv") out.push_back(describe_file(entry.path(), tf));
      }
    }
  }
  // A plain folder of TICKER.csv (as `--data ../shared/data/daily` for training): the file says its
  // interval (dates only: daily).
  std::error_code ec;
  if (out.empty() && fs::is_directory(dir_, ec)) {
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().extension() != ".csv") continue;
      Timeframe tf = Timeframe::k1d;
      try {
        tf = read_csv(entry.path()).series.timeframe;
      } catch (const InputError&) {  // unreadable: listed, and `data check` says why
      }
      out.push_back(describe_file(entry.path(), tf));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.timeframe, a.ticker) < std::tie(b.timeframe, b.ticker);
  });
  return out;
}

}  // namespace ploutos::data
