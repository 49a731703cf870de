#include "ploutos/core/secrets.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "ploutos/core/error.hpp"

extern char** environ;

namespace ploutos {
namespace {

std::mutex g_mutex;
std::vector<std::string> g_secrets;  // longest first, so a secret containing another is hidden whole

constexpr std::string_view kMask = "***";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Replaces the value after `name=` (URL query) or `name: ` (header) up to a delimiter.
void redact_labelled_values(std::string& text) {
  static constexpr std::array<std::string_view, 10> kLabels = {"apikey",       "api_key",         "apiKey",
                                                               "token",        "secret",          "password",
                                                               "access_token", "APCA-API-KEY-ID", "APCA-API-SECRET-KEY",
                                                               "Authorization"};
  const std::string lowered = [&] {
    std::string l = text;
    for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return l;
  }();
  // Work back to front so earlier offsets stay valid.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (const auto label : kLabels) {
    std::string needle(label);
    for (auto& c : needle) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::size_t pos = lowered.find(needle); pos != std::string::npos; pos = lowered.find(needle, pos + 1)) {
      std::size_t v = pos + needle.size();
      if (v < text.size() && (text[v] == '=' || text[v] == ':')) {
        ++v;
        while (v < text.size() && text[v] == ' ') ++v;
        if (lowered.compare(v, 7, "bearer ") == 0 || lowered.compare(v, 6, "basic ") == 0) {
          v = text.find(' ', v) + 1;
        }
        std::size_t end = v;
        while (end < text.size() && text[end] != '&' && text[end] != ' ' && text[end] != '"' && text[end] != '\'' &&
               text[end] != ',' && text[end] != '\n' && text[end] != ';') {
          ++end;
        }
        if (end > v) spans.emplace_back(v, end);
      }
    }
  }
  std::sort(spans.begin(), spans.end(), [](auto a, auto b) { return a.first > b.first; });
  std::size_t limit = std::string::npos;
  for (const auto& [begin, end] : spans) {
    if (end > limit) continue;  // overlapping span already replaced
    text.replace(begin, end - begin, kMask);
    limit = begin;
  }
}

}  // namespace

bool is_secret_name(std::string_view name) {
  const std::string n = upper(name);
  for (const std::string_view suffix : {"_KEY", "_SECRET", "_TOKEN", "_PASSWORD", "_USERNAME", "_KEY_ID"}) {
    if (ends_with(n, suffix)) return true;
  }
  return false;
}

void register_secret(std::string_view value) {
  if (value.size() < 4) return;
  std::lock_guard lock(g_mutex);
  if (std::find(g_secrets.begin(), g_secrets.end(), value) != g_secrets.end()) return;
  g_secrets.emplace_back(value);
  std::sort(g_secrets.begin(), g_secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

void register_secrets_from_environment() {
  for (char** env = environ; env != nullptr && *env != nullptr; ++env) {
    const std::string_view entry(*env);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    if (is_secret_name(entry.substr(0, eq))) register_secret(entry.substr(eq + 1));
  }
}

void clear_registered_secrets() {
  std::lock_guard lock(g_mutex);
  g_secrets.clear();
}

std::string redact(std::string_view text) {
  std::string out(text);
  {
    std::lock_guard lock(g_mutex);
    for (const auto& secret : g_secrets) {
      for (std::size_t pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + kMask.size())) {
        out.replace(pos, secret.size(), kMask);
      }
    }
  }
  redact_labelled_values(out);
  return out;
}

std::vector<EnvFileEntry> parse_env_text(std::string_view text, std::string_view file_name) {
  std::vector<EnvFileEntry> entries;
  int line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto trim_left = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      return s;
    };
    auto trim_right = [](std::string_view s) {
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
      return s;
    };
    line = trim_left(line);
    if (line.empty() || line.front() == '#') {
      if (end == text.size()) break;
      continue;
    }
    auto fail = [&](const std::string& what) {
      throw InputError(std::string(file_name) + ":" + std::to_string(line_no) + ": " + what);
    };
    if (line.substr(0, 7) == "export ") line = trim_left(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) fail("expected KEY=VALUE");
    const std::string_view key = trim_right(line.substr(0, eq));
    if (key.empty() || std::isdigit(static_cast<unsigned char>(key.front())) ||
        !std::all_of(key.begin(), key.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
      fail("invalid variable name '" + std::string(key) + "' (expected letters, digits and _)");
    }
    std::string_view raw = trim_left(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char quote = raw.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < raw.size()) {
          const char n = raw[++i];
          value += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
        } else {
          value += c;
        }
      }
      if (!closed) fail(std::string("unterminated ") + quote + " quote");
      const std::string_view rest = trim_left(raw.substr(i + 1));
      if (!rest.empty() && rest.front() != '#') fail("unexpected text after closing quote");
    } else {
      const auto hash = raw.find(" #");
      value = std::string(trim_right(hash == std::string_view::npos ? raw : raw.substr(0, hash)));
    }
    entries.push_back({std::string(key), std::move(value), line_no});
    if (end == text.size()) break;
  }
  return entries;
}

EnvFileResult load_env_file(const std::string& path) {
  EnvFileResult result;
  std::ifstream in(path, std::ios::binary);
  if (!in) return result;
  std::stringstream buffer;
  buffer << in.rdbuf();
  for (const auto& entry : parse_env_text(buffer.str(), path)) {
    if (std::getenv(entry.key.c_str()) != nullptr) {
      result.skipped.push_back(entry.key);
      continue;
    }
    ::setenv(entry.key.c_str(), entry.value.c_str(), 0);
    result.set.push_back(entry.key);
    if (is_secret_name(entry.key)) register_secret(entry.value);
  }
  return result;
}

}  // namespace ploutos
