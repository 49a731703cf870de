// report.html: hand-written SVG so the page is one file that opens anywhere, offline.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/svg.hpp"

namespace ploutos::backtest {
namespace {

using namespace svg;

std::string label(const BacktestResult& r, std::size_t i) {
  return r.daily ? format_day(std::chrono::floor<std::chrono::days>(r.time[i])) : format_instant(r.time[i]);
}

}  // namespace

std::string report_html(const BacktestResult& r) {
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Ploutos backtest</title>"
      "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
      "td,th{padding:4px 10px;border-bottom:1px solid "
      "#ddd;text-align:right}td:first-child,th:first-child{text-align:left}"
      ".warn{color:#b00;font-weight:bold}</style></head><body>";
  const std::string first = label(r, 0), last = label(r, r.time.size() - 1);
  html += "<h1>Backtest " + escape(first) + " .. " + escape(last) + "</h1>";
  html += "<p>" + std::to_string(r.tickers.size()) + " tickers, " + std::to_string(r.time.size()) +
          " bars, after costs. Fills: " +
          (r.optimistic ? "<span class=\"warn\">at the decision bar's close (OPTIMISTIC)</span>" : "next open") +
          ".</p>";
  if (const std::string in_sample = seen_by_model_warning(r.seen); !in_sample.empty()) {
    html += "<p class=\"warn\">" + escape(in_sample) + "</p>";
  }
  // Metrics table.
  html +=
      "<table><tr><th>strategy</th><th>return</th><th>annual</th><th>sharpe</th><th>sortino</th><th>max drawdown</th>"
      "<th>win rate</th><th>trades</th><th>costs</th></tr>";
  auto row = [&](const StrategyResult& s) {
    const auto& m = s.metrics;
    html += "<tr><td>" + escape(s.name) + "</td><td>" + num(100 * m.total_return) + "%</td><td>" +
            num(100 * m.annual_return) + "%</td><td>" + num(m.sharpe) + "</td><td>" + num(m.sortino) + "</td><td>" +
            num(100 * m.max_drawdown) + "%</td><td>" + (m.trades > 0 ? num(100 * m.win_rate, 1) + "%" : "-") +
            "</td><td>" + std::to_string(m.trades) + "</td><td>" + num(s.costs) + "</td></tr>";
  };
  row(r.agent);
  for (const auto& b : r.baselines) row(b);
  html += "</table>";
  // Equity.
  std::vector<Series> equity{{"agent", &r.agent.equity, kColours[0]}};
  for (std::size_t i = 0; i < r.baselines.size(); ++i)
    equity.push_back({r.baselines[i].name, &r.baselines[i].equity, kColours[1 + i % 5]});
  html += "<h2>Equity</h2>" + line_chart("equity (USD)", equity, first, last);
  // Drawdown of the agent.
  std::vector<double> drawdown;
  double peak = 0;
  for (const double e : r.agent.equity) {
    peak = std::max(peak, e);
    drawdown.push_back(peak > 0 ? -100.0 * (1 - e / peak) : 0.0);
  }
  html += "<h2>Drawdown</h2>" +
          line_chart("agent drawdown (%)", {{"agent", &drawdown, kColours[3]}}, first, last, 900, 180);
  // P&L per ticker (closed trades of the agent).
  std::vector<double> pnl(r.tickers.size(), 0.0);
  for (const auto& f : r.agent.fills) {
    if (!f.buy) pnl[f.ticker] += f.pnl;
  }
  const double max_abs = std::max(
      1.0, *std::max_element(pnl.begin(), pnl.end(), [](double a, double b) { return std::abs(a) < std::abs(b); }));
  const double bar_h = 18, chart_w = 900, mid = 450;
  std::string bars = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(chart_w, 0) + "\" height=\"" +
                     num(bar_h * static_cast<double>(r.tickers.size()) + 10, 0) +
                     "\" font-family=\"sans-serif\" font-size=\"11\">";
  for (std::size_t k = 0; k < r.tickers.size(); ++k) {
    const double w = 380 * std::abs(std::abs(pnl[k]) / std::abs(max_abs));
    const double yk = 5 + bar_h * static_cast<double>(k);
    bars += "<text x=\"" + num(mid - 390, 0) + "\" y=\"" + num(yk + 12, 0) + "\">" + escape(r.tickers[k]) + "</text>";
    bars += "<rect x=\"" + num(pnl[k] >= 0 ? mid : mid - w, 1) + "\" y=\"" + num(yk, 0) + "\" width=\"" + num(w, 1) +
            "\" height=\"" + num(bar_h - 4, 0) + "\" fill=\"" + (pnl[k] >= 0 ? "#2ca02c" : "#d62728") + "\"/>";
    bars += "<text x=\"" + num(mid + 390, 0) + "\" y=\"" + num(yk + 12, 0) + "\" text-anchor=\"end\">" + num(pnl[k]) +
            "</text>";
  }
  bars += "<line x1=\"" + num(mid, 0) + "\" y1=\"0\" x2=\"" + num(mid, 0) + "\" y2=\"" +
          num(bar_h * static_cast<double>(r.tickers.size()) + 10, 0) + "\" stroke=\"#999\"/></svg>";
  html += "<h2>Realised P&amp;L per ticker (USD)</h2>" + bars;
  // Prices with the agent's buys (green) and sells (red).
  html += "<h2>Prices and trades</h2>";
  for (std::size_t k = 0; k < r.tickers.size(); ++k) {
    const auto& c = r.close[k];
    if (c.empty()) continue;
    const double lo = *std::min_element(c.begin(), c.end()),
                 hi = std::max(*std::max_element(c.begin(), c.end()), lo + 1e-9);
    const double width = 900, height = 200, left = 70, right = 20, top = 30, bottom = 30;
    std::string marks;
    for (const auto& f : r.agent.fills) {
      if (f.ticker != k || f.bar < r.first_bar) continue;
      const double i = static_cast<double>(f.bar - r.first_bar);
      const double px = left + (width - left - right) * (c.size() > 1 ? i / static_cast<double>(c.size() - 1) : 0.0);
      const double py = top + (height - top - bottom) * (1 - (std::clamp(f.price, lo, hi) - lo) / (hi - lo));
      marks += f.buy ? "<path d=\"M" + num(px, 1) + "," + num(py - 7, 1) + " l-5,9 l10,0 z\" fill=\"#2ca02c\"/>"
                     : "<path d=\"M" + num(px, 1) + "," + num(py + 7, 1) + " l-5,-9 l10,0 z\" fill=\"#d62728\"/>";
    }
    html += line_chart(r.tickers[k] + " close (buys green, sells red)", {{r.tickers[k], &c, kColours[0]}}, first, last,
                       width, height, marks);
  }
  html +=
      "<p>Generated by ploutos backtest. Files beside this page: summary.json, equity.csv, "
      "trades.csv.</p></body></html>\n";
  return html;
}

}  // namespace ploutos::backtest
