#include "ploutos/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/text.hpp"
#include "ploutos/core/time.hpp"

namespace ploutos::config {

namespace check {

std::string tickers_valid(const std::vector<std::string>& tickers) {
  if (tickers.empty()) return "expected a non-empty list of tickers";
  for (const auto& t : tickers) {
    const bool ok = !t.empty() && t.size() <= 12 && std::all_of(t.begin(), t.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
             c == '-';
    });
    if (!ok) return "expected upper-case ticker symbols, got '" + t + "'";
  }
  for (std::size_t i = 0; i < tickers.size(); ++i) {
    if (std::find(tickers.begin(), tickers.begin() + static_cast<std::ptrdiff_t>(i), tickers[i]) !=
        tickers.begin() + static_cast<std::ptrdiff_t>(i)) {
      return "expected each ticker once, '" + tickers[i] + "' appears twice";
    }
  }
  return "";
}

std::string optional_date(const std::string& text) {
  if (text.empty()) return "";
  try {
    parse_day(text);
    return "";
  } catch (const InputError&) {
    return "expected a date YYYY-MM-DD or empty, got '" + text + "'";
  }
}

std::string period(const std::string& text) {
  const bool ok =
      text.size() >= 2 &&
      std::all_of(text.begin(), text.end() - 1, [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
      std::string_view("dwmy").find(text.back()) != std::string_view::npos && text.front() != '0';
  return ok ? "" : "expected a look-back like 90d, 12w, 6m or 5y, got '" + text + "'";
}

}  // namespace check

namespace {

template <class T>
constexpr bool is_section_v = std::is_base_of_v<Section, T>;
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

[[noreturn]] void fail(const std::string& file, int line, const std::string& path, const std::string& what) {
  throw ConfigError(file + ":" + std::to_string(line) + ": " + path + ": " + what);
}

int line_of(const YAML::Node& node) {
  return node.Mark().line + 1;
}

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return node.size() == 0 ? "[]"
                              : "a list of " + std::to_string(node.size()) + (node.size() == 1 ? " item" : " items");
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "'" + node.Scalar() + "'";
  }
}

// Reads one mapping node into a section, field by field, and rejects keys no field claims. A bad
// field keeps its default and its problem is collected, so one run names every problem of a file.
class YamlReader {
 public:
  YamlReader(const std::string& file, const YAML::Node& map, std::string prefix, std::vector<std::string>& problems)
      : file_(file), prefix_(std::move(prefix)), problems_(problems) {
    if (!map.IsDefined() || map.IsNull()) return;
    if (!map.IsMap())
      fail(file_, line_of(map), prefix_.empty() ? "(top level)" : prefix_.substr(0, prefix_.size() - 1),
           "expected a mapping of keys, got " + describe_node(map));
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (entries_.count(key) != 0) fail(file_, line_of(it->first), prefix_ + key, "duplicate key");
      entries_.emplace(key, Entry{it->first, it->second});
    }
  }

  template <class T, class... Checks>
  void operator()(const char* name, T& member, const char* /*help*/, Checks&&... checks) {
    known_.emplace_back(name);
    const auto it = entries_.find(name);
    if (it == entries_.end()) return;  // missing keys keep their defaults
    const std::string path = prefix_ + name;
    const YAML::Node& value = it->second.value;
    try {
      if constexpr (is_section_v<T>) {
        YamlReader child(file_, value, path + ".", problems_);
        member.describe(child);
        child.finish();
      } else {
        T read_value = member;
        read(value, path, read_value);
        if constexpr (is_optional<T>::value) {
          if (read_value) (apply(*read_value, value, path, checks), ...);
        } else {
          (apply(read_value, value, path, checks), ...);
        }
        member = std::move(read_value);
      }
    } catch (const ConfigError& e) {
      problems_.push_back(e.what());
    }
  }

  void finish() const {
    for (const auto& [key, entry] : entries_) {
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      const std::string best = nearest(key, known_, 2);
      std::string expected = "unknown key";
      if (!best.empty()) expected += " (did you mean '" + best + "'?)";
      expected += "; expected one of: ";
      for (std::size_t i = 0; i < known_.size(); ++i) expected += (i ? ", " : "") + known_[i];
      problems_.push_back(file_ + ":" + std::to_string(line_of(entry.key)) + ": " + prefix_ + key + ": " + expected);
    }
  }

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };

  template <class T, class Check>
  void apply(const T& member, const YAML::Node& value, const std::string& path, Check& check) {
    const std::string problem = check(member);
    if (problem.empty()) return;
    // Checks that name the offending element already say what they got.
    fail(file_, line_of(value), path,
         problem.find(", got ") != std::string::npos ? problem : problem + ", got " + describe_node(value));
  }

  [[noreturn]] void wrong(const YAML::Node& node, const std::string& path, const std::string& expected) const {
    fail(file_, line_of(node), path, "expected " + expected + ", got " + describe_node(node));
  }

  const std::string& scalar(const YAML::Node& node, const std::string& path, const char* expected) const {
    if (!node.IsScalar()) wrong(node, path, expected);
    return node.Scalar();
  }

  void read(const YAML::Node& node, const std::string& path, bool& out) const {
    const std::string& s = scalar(node, path, "true or false");
    if (s == "true" || s == "True" || s == "yes" || s == "on") {
      out = true;
    } else if (s == "false" || s == "False" || s == "no" || s == "off") {
      out = false;
    } else {
      wrong(node, path, "true or false");
    }
  }

  template <class Int>
  requires std::is_integral_v<Int>
  void read(const YAML::Node& node, const std::string& path, Int& out) const {
    const std::string& s = scalar(node, path, "an integer");
    const char* first = s.data();
    const char* last = s.data() + s.size();
    if (auto [p, ec] = std::from_chars(first, last, out); ec == std::errc() && p == last) return;
    // 1.5e7 and 2e6 are fine when they are whole numbers within range.
    double d = 0;
    if (auto [p, ec] = std::from_chars(first, last, d); ec == std::errc() && p == last && std::isfinite(d) &&
                                                        d == std::floor(d) &&
                                                        d >= static_cast<double>(std::numeric_limits<Int>::min()) &&
                                                        d <= static_cast<double>(std::numeric_limits<Int>::max())) {
      out = static_cast<Int>(d);
      return;
    }
    wrong(node, path, std::is_unsigned_v<Int> ? "a non-negative integer" : "an integer");
  }

  void read(const YAML::Node& node, const std::string& path, double& out) const {
    const std::string& s = scalar(node, path, "a number");
    const char* last = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), last, out);
    if (ec != std::errc() || p != last || !std::isfinite(out)) wrong(node, path, "a number");
  }

  void read(const YAML::Node& node, const std::string& path, std::string& out) const {
    if (node.IsNull()) {
      out.clear();
      return;
    }
    out = scalar(node, path, "a string");
  }

  template <class T>
  void read(const YAML::Node& node, const std::string& path, std::optional<T>& out) const {
    if (node.IsNull()) {
      out.reset();
      return;
    }
    T value{};
    read(node, path, value);
    out = value;
  }

  template <class T>
  void read(const YAML::Node& node, const std::string& path, std::vector<T>& out) const {
    if (!node.IsSequence()) wrong(node, path, "a list");
    out.clear();
    for (std::size_t i = 0; i < node.size(); ++i) {
      T value{};
      read(node[i], path + "[" + std::to_string(i) + "]", value);
      out.push_back(std::move(value));
    }
  }

  void read(const YAML::Node& node, const std::string& path, NetArch& out) const {
    if (node.IsSequence()) {
      read(node, path, out.pi);
      out.vf = out.pi;
      return;
    }
    if (!node.IsMap()) wrong(node, path, "a list of layer sizes or {pi: [...], vf: [...]}");
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "pi") {
        read(it->second, path + ".pi", out.pi);
      } else if (key == "vf") {
        read(it->second, path + ".vf", out.vf);
      } else {
        fail(file_, line_of(it->first), path + "." + key, "unknown key; expected pi or vf");
      }
    }
  }

  const std::string& file_;
  std::string prefix_;
  std::vector<std::string>& problems_;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> known_;
};

// Runs the field checks over a config built in code.
class CheckRunner {
 public:
  explicit CheckRunner(std::vector<std::string>& errors, std::string prefix = "")
      : errors_(errors), prefix_(std::move(prefix)) {}

  template <class T, class... Checks>
  void operator()(const char* name, T& member, const char* /*help*/, Checks&&... checks) {
    const std::string path = prefix_ + name;
    if constexpr (is_section_v<T>) {
      CheckRunner child(errors_, path + ".");
      member.describe(child);
    } else if constexpr (is_optional<T>::value) {
      if (member) (run(*member, path, checks), ...);
    } else {
      (run(member, path, checks), ...);
    }
  }

 private:
  template <class T, class Check>
  void run(const T& value, const std::string& path, Check& check) {
    const std::string problem = check(value);
    if (!problem.empty()) errors_.push_back(path + ": " + problem);
  }
  std::vector<std::string>& errors_;
  std::string prefix_;
};

class YamlWriter {
 public:
  YamlWriter(YAML::Emitter& out, bool comments) : out_(out), comments_(comments) {}

  template <class T, class... Checks>
  void operator()(const char* name, T& member, const char* help, Checks&&...) {
    const bool comment = comments_ && help != nullptr && *help != '\0';
    out_ << YAML::Key << name << YAML::Value;
    if constexpr (is_section_v<T>) {
      if (comment) out_ << YAML::Comment(help);
      out_ << YAML::BeginMap;
      member.describe(*this);
      out_ << YAML::EndMap;
    } else {
      write(member);
      if (comment) out_ << YAML::Comment(help);
    }
  }

 private:
  void write(bool v) { out_ << (v ? "true" : "false"); }
  void write(double v) {
    // Shortest text that reads back to the same double.
    char buf[64];
    const double magnitude = std::abs(v);
    const bool fixed = magnitude == 0 || (magnitude >= 1e-9 && magnitude < 1e15);
    auto [p, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, v);
    std::string text(buf, p);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    out_ << text;
  }
  template <class Int>
  requires std::is_integral_v<Int>
  void write(Int v) { out_ << std::to_string(v); }
  void write(const std::string& v) { out_ << YAML::DoubleQuoted << v; }
  template <class T>
  void write(const std::optional<T>& v) {
    if (v) {
      write(*v);
    } else {
      out_ << YAML::Null;
    }
  }
  template <class T>
  void write(const std::vector<T>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const auto& x : v) write(x);
    out_ << YAML::EndSeq;
  }
  void write(const NetArch& a) {
    if (a.pi == a.vf) {
      write(a.pi);
      return;
    }
    out_ << YAML::BeginMap << YAML::Key << "pi" << YAML::Value;
    write(a.pi);
    out_ << YAML::Key << "vf" << YAML::Value;
    write(a.vf);
    out_ << YAML::EndMap;
  }

  YAML::Emitter& out_;
  bool comments_;
};

class JsonWriter {
 public:
  explicit JsonWriter(nlohmann::ordered_json& out) : out_(out) {}

  template <class T, class... Checks>
  void operator()(const char* name, T& member, const char* /*help*/, Checks&&...) {
    if constexpr (is_section_v<T>) {
      nlohmann::ordered_json child = nlohmann::ordered_json::object();
      JsonWriter writer(child);
      member.describe(writer);
      out_[name] = std::move(child);
    } else if constexpr (std::is_same_v<T, NetArch>) {
      out_[name] = {{"pi", member.pi}, {"vf", member.vf}};
    } else if constexpr (is_optional<T>::value) {
      out_[name] = member ? nlohmann::ordered_json(*member) : nlohmann::ordered_json(nullptr);
    } else {
      out_[name] = member;
    }
  }

 private:
  nlohmann::ordered_json& out_;
};

// Where each key path was written in the file, for cross-field errors.
void collect_lines(const YAML::Node& node, const std::string& prefix, std::map<std::string, int>& lines) {
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string path = prefix + it->first.Scalar();
    lines[path] = line_of(it->first);
    collect_lines(it->second, path + ".", lines);
  }
}

}  // namespace

std::vector<std::string> cross_field_errors(const Config& c) {
  std::vector<std::string> errors;
  const long long rollout = static_cast<long long>(c.ppo.n_steps) * c.training.n_envs;
  if (c.ppo.batch_size > rollout) {
    errors.push_back("ppo.batch_size: expected at most ppo.n_steps x training.n_envs = " + std::to_string(rollout) +
                     ", got " + std::to_string(c.ppo.batch_size));
  }
  if (c.ppo.net_arch.pi.empty() != c.ppo.net_arch.vf.empty()) {
    errors.push_back("ppo.net_arch: expected both pi and vf, or neither (a linear policy)");
  }
  if (!c.data.start.empty() && !c.data.end.empty() && parse_day(c.data.start) > parse_day(c.data.end)) {
    errors.push_back("data.end: expected a day on or after data.start (" + c.data.start + ")");
  }
  for (const auto& t : c.data.tickers) {
    const auto& universe = c.data.synthetic_universe;
    if (!universe.empty() && std::find(universe.begin(), universe.end(), t) == universe.end()) {
      errors.push_back("data.synthetic_universe: expected every ticker of data.tickers, " + t + " is missing");
      break;
    }
  }
  if (c.risk.stop_loss_pct > 0 && c.risk.take_profit_pct > 0 && c.risk.take_profit_pct < c.risk.stop_loss_pct / 10) {
    errors.push_back("risk.take_profit_pct: expected at least a tenth of risk.stop_loss_pct");
  }
  return errors;
}

Config load_config_text(std::string_view yaml, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError(file_name + ":" + std::to_string(e.mark.line + 1) + ": (yaml): " + e.msg);
  }
  Config config;
  std::vector<std::string> problems;
  YamlReader reader(file_name, root, "", problems);
  config.describe(reader);
  reader.finish();
  if (!problems.empty()) {
    // In the file's order: "file:LINE: ...".
    const auto line = [&](const std::string& p) { return std::atoi(p.c_str() + file_name.size() + 1); };
    std::stable_sort(problems.begin(), problems.end(),
                     [&](const std::string& a, const std::string& b) { return line(a) < line(b); });
    throw ConfigError(problems);
  }
  // Relations between fields are judged once every field has read well.
  const auto errors = cross_field_errors(config);
  if (!errors.empty()) {
    std::map<std::string, int> lines;
    collect_lines(root, "", lines);
    for (const auto& e : errors) {
      const auto it = lines.find(e.substr(0, e.find(':')));
      problems.push_back(file_name + ":" + std::to_string(it != lines.end() ? it->second : 1) + ": " + e);
    }
    throw ConfigError(problems);
  }
  return config;
}

Config load_config_file(const std::filesystem::path& path) {
  return load_config_text(read_file(path, "config file"), path.string());
}

void validate(const Config& config, const std::string& origin) {
  std::vector<std::string> errors;
  CheckRunner runner(errors);
  // describe() is shared with the reader, hence non-const; these visitors only read.
  const_cast<Config&>(config).describe(runner);
  const auto cross = cross_field_errors(config);
  errors.insert(errors.end(), cross.begin(), cross.end());
  for (auto& e : errors) e = origin + ": " + e;
  if (!errors.empty()) throw ConfigError(errors);
}

std::string to_yaml(const Config& config, bool comments) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  YamlWriter writer(out, comments);
  const_cast<Config&>(config).describe(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string to_json(const Config& config, int indent) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  JsonWriter writer(root);
  const_cast<Config&>(config).describe(writer);
  return json_text(root, indent);
}

}  // namespace ploutos::config
