#include "ploutos/diagnose/timing.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace ploutos::diagnose {

std::vector<FillEvent> fill_events(const env::MarketData& m, const backtest::StrategyResult& run) {
  std::vector<FillEvent> out;
  out.reserve(run.fills.size());
  for (const auto& f : run.fills)
    out.push_back({m.tickers[f.ticker], f.buy, f.quantity, f.price, f.fees, f.bar, f.reason});
  return out;
}

TimingReport analyze_timing(const env::MarketData& m, const backtest::StrategyResult& run, std::size_t horizon,
                            double threshold, const CurrentSettings& settings) {
  TimingReport r;
  r.horizon = horizon;
  r.threshold = threshold;
  r.holds = run.holds;
  r.buy_decisions = run.buys;
  r.sell_decisions = run.sells;
  r.per_ticker.resize(m.n_tickers);
  for (std::size_t k = 0; k < m.n_tickers; ++k) r.per_ticker[k].ticker = m.tickers[k];
  double percentile_sum = 0;
  std::size_t percentile_n = 0;
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
        if (mean > f.price * (1 + threshold)) {
          ++r.buys_low;
          ++tk.buys_low;
        }
      }
      double lo = m.low[m.at(t, f.ticker)], hi = m.high[m.at(t, f.ticker)];
      for (std::size_t i = t >= 19 ? t - 19 : 0; i <= t; ++i) {
        lo = std::min(lo, m.low[m.at(i, f.ticker)]);
        hi = std::max(hi, m.high[m.at(i, f.ticker)]);
      }
      if (hi > lo) {
        percentile_sum += std::clamp((f.price - lo) / (hi - lo), 0.0, 1.0);
        ++percentile_n;
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
  if (r.judged_buys == 0) {
    r.verdict = "no buys to judge";
  } else if (r.buy_quality < 0.40) {
    r.verdict = "main cause of failure: buying high (buy quality below 40%)";
  } else if (r.buy_quality > 0.50) {
    r.verdict = "excellent buy timing (buy quality above 50%)";
  } else {
    r.verdict = "average buy timing (buy quality 40-50%)";
  }
  const auto trips = round_trips(fill_events(m, run));
  double net = 0;
  for (const auto& t : trips) net += t.pnl;
  r.costs = run.costs;
  r.cost_share = run.costs > 0 ? run.costs / (run.costs + std::abs(net)) : 0;
  r.suggestions = losing_trade_suggestions(trips, settings);
  return r;
}

std::string to_json(const TimingReport& r) {
  nlohmann::ordered_json j{{"horizon", r.horizon},
                           {"threshold", r.threshold},
                           {"buys", r.buys},
                           {"buys_low", r.buys_low},
                           {"buy_quality", r.buy_quality},
                           {"sells", r.sells},
                           {"sells_high", r.sells_high},
                           {"sell_quality", r.sell_quality},
                           {"unclassified", r.unclassified},
                           {"mean_entry_percentile", r.mean_entry_percentile},
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
  j["mfe"] = r.mean_mfe;
  j["costs"] = r.costs;
  j["cost_share"] = r.cost_share;
  nlohmann::ordered_json suggestions = nlohmann::ordered_json::array();
  for (const auto& x : r.suggestions) suggestions.push_back({{"key", x.key}, {"value", x.value}, {"why", x.why}});
  j["suggestions"] = suggestions;
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
  return j.dump(2);
}

std::string to_text(const TimingReport& r) {
  char line[256];
  std::string out;
  std::snprintf(
      line, sizeof line,
      "buy quality   %5.1f%%  (%zu of %zu judged buys were followed by a %d-bar mean close > fill + %.0f%%)\n",
      100 * r.buy_quality, r.buys_low, r.judged_buys, static_cast<int>(r.horizon), 100 * r.threshold);
  out += line;
  std::snprintf(line, sizeof line,
                "sell quality  %5.1f%%  (%zu of %zu judged sells were followed by a lower mean close)\n",
                100 * r.sell_quality, r.sells_high, r.judged_sells);
  out += line;
  std::snprintf(line, sizeof line, "entry percentile %.2f (0 = at the 20-bar low, 1 = at the high)\n",
                r.mean_entry_percentile);
  out += line;
  std::snprintf(line, sizeof line, "actions: hold %zu, buy %zu, sell %zu\n", r.holds, r.buy_decisions,
                r.sell_decisions);
  out += line;
  std::snprintf(line, sizeof line, "round trips %zu: mean MAE %.2f%%, mean MFE %.2f%%, mean exit return %.2f%%\n",
                r.round_trips, 100 * r.mean_mae, 100 * r.mean_mfe, 100 * r.mean_exit_return);
  out += line;
  out += "verdict: " + r.verdict + "\n";
  std::snprintf(line, sizeof line, "costs %.2f USD: %.1f%% of the gross result\n", r.costs, 100 * r.cost_share);
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

}  // namespace ploutos::diagnose
