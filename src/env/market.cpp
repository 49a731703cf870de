#include "ploutos/env/market.hpp"

#include <algorithm>
#include <cmath>

#include "ploutos/core/error.hpp"
#include "ploutos/data/panel.hpp"
#include "ploutos/features/engine.hpp"

namespace ploutos::env {

MarketData build_market(const data::Panel& panel, const features::FeatureEngine& engine, double clip) {
  MarketData m;
  m.tickers = panel.tickers;
  m.time = panel.time;
  m.n_tickers = panel.ticker_count();
  m.n_bars = panel.size();
  m.bars_per_session = data::bars_per_session(panel.timeframe);
  const auto matrices = engine.compute(panel);
  m.feature_names = matrices.empty() ? std::vector<std::string>{} : matrices.front().names;
  m.n_features = m.feature_names.size();
  const std::size_t cells = m.n_bars * m.n_tickers;
  for (auto* v : {&m.open, &m.high, &m.low, &m.close, &m.volume, &m.volatility, &m.adv}) v->assign(cells, 0.0);
  m.tradable.assign(cells, 0);
  m.features.assign(cells * m.n_features, 0.0f);
  for (const Instant t : m.time) m.new_york_day.push_back(data::session_day(panel.timeframe, t));
  const auto fclip = static_cast<float>(clip);
  for (std::size_t k = 0; k < m.n_tickers; ++k) {
    double last_close = 0;
    std::vector<double> returns;  // of this ticker's real bars
    std::vector<double> volumes;
    for (std::size_t t = 0; t < m.n_bars; ++t) {
      const std::size_t i = m.at(t, k);
      if (panel.valid[k][t]) {
        m.open[i] = panel.open[k][t];
        m.high[i] = panel.high[k][t];
        m.low[i] = panel.low[k][t];
        m.close[i] = panel.close[k][t];
        m.volume[i] = panel.volume[k][t];
        if (last_close > 0) returns.push_back(m.close[i] / last_close - 1);
        volumes.push_back(m.volume[i]);
        last_close = m.close[i];
      } else {
        // No bar: positions are marked at the last known close; nothing can trade.
        m.open[i] = m.high[i] = m.low[i] = m.close[i] = last_close;
      }
      const std::size_t r = std::min<std::size_t>(20, returns.size());
      if (r >= 2) {
        double mean = 0, var = 0;
        for (std::size_t j = returns.size() - r; j < returns.size(); ++j) mean += returns[j];
        mean /= static_cast<double>(r);
        for (std::size_t j = returns.size() - r; j < returns.size(); ++j)
          var += (returns[j] - mean) * (returns[j] - mean);
        m.volatility[i] = std::sqrt(var / static_cast<double>(r - 1));
      }
      const std::size_t w = std::min<std::size_t>(20, volumes.size());
      if (w > 0) {
        double sum = 0;
        for (std::size_t j = volumes.size() - w; j < volumes.size(); ++j) sum += volumes[j];
        m.adv[i] = sum / static_cast<double>(w);
      }
      m.tradable[i] = panel.valid[k][t] && matrices[k].valid[t] ? 1 : 0;
      float* dst = m.features.data() + i * m.n_features;
      for (std::size_t f = 0; f < m.n_features; ++f) {
        float x = matrices[k].at(t, f);
        if (std::isnan(x)) x = 0.0f;
        dst[f] = std::clamp(x, -fclip, fclip);
      }
    }
  }
  auto all_tradable = [&](std::size_t t) {
    for (std::size_t k = 0; k < m.n_tickers; ++k) {
      if (!m.tradable[m.at(t, k)]) return false;
    }
    return true;
  };
  std::size_t first = 0;
  while (first < m.n_bars && !all_tradable(first)) ++first;
  if (first >= m.n_bars) throw InputError("market: no bar on which every ticker has data and warmed-up features");
  std::size_t last = m.n_bars - 1;
  while (last > first && !all_tradable(last)) --last;
  m.first_bar = first;
  m.last_bar = last;
  return m;
}

}  // namespace ploutos::env
