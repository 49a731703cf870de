#pragma once
// Inline SVG pieces shared by the HTML reports (backtest, walk-forward, diagnose, journal): no scripts, nothing
// fetched.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace ploutos::svg {

inline constexpr const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"};

inline std::string escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

inline std::string num(double v, int precision = 2) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

struct Series {
  std::string name;
  const std::vector<double>* values;
  const char* colour;
};

// A line chart of several series over the same x (bar index), with min/max labels and a legend.
inline std::string line_chart(const std::string& title, const std::vector<Series>& series,
                              const std::string& first_label, const std::string& last_label, double width = 900,
                              double height = 260, const std::string& extra = "") {
  double lo = INFINITY, hi = -INFINITY;
  std::size_t n = 0;
  for (const auto& s : series) {
    for (const double v : *s.values) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    n = std::max(n, s.values->size());
  }
  if (!(hi > lo)) hi = lo + 1;
  const double left = 70, right = 20, top = 30, bottom = 30;
  auto x = [&](double i) { return left + (width - left - right) * (n > 1 ? i / static_cast<double>(n - 1) : 0.0); };
  auto y = [&](double v) { return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo)); };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width, 0) + "\" height=\"" +
                    num(height, 0) + "\" font-family=\"sans-serif\" font-size=\"11\">";
  svg += "<text x=\"" + num(left, 0) + "\" y=\"16\" font-size=\"13\" font-weight=\"bold\">" + escape(title) + "</text>";
  svg += "<rect x=\"" + num(left, 0) + "\" y=\"" + num(top, 0) + "\" width=\"" + num(width - left - right, 0) +
         "\" height=\"" + num(height - top - bottom, 0) + "\" fill=\"none\" stroke=\"#ccc\"/>";
  svg += "<text x=\"4\" y=\"" + num(top + 10, 0) + "\">" + num(hi) + "</text>";
  svg += "<text x=\"4\" y=\"" + num(height - bottom, 0) + "\">" + num(lo) + "</text>";
  svg += "<text x=\"" + num(left, 0) + "\" y=\"" + num(height - 10, 0) + "\">" + escape(first_label) + "</text>";
  svg += "<text x=\"" + num(width - right, 0) + "\" y=\"" + num(height - 10, 0) + "\" text-anchor=\"end\">" +
         escape(last_label) + "</text>";
  // The legend sits after the title (about 7 px a character at 13 px bold).
  double legend_x = left + 7.5 * static_cast<double>(title.size()) + 30;
  for (const auto& s : series) {
    std::string points;
    for (std::size_t i = 0; i < s.values->size(); ++i)
      points += num(x(static_cast<double>(i)), 1) + "," + num(y((*s.values)[i]), 1) + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(s.colour) + "\" stroke-width=\"1.5\" points=\"" + points +
           "\"/>";
    if (series.size() > 1) {  // one series: the title names it
      svg += "<text x=\"" + num(legend_x, 0) + "\" y=\"16\" fill=\"" + s.colour + "\">" + escape(s.name) + "</text>";
      legend_x += 9.0 * static_cast<double>(s.name.size()) + 20;
    }
  }
  svg += extra;  // marks the caller placed in the same coordinates (trades on the price charts)
  svg += "</svg>";
  return svg;
}

}  // namespace ploutos::svg
