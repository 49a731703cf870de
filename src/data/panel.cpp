#include "ploutos/data/panel.hpp"

#include <algorithm>
#include <limits>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/error.hpp"

namespace ploutos::data {

std::size_t Panel::ticker_index(const std::string& ticker) const {
  const auto it = std::find(tickers.begin(), tickers.end(), ticker);
  if (it == tickers.end()) throw InputError("ticker " + ticker + " is not in the panel");
  return static_cast<std::size_t>(it - tickers.begin());
}

Panel build_panel(const std::vector<BarSeries>& series, const PanelOptions& options) {
  Panel p;
  if (series.empty()) return p;
  p.timeframe = series.front().timeframe;
  for (const auto& s : series) {
    if (s.timeframe != p.timeframe) {
      throw InputError("panel mixes timeframes: " + s.ticker + " is " + std::string(to_string(s.timeframe)) + ", " +
                       series.front().ticker + " is " + std::string(to_string(p.timeframe)));
    }
    if (std::find(p.tickers.begin(), p.tickers.end(), s.ticker) != p.tickers.end()) {
      throw InputError("panel has ticker " + s.ticker + " twice");
    }
    p.tickers.push_back(s.ticker);
  }
  if (p.timeframe == Timeframe::k1d) {
    Instant first = Instant::max(), last = Instant::min();
    for (const auto& s : series) {
      if (s.empty()) continue;
      first = std::min(first, s.time.front());
      last = std::max(last, s.time.back());
    }
    if (first <= last) {
      for (const Day d : calendar::nyse().sessions_between(std::chrono::floor<std::chrono::days>(first),
                                                           std::chrono::floor<std::chrono::days>(last))) {
        p.time.emplace_back(d);
      }
    }
  } else {
    for (const auto& s : series) p.time.insert(p.time.end(), s.time.begin(), s.time.end());
    std::sort(p.time.begin(), p.time.end());
    p.time.erase(std::unique(p.time.begin(), p.time.end()), p.time.end());
  }

  const std::size_t n = p.time.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& s : series) {
    for (auto* column : {&p.open, &p.high, &p.low, &p.close, &p.volume}) column->emplace_back(n, nan);
    p.valid.emplace_back(n, 0);
    p.filled.emplace_back(n, 0);
    const std::size_t k = p.valid.size() - 1;
    std::size_t j = 0;  // merge walk: both sequences are sorted
    for (std::size_t t = 0; t < n; ++t) {
      while (j < s.size() && s.time[j] < p.time[t]) ++j;  // bars off the grid (non-sessions) are skipped
      if (j < s.size() && s.time[j] == p.time[t]) {
        p.open[k][t] = s.open[j];
        p.high[k][t] = s.high[j];
        p.low[k][t] = s.low[j];
        p.close[k][t] = s.close[j];
        p.volume[k][t] = s.volume[j];
        p.valid[k][t] = 1;
      } else if (options.forward_fill && t > 0 && (p.valid[k][t - 1] || p.filled[k][t - 1])) {
        const double prev = p.close[k][t - 1];
        p.open[k][t] = p.high[k][t] = p.low[k][t] = p.close[k][t] = prev;
        p.volume[k][t] = 0;
        p.filled[k][t] = 1;
      }
    }
  }
  return p;
}

}  // namespace ploutos::data
