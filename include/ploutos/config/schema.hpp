#pragma once
// The vocabulary the config structs use to describe themselves. Each section lists its fields once,
// in `describe(visitor)`: name, member, one-line help and checks. Loading (with file:line errors),
// validation, and the YAML/JSON dumps are visitors over that single description.
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ploutos::config {

// Base of every config section; the visitors recurse into anything derived from it.
struct Section {};

// SB3's net_arch: a plain list means separate actor and critic networks of that shape;
// {pi: [...], vf: [...]} gives each its own.
struct NetArch {
  std::vector<int> pi;
  std::vector<int> vf;
  bool operator==(const NetArch&) const = default;
};

// Checks return an empty string when the value is fine, else what was expected.
namespace check {

inline auto positive() {
  return [](const auto& v) -> std::string { return v > 0 ? "" : "expected a value > 0"; };
}
inline auto non_negative() {
  return [](const auto& v) -> std::string { return v >= 0 ? "" : "expected a value >= 0"; };
}
inline auto at_least(double lo) {
  return [lo](const auto& v) -> std::string {
    return static_cast<double>(v) >= lo ? "" : "expected a value >= " + std::to_string(static_cast<long long>(lo));
  };
}
// lo < v < hi
inline auto open_interval(double lo, double hi, const char* text) {
  return [=](const double& v) -> std::string {
    return v > lo && v < hi ? "" : std::string("expected a value in ") + text;
  };
}
// lo <= v <= hi
inline auto closed_interval(double lo, double hi, const char* text) {
  return [=](const double& v) -> std::string {
    return v >= lo && v <= hi ? "" : std::string("expected a value in ") + text;
  };
}
// lo < v <= hi
inline auto half_open(double lo, double hi, const char* text) {
  return [=](const double& v) -> std::string {
    return v > lo && v <= hi ? "" : std::string("expected a value in ") + text;
  };
}
inline auto one_of(std::initializer_list<const char*> allowed) {
  std::vector<std::string> choices(allowed.begin(), allowed.end());
  return [choices](const std::string& v) -> std::string {
    std::string list;
    for (const auto& c : choices) {
      if (v == c) return "";
      list += (list.empty() ? "" : ", ") + c;
    }
    return "expected one of: " + list;
  };
}
inline auto not_empty() {
  return [](const auto& v) -> std::string { return v.empty() ? "expected a non-empty value" : ""; };
}
inline auto net_arch_valid() {
  return [](const NetArch& a) -> std::string {
    for (const auto* layers : {&a.pi, &a.vf}) {
      for (int x : *layers) {
        if (x > 0) continue;
        std::string shown;
        for (int y : *layers) shown += (shown.empty() ? "" : ", ") + std::to_string(y);
        const std::string which = a.pi == a.vf ? "" : layers == &a.pi ? "pi " : "vf ";
        return "expected positive layer sizes, got " + which + "[" + shown + "]";
      }
    }
    return "";
  };
}
// Tickers: non-empty list of upper-case symbols (letters, digits, '.', '-').
std::string tickers_valid(const std::vector<std::string>& tickers);
// Empty, or YYYY-MM-DD.
std::string optional_date(const std::string& text);
// A look-back like 90d, 6m, 5y.
std::string period(const std::string& text);

}  // namespace check
}  // namespace ploutos::config
