#pragma once
// Hand-built markets for environment tests: every field of MarketData set explicitly.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "ploutos/core/rng.hpp"
#include "ploutos/env/market.hpp"

namespace ploutos::test {

// n_tickers tickers, n_bars daily bars from 2020-01-02 (consecutive days; the env only needs their
// order), every price `price`, volume 1e6, features all zero except feature 0 = bar index / 1000.
inline env::MarketData flat_market(std::size_t n_tickers, std::size_t n_bars, double price = 100.0,
                                   std::size_t n_features = 3) {
  env::MarketData m;
  m.n_tickers = n_tickers;
  m.n_bars = n_bars;
  m.n_features = n_features;
  // (append, not operator+: GCC 12 warns falsely about `"T" + std::string`)
  for (std::size_t k = 0; k < n_tickers; ++k) m.tickers.push_back(std::string(1, 'T').append(std::to_string(k)));
  for (std::size_t f = 0; f < n_features; ++f) m.feature_names.push_back(std::string(1, 'f').append(std::to_string(f)));
  const Day first = Day{std::chrono::year{2020} / 1 / 2};
  for (std::size_t t = 0; t < n_bars; ++t) {
    m.time.emplace_back(first + std::chrono::days{static_cast<int>(t)});
    m.new_york_day.push_back(first + std::chrono::days{static_cast<int>(t)});
  }
  const std::size_t cells = n_bars * n_tickers;
  for (auto* v : {&m.open, &m.high, &m.low, &m.close}) v->assign(cells, price);
  m.volume.assign(cells, 1e6);
  m.volatility.assign(cells, 0.01);
  m.adv.assign(cells, 1e6);
  m.tradable.assign(cells, 1);
  m.features.assign(cells * n_features, 0.0f);
  for (std::size_t t = 0; t < n_bars; ++t) {
    for (std::size_t k = 0; k < n_tickers; ++k)
      m.features[(t * n_tickers + k) * n_features] = static_cast<float>(t) / 1000.0f;
  }
  m.first_bar = 0;
  m.last_bar = n_bars - 1;
  return m;
}

inline void set_bar(env::MarketData& m, std::size_t bar, std::size_t k, double o, double h, double l, double c) {
  const std::size_t i = m.at(bar, k);
  m.open[i] = o;
  m.high[i] = h;
  m.low[i] = l;
  m.close[i] = c;
}

// One ticker's seeded random walk: each bar opens at the previous close and moves by
// `volatility` x N(0, 1), its high and low 0.1% beyond.
inline env::MarketData random_walk_market(std::size_t n_bars, std::uint64_t seed, double volatility = 0.01) {
  auto m = flat_market(1, n_bars, 100.0);
  Rng rng(seed);
  double p = 100;
  for (std::size_t t = 0; t < n_bars; ++t) {
    const double c = p * (1 + volatility * rng.normal());
    set_bar(m, t, 0, p, std::max(p, c) * 1.001, std::min(p, c) * 0.999, c);
    p = c;
  }
  return m;
}

}  // namespace ploutos::test
