#pragma once
// Several tickers aligned on one time grid. Daily: every NYSE session from the earliest first bar to
// the latest last bar. Intraday: every bar time seen in any ticker (within regular sessions). A ticker
// that has not started trading yet, or lacks a bar, is masked (valid = 0, prices NaN): nothing is ever
// filled from a later bar. Forward-fill from an earlier bar is available only on request and marks
// the filled cells (filled = 1).
#include <cstdint>
#include <string>
#include <vector>

#include "ploutos/data/bar.hpp"

namespace ploutos::data {

struct PanelOptions {
  bool forward_fill = false;  // fill a missing bar from the previous bar's close (volume 0), marked as filled
};

struct Panel {
  Timeframe timeframe = Timeframe::k1d;
  std::vector<Instant> time;         // the grid, ascending
  std::vector<std::string> tickers;  // column order
  // Per ticker, aligned on `time`: [ticker][t].
  std::vector<std::vector<double>> open, high, low, close, volume;
  std::vector<std::vector<std::uint8_t>> valid;   // 1 where the ticker has a real bar at time t
  std::vector<std::vector<std::uint8_t>> filled;  // 1 where a value was forward-filled (only with forward_fill)

  std::size_t size() const { return time.size(); }
  std::size_t ticker_count() const { return tickers.size(); }
  std::size_t ticker_index(const std::string& ticker) const;  // throws InputError if absent
};

// All series must share one timeframe; throws InputError otherwise (or on duplicate tickers).
Panel build_panel(const std::vector<BarSeries>& series, const PanelOptions& options = {});

}  // namespace ploutos::data
