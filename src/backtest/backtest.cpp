#include "ploutos/backtest/backtest.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "metrics_json.hpp"
#include "ploutos/backtest/seen_by_model_json.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/data/bar.hpp"

namespace ploutos::backtest {
namespace {

nlohmann::ordered_json metrics_json(const StrategyResult& r) {
  auto j = metrics_to_json(r.metrics);
  j["costs"] = r.costs;
  j["activity"] = r.activity;
  return j;
}

std::string time_text(const BacktestResult& r, std::size_t i) {
  return r.daily ? format_day(std::chrono::floor<std::chrono::days>(r.time[i])) : format_instant(r.time[i]);
}

}  // namespace

ModelWithMarket load_model_with_market(const std::string& model_path, const std::string& data,
                                       const std::function<void(config::Config&)>& adjust,
                                       rl::DecisionPrecision precision) {
  ModelWithMarket out;
  out.agent = agent::Agent::load(model_path, precision);
  out.config = out.agent->config();
  if (data == "synthetic") out.config.data.interval = "1d";  // the built-in market is daily
  if (adjust) adjust(out.config);
  out.market = env::load_market(out.config, data);
  out.agent->check_compatible(*out.market.market, out.config.features.feature_set);
  return out;
}

SeenByModel seen_by_model(const std::string& manifest, const env::MarketData& m, const std::string& data_source,
                          std::size_t first, std::size_t last) {
  SeenByModel seen;
  // The bars whose moves the window earns: a decision on `first` is paid from first + 1 on, and a
  // training window's last bar (the first of the validation, or a test window's first decision
  // bar) was only a reward there.
  seen.window_bars = last - first;
  seen.data_source = data_source;
  const auto j = nlohmann::json::parse(manifest, nullptr, false);
  if (j.is_discarded() || !j.contains("training_window")) return seen;
  seen.known = true;
  seen.model_data_source = j.value("data_source", "");
  const auto count_inside = [&](const nlohmann::json& w) -> std::size_t {
    if (!w.is_object()) return 0;
    const Instant from = parse_instant(w.at("first").get<std::string>());
    const Instant to = parse_instant(w.at("last").get<std::string>());
    std::size_t n = 0;
    for (std::size_t t = first + 1; t <= last; ++t) n += m.time[t] >= from && m.time[t] <= to;
    return n;
  };
  const auto& training = j.at("training_window");
  seen.training_first = training.at("first").get<std::string>();
  seen.training_last = training.at("last").get<std::string>();
  seen.trained_bars = count_inside(training);
  seen.selection_bars = count_inside(j.value("selection_window", nlohmann::json()));
  return seen;
}

std::string seen_by_model_warning(const SeenByModel& s) {
  if (!s.known || (s.trained_bars == 0 && s.selection_bars == 0)) return "";
  std::string line = "IN-SAMPLE: ";
  if (s.trained_bars > 0) {
    line += std::to_string(s.trained_bars) + " of the " + std::to_string(s.window_bars) +
            " bars are in the model's training window (" + bar_time_text(s.training_first) + " .. " +
            bar_time_text(s.training_last) + ")";
  }
  if (s.selection_bars > 0) {
    line += std::string(s.trained_bars > 0 ? "; " : "") + std::to_string(s.selection_bars) + " of the " +
            std::to_string(s.window_bars) + " bars chose this model as the best on validation";
  }
  line +=
      "; these results are not out-of-sample (use bars after the training data, or train with data.end before "
      "them)";
  if (s.model_data_source != s.data_source) {
    line += " [same dates; the model trained on " + s.model_data_source + ", this reads " + s.data_source + "]";
  }
  return line;
}

double periods_per_year(const env::MarketData& m) {
  return data::kSessionsPerYear * m.bars_per_session;
}

std::pair<std::size_t, std::size_t> last_sessions(const env::MarketData& m, std::size_t sessions) {
  return {sessions_before(m, m.last_bar, sessions), m.last_bar};
}

std::size_t sessions_before(const env::MarketData& m, std::size_t last, std::size_t sessions) {
  std::size_t crossed = 0;
  for (std::size_t i = last; i > m.first_bar; --i) {
    // Bar i - 1 closes the session before bar i's.
    if (m.new_york_day[i - 1] != m.new_york_day[i] && ++crossed == sessions) return i - 1;
  }
  return m.first_bar;
}

StrategyResult run_strategy(const std::shared_ptr<const env::MarketData>& market, env::EnvConfig config,
                            std::size_t first, std::size_t last, const std::string& name, const Decide& decide,
                            std::uint64_t env_seed) {
  config.mode = env::Mode::kBacktest;
  config.window_first = first;
  config.window_last = last;
  config.max_steps = std::numeric_limits<int>::max();
  config.record_fills = true;
  config.bankruptcy_fraction = 0.0;  // a backtest runs to the end of its window
  env::TradingEnv e(market, config);
  std::vector<float> obs(e.obs_dim());
  std::vector<std::int32_t> actions(e.n_tickers());
  e.reset(env_seed, obs);
  bool term = false, trunc = false;
  std::size_t counts[3] = {0, 0, 0};
  std::vector<std::size_t> decision_bars;
  std::vector<std::int8_t> decisions;
  std::vector<double> exposure;
  while (!term && !trunc) {
    decision_bars.push_back(e.bar());
    decide(obs, actions);
    for (const auto a : actions) {
      ++counts[a == env::kBuy ? 1 : a == env::kSell ? 2 : 0];
      decisions.push_back(static_cast<std::int8_t>(a));
    }
    e.step(actions, obs, term, trunc);
    const auto& info = e.info();
    exposure.push_back(info.equity > 0 ? std::clamp(1.0 - info.cash / info.equity, 0.0, 1.0) : 0.0);
  }
  StrategyResult r;
  r.name = name;
  r.equity = e.equity_curve();
  const double per_year = periods_per_year(*market);
  r.metrics = risk::compute_metrics(r.equity, e.closed_trades(), e.traded_notional(), per_year, exposure);
  r.costs = e.total_costs();
  r.fills = e.fills();
  r.decision_bars = std::move(decision_bars);
  r.decisions = std::move(decisions);
  r.holds = counts[0];
  r.buys = counts[1];
  r.sells = counts[2];
  const std::size_t n_decisions = r.holds + r.buys + r.sells;
  r.activity = n_decisions > 0 ? static_cast<double>(r.buys + r.sells) / static_cast<double>(n_decisions) : 0.0;
  return r;
}

BacktestResult run_backtest(const std::shared_ptr<const env::MarketData>& market, const env::EnvConfig& config,
                            std::size_t first, std::size_t last, const Decide& agent, std::uint64_t seed,
                            const StrategyResult* agent_result) {
  BacktestResult out;
  out.tickers = market->tickers;
  out.first_bar = first;
  out.time.assign(market->time.begin() + static_cast<std::ptrdiff_t>(first),
                  market->time.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  out.daily = market->bars_per_session == 1;
  out.optimistic = config.fill_at_close;
  out.close.assign(market->n_tickers, {});
  for (std::size_t k = 0; k < market->n_tickers; ++k) {
    for (std::size_t t = first; t <= last; ++t) out.close[k].push_back(market->close[market->at(t, k)]);
  }
  if (agent_result != nullptr) {
    out.agent = *agent_result;
    out.engine = "broker";
  } else {
    out.agent = run_strategy(market, config, first, last, "agent", agent);
  }

  // Baselines hold, so their sizing is opened up: the whole book, no breakers, no daily trade cap.
  // Baselines buy each of their tickers once, at the first bar it can trade, and hold it to the end:
  // a position the observation shows is never topped up when its weight drifts.
  const std::size_t n = market->n_tickers;
  const std::size_t weights = n * market->n_features;  // obs[weights + k]: ticker k's share of equity
  const auto buy_once = [weights](std::vector<std::size_t> tickers) -> Decide {
    return [weights, tickers = std::move(tickers)](std::span<const float> obs, std::span<std::int32_t> a) {
      std::fill(a.begin(), a.end(), env::kHold);
      for (const std::size_t k : tickers) a[k] = obs[weights + k] > 0 ? env::kHold : env::kBuy;
    };
  };
  env::EnvConfig hold = config;
  hold.buy_pct = 1.0;
  hold.max_trades_per_day = 1 << 20;
  hold.breaker_max_drawdown = hold.breaker_daily_loss = 0;
  hold.stop_loss_pct = hold.take_profit_pct = hold.trailing_stop_pct = 0;
  hold.sizing = env::EnvConfig::Sizing::kFixedFraction;
  hold.max_gross_exposure = 1.0;
  env::EnvConfig equal = hold;
  equal.max_position_pct = 1.0 / static_cast<double>(n);
  std::vector<std::size_t> every(n);
  std::iota(every.begin(), every.end(), std::size_t{0});
  out.baselines.push_back(run_strategy(market, equal, first, last, "buy_and_hold_equal_weight", buy_once(every)));
  const auto spy = std::find(market->tickers.begin(), market->tickers.end(), "SPY");
  if (spy != market->tickers.end()) {
    const auto k = static_cast<std::size_t>(spy - market->tickers.begin());
    env::EnvConfig only = hold;
    only.max_position_pct = 1.0;
    out.baselines.push_back(run_strategy(market, only, first, last, "spy_buy_and_hold", buy_once({k})));
  }
  Rng rng(derive_seed(seed, "backtest.random"));
  const double p = out.agent.activity;
  out.baselines.push_back(run_strategy(
      market, config, first, last, "random_same_frequency", [&](std::span<const float>, std::span<std::int32_t> a) {
        for (auto& x : a) x = rng.bernoulli(p) ? (rng.bernoulli(0.5) ? env::kBuy : env::kSell) : env::kHold;
      }));
  return out;
}

std::string summary_json(const BacktestResult& r) {
  nlohmann::ordered_json j = metrics_json(r.agent);
  j["window"] = {{"first", time_text(r, 0)}, {"last", time_text(r, r.time.size() - 1)}, {"bars", r.time.size()}};
  j["tickers"] = r.tickers;
  j["fill"] = r.optimistic ? "close (OPTIMISTIC: fills at the decision bar's close)" : "next_open";
  j["optimistic"] = r.optimistic;
  j["engine"] = r.engine;
  j["decision_precision"] = r.decision_precision;
  if (r.agreement_with_float32.decisions > 0) {
    const auto& a = r.agreement_with_float32;
    j["agreement_with_float32"] = {{"decisions", a.decisions},
                                   {"same", a.same},
                                   {"share", static_cast<double>(a.same) / static_cast<double>(a.decisions)}};
  }
  j["seen_by_model"] = seen_by_model_json(r.seen);
  nlohmann::ordered_json baselines = nlohmann::ordered_json::object();
  for (const auto& b : r.baselines) baselines[b.name] = metrics_json(b);
  j["baselines"] = baselines;
  return json_text(j, 2);
}

void write_outputs(const BacktestResult& r, const std::string& dir) {
  const std::filesystem::path d(dir);
  write_file_atomic(d / "summary.json", summary_json(r) + "\n");
  std::string equity = r.daily ? "date,agent" : "timestamp,agent";
  for (const auto& b : r.baselines) equity += "," + b.name;
  equity += '\n';
  char buf[64];
  for (std::size_t i = 0; i < r.time.size(); ++i) {
    equity += time_text(r, i);
    for (const auto* s : {&r.agent}) {
      std::snprintf(buf, sizeof buf, ",%.2f", i < s->equity.size() ? s->equity[i] : s->equity.back());
      equity += buf;
    }
    for (const auto& b : r.baselines) {
      std::snprintf(buf, sizeof buf, ",%.2f", i < b.equity.size() ? b.equity[i] : b.equity.back());
      equity += buf;
    }
    equity += '\n';
  }
  write_file_atomic(d / "equity.csv", equity);
  std::string trades =
      std::string(r.daily ? "date" : "timestamp") + ",decided,ticker,side,quantity,price,fees,pnl,reason\n";
  for (const auto& f : r.agent.fills) {
    char line[256];
    std::snprintf(line, sizeof line, ",%s,%s,%.6f,%.4f,%.4f,%.2f,%s\n", r.tickers[f.ticker].c_str(),
                  f.buy ? "buy" : "sell", f.quantity, f.price, f.fees, f.pnl, f.reason);
    trades += time_text(r, f.bar - r.first_bar) + "," + time_text(r, f.decision_bar - r.first_bar) + line;
  }
  write_file_atomic(d / "trades.csv", trades);
  write_file_atomic(d / "report.html", report_html(r));
}

std::string summary_table(const BacktestResult& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %9s %9s %8s %8s %9s %8s %7s %10s\n", "strategy", "return", "annual", "sharpe",
                "sortino", "max_dd", "win", "trades", "costs");
  out += line;
  auto row = [&](const StrategyResult& s) {
    const auto& m = s.metrics;
    // No closed trade has no win rate (buy-and-hold holds to the end).
    char win[16] = "-";
    if (m.trades > 0) std::snprintf(win, sizeof win, "%.1f%%", 100 * m.win_rate);
    std::snprintf(line, sizeof line, "%-28s %8.2f%% %8.2f%% %8.2f %8.2f %8.2f%% %8s %7zu %10.2f\n", s.name.c_str(),
                  100 * m.total_return, 100 * m.annual_return, m.sharpe, m.sortino, 100 * m.max_drawdown, win, m.trades,
                  s.costs);
    out += line;
  };
  row(r.agent);
  for (const auto& b : r.baselines) row(b);
  if (r.optimistic) out += "fills at the decision bar's close: OPTIMISTIC results\n";
  return out;
}

}  // namespace ploutos::backtest
