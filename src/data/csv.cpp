#include "ploutos/data/csv.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::data {
namespace {

enum Column { kTime, kOpen, kHigh, kLow, kClose, kAdjClose, kVolume, kColumnCount };
constexpr std::array<const char*, kColumnCount> kColumnNames = {"date/timestamp", "open",      "high",  "low",
                                                                "close",          "adj_close", "volume"};

std::string normalise_name(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (c == '"' || c == '\'' || c == '\r') continue;
    out += c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (!out.empty() && out.front() == '_') out.erase(out.begin());
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// Splits one line on commas into at most `fields.size()` views; returns the field count.
std::size_t split(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    std::string_view field =
        line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!field.empty() && (field.front() == ' ' || field.front() == '"')) field.remove_prefix(1);
    while (!field.empty() && (field.back() == ' ' || field.back() == '"' || field.back() == '\r'))
      field.remove_suffix(1);
    fields.push_back(field);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields.size();
}

[[noreturn]] void fail_at(const std::string& file, std::size_t line, const std::string& what) {
  throw InputError(file + ":" + std::to_string(line) + ": " + what);
}

bool is_null(std::string_view f) {
  return f == "null" || f == "NaN" || f == "nan" || f == "NULL";
}

}  // namespace

CsvReadResult parse_csv(std::string_view text, const std::string& file_name, const CsvReadOptions& options) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF) text.remove_prefix(3);  // UTF-8 BOM

  std::size_t pos = 0;
  std::size_t line_no = 0;
  auto next_line = [&](std::string_view& line) {
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) return true;
    }
    return false;
  };

  std::string_view header;
  if (!next_line(header))
    fail_at(file_name, 1, "empty file (expected a header like date,open,high,low,close,adj_close,volume)");
  std::vector<std::string_view> fields;
  split(header, fields);
  std::vector<std::string> names;
  for (auto f : fields) names.push_back(normalise_name(f));

  const std::array<std::vector<std::string>, kColumnCount> aliases = {{{"date", "timestamp", "datetime", "time"},
                                                                       {"open"},
                                                                       {"high"},
                                                                       {"low"},
                                                                       {"close"},
                                                                       {"adj_close", "adjclose", "adjusted_close"},
                                                                       {"volume", "vol"}}};
  const std::array<const std::string*, kColumnCount> mapped = {&options.mapping.time,  &options.mapping.open,
                                                               &options.mapping.high,  &options.mapping.low,
                                                               &options.mapping.close, nullptr,
                                                               &options.mapping.volume};
  std::array<int, kColumnCount> index{};
  index.fill(-1);
  for (int c = 0; c < kColumnCount; ++c) {
    std::vector<std::string> wanted = aliases[static_cast<std::size_t>(c)];
    if (mapped[static_cast<std::size_t>(c)] != nullptr && !mapped[static_cast<std::size_t>(c)]->empty()) {
      wanted = {normalise_name(*mapped[static_cast<std::size_t>(c)])};
    }
    for (std::size_t i = 0; i < names.size() && index[static_cast<std::size_t>(c)] < 0; ++i) {
      if (std::find(wanted.begin(), wanted.end(), names[i]) != wanted.end())
        index[static_cast<std::size_t>(c)] = static_cast<int>(i);
    }
    if (index[static_cast<std::size_t>(c)] < 0 && c != kAdjClose) {
      std::string have;
      for (const auto& n : names) have += (have.empty() ? "" : ",") + n;
      fail_at(
          file_name, 1,
          std::string("missing column '") + kColumnNames[static_cast<std::size_t>(c)] + "' (header has: " + have + ")");
    }
  }
  if (options.adjustment == PriceAdjustment::kScaleToAdjClose && index[kAdjClose] < 0) {
    fail_at(file_name, 1, "adjustment to adj_close asked for, but the file has no adj_close column");
  }

  CsvReadResult result;
  BarSeries& s = result.series;
  s.ticker = options.ticker.empty() ? std::filesystem::path(file_name).stem().string() : options.ticker;
  s.reserve(text.size() / 48);
  const std::size_t needed = static_cast<std::size_t>(*std::max_element(index.begin(), index.end())) + 1;
  std::optional<bool> date_only;
  std::string_view line;
  while (next_line(line)) {
    if (split(line, fields) < needed) {
      fail_at(file_name, line_no,
              "expected " + std::to_string(names.size()) + " fields, got " + std::to_string(fields.size()));
    }
    auto field = [&](Column c) { return fields[static_cast<std::size_t>(index[c])]; };
    bool null_row = false;
    for (int c = kOpen; c < kColumnCount; ++c) {
      if (index[static_cast<std::size_t>(c)] >= 0 && is_null(field(static_cast<Column>(c)))) null_row = true;
    }
    if (null_row) {
      ++result.skipped_null_rows;
      continue;
    }
    Bar bar;
    const std::string_view t = field(kTime);
    try {
      const bool is_date = t.size() == 10;
      if (!date_only) date_only = is_date;
      if (*date_only != is_date)
        fail_at(file_name, line_no, "time '" + std::string(t) + "' mixes dates and timestamps");
      bar.time = is_date ? Instant{parse_day(t)} : parse_instant(t);
    } catch (const InputError& e) {
      if (std::string_view(e.what()).rfind(file_name, 0) == 0) throw;
      fail_at(file_name, line_no, e.what());
    }
    double adj_close = 0;
    const std::array<std::pair<Column, double*>, 6> numbers = {{{kOpen, &bar.open},
                                                                {kHigh, &bar.high},
                                                                {kLow, &bar.low},
                                                                {kClose, &bar.close},
                                                                {kVolume, &bar.volume},
                                                                {kAdjClose, &adj_close}}};
    for (const auto& [column, out] : numbers) {
      if (index[column] < 0) continue;
      const std::string_view f = field(column);
      const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), *out);
      if (ec != std::errc() || ptr != f.data() + f.size() || !std::isfinite(*out)) {
        fail_at(file_name, line_no,
                std::string(kColumnNames[column]) + ": expected a number, got '" + std::string(f) + "'");
      }
    }
    if (options.adjustment == PriceAdjustment::kScaleToAdjClose && bar.close != 0) {
      const double factor = adj_close / bar.close;
      bar.open *= factor;
      bar.high *= factor;
      bar.low *= factor;
      bar.close = adj_close;
    }
    if (!s.empty() && bar.time <= s.time.back()) {
      fail_at(file_name, line_no,
              "time " + std::string(t) +
                  (bar.time == s.time.back() ? " repeats the previous row" : " is before the previous row") +
                  " (rows must be ascending and unique)");
    }
    s.push_back(bar);
  }
  if (s.empty())
    fail_at(file_name, line_no,
            "no bars (only a header" + std::string(result.skipped_null_rows ? " and null rows)" : ")"));
  s.timeframe = options.timeframe.value_or(date_only.value_or(true) ? Timeframe::k1d : Timeframe::k1h);
  return result;
}

CsvReadResult read_csv(const std::filesystem::path& path, const CsvReadOptions& options) {
  return parse_csv(read_file(path, "CSV file"), path.string(), options);
}

namespace {
void append_number(std::string& out, double v) {
  char buf[64];
  // Shortest text that reads back to the same double: lossless and deterministic.
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  out.append(buf, ptr);
}
}  // namespace

std::string to_csv(const BarSeries& s) {
  const bool daily = s.timeframe == Timeframe::k1d;
  std::string out = daily ? "date,open,high,low,close,adj_close,volume\n" : "timestamp,open,high,low,close,volume\n";
  out.reserve(out.size() + s.size() * 64);
  for (std::size_t i = 0; i < s.size(); ++i) {
    out += daily ? format_day(std::chrono::floor<std::chrono::days>(s.time[i])) : format_instant(s.time[i]);
    for (const double v : {s.open[i], s.high[i], s.low[i], s.close[i]}) {
      out += ',';
      append_number(out, v);
    }
    if (daily) {
      out += ',';
      append_number(out, s.close[i]);
    }
    out += ',';
    append_number(out, s.volume[i]);
    out += '\n';
  }
  return out;
}

void write_csv(const std::filesystem::path& path, const BarSeries& series) {
  write_file_atomic(path, to_csv(series));
}

}  // namespace ploutos::data
