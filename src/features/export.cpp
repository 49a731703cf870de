#include "ploutos/features/export.hpp"

#include <charconv>

namespace ploutos::features {

std::string to_csv(const std::vector<FeatureMatrix>& matrices, bool daily) {
  std::string out = std::string("ticker,") + (daily ? "date" : "timestamp") + ",valid";
  if (!matrices.empty()) {
    for (const auto& name : matrices.front().names) out += "," + name;
  }
  out += '\n';
  char buf[32];
  for (const auto& m : matrices) {
    for (std::size_t t = 0; t < m.rows(); ++t) {
      out += m.ticker;
      out += ',';
      out += daily ? format_day(std::chrono::floor<std::chrono::days>(m.time[t])) : format_instant(m.time[t]);
      out += m.valid[t] ? ",1" : ",0";
      for (std::size_t c = 0; c < m.cols(); ++c) {
        const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, m.at(t, c));
        out += ',';
        out.append(buf, ptr);
      }
      out += '\n';
    }
  }
  return out;
}

std::string to_markdown(const std::vector<FeatureInfo>& features) {
  std::string out = "| # | name | definition |\n|---|---|---|\n";
  for (std::size_t i = 0; i < features.size(); ++i) {
    out += "| " + std::to_string(i + 1) + " | `" + features[i].name + "` | " + features[i].description + " |\n";
  }
  return out;
}

}  // namespace ploutos::features
