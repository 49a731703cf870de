#include "ploutos/diagnose/timing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ploutos/backtest/seen_by_model_json.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/svg.hpp"

namespace ploutos::diagnose {

std::vector<FillEvent> fill_events(const env::MarketData& m, const backtest::StrategyResult& run) {
  std::vector<FillEvent> out;
  out.reserve(run.fills.size());
  for (const auto& f : run.fills)
    out.push_back({m.tickers[f.ticker], f.buy, f.quantity, f.price, f.fees, f.bar, f.reason});
  return out;
}

std::string trailing_regime(const env::MarketData& m, std::size_t bar, const std::string& benchmark,
                            std::size_t lookback, double threshold) {
  const std::size_t from = bar >= m.first_bar + lookback ? bar - lookback : m.first_bar;
  if (from >= bar) return "sideways";
  const auto it = std::find(m.tickers.begin(), m.tickers.end(), benchmark);
  double r = 0;
  if (it != m.tickers.end()) {
    const auto k = static_cast<std::size_t>(it - m.tickers.begin());
    r = m.close[m.at(bar, k)] / m.close[m.at(from, k)] - 1;
  } else {
    for (std::size_t k = 0; k < m.n_tickers; ++k) r += m.close[m.at(bar, k)] / m.close[m.at(from, k)] - 1;
    r /= static_cast<double>(m.n_tickers);
  }
  return r > threshold ? "bull" : r < -threshold ? "bear" : "sideways";
}

TimingReport analyze_timing(const env::MarketData& m, const backtest::StrategyResult& run, std::size_t horizon,
                            double threshold, const CurrentSettings& settings, const std::string& benchmark) {
  TimingReport r;
  r.horizon = horizon;
  r.threshold = threshold;
  r.holds = run.holds;
  r.buy_decisions = run.buys;
  r.sell_decisions = run.sells;
  r.per_ticker.resize(m.n_tickers);
  for (std::size_t k = 0; k < m.n_tickers; ++k) r.per_ticker[k].ticker = m.tickers[k];
  double percentile_sum = 0, position_sum = 0;
  std::size_t percentile_n = 0, position_n = 0;
  struct Entry {
    std::size_t ticker, bar;
    bool good;
  };
  std::vector<Entry> entries;
  for (const auto& f : run.fills) {
    auto& tk = r.per_ticker[f.ticker];
    const std::size_t t = f.decision_bar;
    // Mean close of the `horizon` bars after the decision; unclassified near the end of the data.
    double mean = 0;
    const bool judged = t + horizon < m.n_bars;
    if (judged) {
      for (std::size_t i = t + 1; i <= t + horizon; ++i) mean += m.close[m.at(i, f.ticker)];
      mean /= static_cast<double>(horizon);
    } else {
      ++r.unclassified;
    }
    if (f.buy) {
      ++r.buys;
      ++tk.buys;
      if (judged) {
        ++r.judged_buys;
        const bool low = mean > f.price * (1 + threshold);
        if (low) {
          ++r.buys_low;
          ++tk.buys_low;
        }
        entries.push_back({f.ticker, t, low});
      }
      double lo = m.low[m.at(t, f.ticker)], hi = m.high[m.at(t, f.ticker)];
      for (std::size_t i = t >= 19 ? t - 19 : 0; i <= t; ++i) {
        lo = std::min(lo, m.low[m.at(i, f.ticker)]);
        hi = std::max(hi, m.high[m.at(i, f.ticker)]);
      }
      // Hindsight: where the fill sits within the range of the k bars before and after the decision.
      if (judged && t >= horizon) {
        double wlo = m.low[m.at(t, f.ticker)], whi = m.high[m.at(t, f.ticker)];
        for (std::size_t i = t - horizon; i <= t + horizon; ++i) {
          wlo = std::min(wlo, m.low[m.at(i, f.ticker)]);
          whi = std::max(whi, m.high[m.at(i, f.ticker)]);
        }
        if (whi > wlo) {
          position_sum += std::clamp((f.price - wlo) / (whi - wlo), 0.0, 1.0);
          ++position_n;
        }
      }
      if (hi > lo) {
        const double p = std::clamp((f.price - lo) / (hi - lo), 0.0, 1.0);
        percentile_sum += p;
        ++percentile_n;
        r.entry_percentiles.push_back(p);
      }
    } else {
      ++r.sells;
      ++tk.sells;
      ++tk.closed;
      tk.pnl += f.pnl;
      if (f.pnl > 0) ++tk.wins;
      if (judged) {
        ++r.judged_sells;
        if (mean < f.price * (1 - threshold)) {
          ++r.sells_high;
          ++tk.sells_high;
        }
      }
    }
  }
  // Round trips per ticker: fills come in time order; a sell closes the whole position.
  struct Open {
    double quantity = 0, cost = 0;
    std::size_t first_bar = 0;
  };
  std::vector<Open> open(m.n_tickers);
  double mae_sum = 0, mfe_sum = 0, exit_sum = 0;
  for (const auto& f : run.fills) {
    Open& o = open[f.ticker];
    if (f.buy) {
      if (o.quantity == 0) o.first_bar = f.bar;
      o.quantity += f.quantity;
      o.cost += f.quantity * f.price;
      continue;
    }
    if (o.quantity <= 0) continue;
    const double entry = o.cost / o.quantity;
    double lo = m.low[m.at(o.first_bar, f.ticker)], hi = m.high[m.at(o.first_bar, f.ticker)];
    for (std::size_t t = o.first_bar; t <= f.bar; ++t) {
      lo = std::min(lo, m.low[m.at(t, f.ticker)]);
      hi = std::max(hi, m.high[m.at(t, f.ticker)]);
    }
    mae_sum += std::min(0.0, lo / entry - 1);
    mfe_sum += std::max(0.0, hi / entry - 1);
    exit_sum += f.price / entry - 1;
    ++r.round_trips;
    o = Open{};
  }
  if (r.round_trips > 0) {
    const auto n = static_cast<double>(r.round_trips);
    r.mean_mae = mae_sum / n;
    r.mean_mfe = mfe_sum / n;
    r.mean_exit_return = exit_sum / n;
  }
  r.buy_quality = r.judged_buys ? static_cast<double>(r.buys_low) / static_cast<double>(r.judged_buys) : 0;
  r.sell_quality = r.judged_sells ? static_cast<double>(r.sells_high) / static_cast<double>(r.judged_sells) : 0;
  r.mean_entry_percentile = percentile_n ? percentile_sum / static_cast<double>(percentile_n) : 0;
  r.mean_entry_position = position_n ? position_sum / static_cast<double>(position_n) : 0;
  if (r.judged_buys == 0) {
    r.verdict = "no buys to judge";
  } else if (r.buy_quality < 0.40) {
    r.verdict = "main cause of failure: buying high (buy quality below 40%)";
  } else if (r.buy_quality > 0.50) {
    r.verdict = "excellent buy timing (buy quality above 50%)";
  } else {
    r.verdict = "average buy timing (buy quality 40-50%)";
  }
  // Which features separate good entries from bad ones (at the decision bar, the ticker bought).
  const std::size_t nf = m.n_features;
  for (std::size_t f = 0; f < nf; ++f) {
    double sum[2] = {0, 0}, sq[2] = {0, 0};
    std::size_t n[2] = {0, 0};
    for (const auto& e : entries) {
      const double v = m.features[m.at(e.bar, e.ticker) * nf + f];
      sum[e.good] += v;
      sq[e.good] += v * v;
      ++n[e.good];
    }
    if (n[0] < 2 || n[1] < 2) break;
    const double mean_bad = sum[0] / static_cast<double>(n[0]), mean_good = sum[1] / static_cast<double>(n[1]);
    const double var_bad = (sq[0] - static_cast<double>(n[0]) * mean_bad * mean_bad) / static_cast<double>(n[0] - 1);
    const double var_good = (sq[1] - static_cast<double>(n[1]) * mean_good * mean_good) / static_cast<double>(n[1] - 1);
    const double pooled = std::sqrt(
        std::max(0.0, ((static_cast<double>(n[0]) - 1) * var_bad + (static_cast<double>(n[1]) - 1) * var_good) /
                          static_cast<double>(n[0] + n[1] - 2)));
    // A feature that separates the two groups perfectly (no spread) gets a very large effect.
    const double effect = (mean_good - mean_bad) / std::max(pooled, 1e-6);
    r.feature_differences.push_back({m.feature_names[f], mean_good, mean_bad, effect});
  }
  std::sort(r.feature_differences.begin(), r.feature_differences.end(),
            [](const auto& a, const auto& b) { return std::abs(a.effect) > std::abs(b.effect); });
  if (r.feature_differences.size() > 10) r.feature_differences.resize(10);

  // Decisions per ticker and regime.
  std::vector<std::map<std::string, ActionCounts>> by_regime(m.n_tickers);
  for (std::size_t step = 0; step < run.decision_bars.size(); ++step) {
    const std::string regime = trailing_regime(m, run.decision_bars[step], benchmark);
    for (std::size_t k = 0; k < m.n_tickers; ++k) {
      auto& c = by_regime[k][regime];
      const auto a = run.decisions[step * m.n_tickers + k];
      ++(a == env::kBuy ? c.buy : a == env::kSell ? c.sell : c.hold);
    }
  }
  for (std::size_t k = 0; k < m.n_tickers; ++k) r.actions_by_regime.emplace_back(m.tickers[k], by_regime[k]);

  const auto trips = round_trips(fill_events(m, run));
  double net = 0, held = 0;
  for (const auto& t : trips) {
    net += t.pnl;
    held += static_cast<double>(t.bars_held);
  }
  r.mean_holding_bars = trips.empty() ? 0.0 : held / static_cast<double>(trips.size());
  r.costs = run.costs;
  r.closed_pnl = net;
  r.cost_share = run.costs > 0 ? run.costs / (run.costs + std::abs(net)) : 0;
  r.suggestions = losing_trade_suggestions(trips, settings);
  return r;
}

std::string to_json(const TimingReport& r) {
  nlohmann::ordered_json j{{"seen_by_model", backtest::seen_by_model_json(r.seen)},
                           {"horizon", r.horizon},
                           {"decision_precision", r.decision_precision},
                           {"threshold", r.threshold},
                           {"buys", r.buys},
                           {"buys_low", r.buys_low},
                           {"buy_quality", r.buy_quality},
                           {"sells", r.sells},
                           {"sells_high", r.sells_high},
                           {"sell_quality", r.sell_quality},
                           {"unclassified", r.unclassified},
                           {"mean_entry_percentile", r.mean_entry_percentile},
                           {"mean_entry_position", r.mean_entry_position},
                           {"actions", {{"hold", r.holds}, {"buy", r.buy_decisions}, {"sell", r.sell_decisions}}},
                           {"round_trips", r.round_trips},
                           {"mean_mae", r.mean_mae},
                           {"mean_mfe", r.mean_mfe},
                           {"mean_exit_return", r.mean_exit_return},
                           {"verdict", r.verdict}};
  // The names for the headline numbers (docs/diagnose.md).
  j["entries"] = r.buys;
  j["buy_low_share"] = r.buy_quality;
  j["buy_high_share"] = r.judged_buys ? 1.0 - r.buy_quality : 0.0;
  j["mae"] = r.mean_mae;
  j["holding_period"] = r.mean_holding_bars;
  j["mfe"] = r.mean_mfe;
  j["costs"] = r.costs;
  j["closed_pnl"] = r.closed_pnl;
  j["cost_share"] = r.cost_share;
  nlohmann::ordered_json suggestions = nlohmann::ordered_json::array();
  for (const auto& x : r.suggestions) suggestions.push_back({{"key", x.key}, {"value", x.value}, {"why", x.why}});
  j["suggestions"] = suggestions;
  nlohmann::ordered_json regimes = nlohmann::ordered_json::object();
  for (const auto& [ticker, counts] : r.actions_by_regime) {
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (const auto& [regime, c] : counts) per[regime] = {{"hold", c.hold}, {"buy", c.buy}, {"sell", c.sell}};
    regimes[ticker] = per;
  }
  j["actions_by_regime"] = regimes;
  nlohmann::ordered_json features = nlohmann::ordered_json::array();
  for (const auto& f : r.feature_differences)
    features.push_back(
        {{"feature", f.feature}, {"mean_good", f.mean_good}, {"mean_bad", f.mean_bad}, {"effect", f.effect}});
  j["feature_differences"] = features;
  nlohmann::ordered_json per = nlohmann::ordered_json::object();
  for (const auto& t : r.per_ticker) {
    per[t.ticker] = {{"buys", t.buys},
                     {"buys_low", t.buys_low},
                     {"sells", t.sells},
                     {"sells_high", t.sells_high},
                     {"closed_trades", t.closed},
                     {"wins", t.wins},
                     {"pnl", t.pnl}};
  }
  j["per_ticker"] = per;
  return json_text(j, 2);
}

std::string to_text(const TimingReport& r) {
  char line[256];
  std::string out;
  if (const auto in_sample = backtest::seen_by_model_warning(r.seen); !in_sample.empty()) out += in_sample + "\n";
  std::snprintf(
      line, sizeof line,
      "buy quality   %5.1f%%  (%zu of %zu judged buys were followed by a %d-bar mean close > fill + %.0f%%)\n",
      100 * r.buy_quality, r.buys_low, r.judged_buys, static_cast<int>(r.horizon), 100 * r.threshold);
  out += line;
  std::snprintf(line, sizeof line,
                "sell quality  %5.1f%%  (%zu of %zu judged sells were followed by a lower mean close)\n",
                100 * r.sell_quality, r.sells_high, r.judged_sells);
  out += line;
  std::snprintf(line, sizeof line,
                "entry percentile %.2f (0 = at the 20-bar low, 1 = at the high); within +-%zu bars %.2f\n",
                r.mean_entry_percentile, r.horizon, r.mean_entry_position);
  out += line;
  std::snprintf(line, sizeof line, "actions: hold %zu, buy %zu, sell %zu\n", r.holds, r.buy_decisions,
                r.sell_decisions);
  out += line;
  std::snprintf(line, sizeof line,
                "round trips %zu: mean MAE %.2f%%, mean MFE %.2f%%, mean exit return %.2f%%, held %.1f bars\n",
                r.round_trips, 100 * r.mean_mae, 100 * r.mean_mfe, 100 * r.mean_exit_return, r.mean_holding_bars);
  out += line;
  out += "verdict: " + r.verdict + "\n";
  std::snprintf(line, sizeof line,
                "costs %.2f USD over all fills; closed round trips %+.2f USD after costs (cost share %.1f%%)\n",
                r.costs, r.closed_pnl, 100 * r.cost_share);
  out += line;
  for (const auto& x : r.suggestions) out += "suggestion: try " + x.key + " = " + x.value + " (" + x.why + ")\n";
  std::snprintf(line, sizeof line, "%-8s %6s %8s %6s %9s %7s %12s\n", "ticker", "buys", "buy_low", "sells", "sell_high",
                "wins", "pnl");
  out += line;
  for (const auto& t : r.per_ticker) {
    std::snprintf(line, sizeof line, "%-8s %6zu %8zu %6zu %9zu %7zu %12.2f\n", t.ticker.c_str(), t.buys, t.buys_low,
                  t.sells, t.sells_high, t.wins, t.pnl);
    out += line;
  }
  return out;
}

std::string to_html(const TimingReport& r) {
  using namespace svg;
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Ploutos diagnose</title>"
      "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
      "td,th{padding:3px 9px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{"
      "text-align:left}.bad{color:#b00;font-weight:bold}</style></head><body>";
  html += "<h1>Why the agent wins or fails</h1>";
  if (const auto in_sample = backtest::seen_by_model_warning(r.seen); !in_sample.empty()) {
    html += "<p class=\"bad\">" + escape(in_sample) + "</p>";
  }
  html += std::string("<p class=\"") + (r.buy_quality < 0.4 ? "bad" : "") + "\">Buy quality " +
          num(100 * r.buy_quality, 1) + "% (" + std::to_string(r.buys_low) + " of " + std::to_string(r.judged_buys) +
          " judged buys were followed by a " + std::to_string(r.horizon) + "-bar mean close above the fill + " +
          num(100 * r.threshold, 0) + "%). " + escape(r.verdict) + "</p>";
  html += "<p>Sell quality " + num(100 * r.sell_quality, 1) + "%. Mean entry percentile " +
          num(r.mean_entry_percentile) + " (0 = at the 20-bar low); within the " + std::to_string(r.horizon) +
          " bars before and after: " + num(r.mean_entry_position) + ". Round trips " + std::to_string(r.round_trips) +
          ": mean MAE " + num(100 * r.mean_mae) + "%, mean MFE " + num(100 * r.mean_mfe) + "%. Costs " + num(r.costs) +
          " USD over all fills; closed round trips " + num(r.closed_pnl) + " USD after costs (cost share " +
          num(100 * r.cost_share, 1) + "%).</p>";
  // Buy-low vs buy-high per ticker: stacked horizontal bars.
  const double row_h = 20, width = 900, left = 90;
  std::size_t most = 1;
  for (const auto& t : r.per_ticker) most = std::max(most, t.buys);
  std::string bars = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width, 0) + "\" height=\"" +
                     num(row_h * static_cast<double>(r.per_ticker.size()) + 30, 0) + "\" font-size=\"12\">";
  double y = 20;
  for (const auto& t : r.per_ticker) {
    const double scale = (width - left - 20) / static_cast<double>(most);
    const double low = scale * static_cast<double>(t.buys_low), all = scale * static_cast<double>(t.buys);
    bars += "<text x=\"4\" y=\"" + num(y + 13, 0) + "\">" + escape(t.ticker) + "</text>";
    bars += "<rect x=\"" + num(left, 0) + "\" y=\"" + num(y, 0) + "\" width=\"" + num(low, 1) + "\" height=\"" +
            num(row_h - 4, 0) + "\" fill=\"#2ca02c\"/>";
    bars += "<rect x=\"" + num(left + low, 1) + "\" y=\"" + num(y, 0) + "\" width=\"" + num(all - low, 1) +
            "\" height=\"" + num(row_h - 4, 0) + "\" fill=\"#d62728\"/>";
    y += row_h;
  }
  bars +=
      "<text x=\"" + num(left, 0) + "\" y=\"12\">buys per ticker: low (green) and high or unjudged (red)</text></svg>";
  html += "<h2>Buy timing per ticker</h2>" + bars;
  // Histogram of entry percentiles (10 bins).
  std::vector<double> bins(10, 0.0);
  for (const double p : r.entry_percentiles) bins[std::min<std::size_t>(9, static_cast<std::size_t>(p * 10))] += 1;
  const double top = std::max(1.0, *std::max_element(bins.begin(), bins.end()));
  std::string hist = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"520\" height=\"200\" font-size=\"11\">";
  for (std::size_t b = 0; b < 10; ++b) {
    const double h = 150 * bins[b] / top;
    hist += "<rect x=\"" + num(20 + 48.0 * static_cast<double>(b), 0) + "\" y=\"" + num(170 - h, 1) +
            "\" width=\"44\" height=\"" + num(h, 1) + "\" fill=\"" + (b < 5 ? "#2ca02c" : "#d62728") + "\"/>";
    hist += "<text x=\"" + num(22 + 48.0 * static_cast<double>(b), 0) + "\" y=\"188\">" + num(b / 10.0, 1) + "</text>";
  }
  hist += "<text x=\"20\" y=\"12\">where buys filled within the 20-bar low..high (0 = low)</text></svg>";
  html += "<h2>Entry percentiles</h2>" + hist;
  html +=
      "<h2>Features that differ most between good and bad entries</h2><table><tr><th>feature</th>"
      "<th>mean at good entries</th><th>mean at bad entries</th><th>effect (sd)</th></tr>";
  for (const auto& f : r.feature_differences) {
    html += "<tr><td>" + escape(f.feature) + "</td><td>" + num(f.mean_good, 3) + "</td><td>" + num(f.mean_bad, 3) +
            "</td><td>" + num(f.effect) + "</td></tr>";
  }
  html +=
      "</table><h2>Decisions per ticker and regime</h2><table><tr><th>ticker</th><th>regime</th><th>hold</th>"
      "<th>buy</th><th>sell</th></tr>";
  for (const auto& [ticker, counts] : r.actions_by_regime) {
    for (const auto& [regime, c] : counts) {
      html += "<tr><td>" + escape(ticker) + "</td><td>" + escape(regime) + "</td><td>" + std::to_string(c.hold) +
              "</td><td>" + std::to_string(c.buy) + "</td><td>" + std::to_string(c.sell) + "</td></tr>";
    }
  }
  html += "</table><h2>Suggestions</h2><ul>";
  for (const auto& x : r.suggestions)
    html += "<li>try <b>" + escape(x.key) + " = " + escape(x.value) + "</b>: " + escape(x.why) + "</li>";
  if (r.suggestions.empty()) html += "<li>none (fewer than 5 round trips, or nothing stood out)</li>";
  html += "</ul></body></html>\n";
  return html;
}

}  // namespace ploutos::diagnose
