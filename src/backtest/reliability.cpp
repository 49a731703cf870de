#include "ploutos/backtest/reliability.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "metrics_json.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::backtest {
namespace {

using Json = nlohmann::ordered_json;

double annualised_sharpe(const std::vector<double>& r, double periods_per_year) {
  const auto s = summarize(r);
  return s.std > 0 ? s.mean / s.std * std::sqrt(periods_per_year) : 0.0;
}

std::string day_of(const env::MarketData& m, std::size_t bar) {
  return format_day(std::chrono::floor<std::chrono::days>(m.time[bar]));
}

}  // namespace

std::vector<RegimeWindow> detect_regimes(const env::MarketData& m, std::size_t bars, double threshold,
                                         const std::string& benchmark) {
  std::vector<RegimeWindow> out;
  if (bars < 2) return out;
  const auto it = std::find(m.tickers.begin(), m.tickers.end(), benchmark);
  auto index_return = [&](std::size_t a, std::size_t b) {
    if (it != m.tickers.end()) {
      const auto k = static_cast<std::size_t>(it - m.tickers.begin());
      return m.close[m.at(b, k)] / m.close[m.at(a, k)] - 1;
    }
    double r = 0;
    for (std::size_t k = 0; k < m.n_tickers; ++k) r += m.close[m.at(b, k)] / m.close[m.at(a, k)] - 1;
    return r / static_cast<double>(m.n_tickers);
  };
  for (std::size_t last = m.last_bar; last + 1 >= m.first_bar + bars; last -= bars) {
    RegimeWindow w;
    w.first = last - bars + 1;
    w.last = last;
    w.benchmark_return = index_return(w.first, w.last);
    w.regime = w.benchmark_return > threshold ? "bull" : w.benchmark_return < -threshold ? "bear" : "sideways";
    out.push_back(w);
    if (last < bars) break;
  }
  return out;  // most recent first
}

std::pair<double, double> bootstrap_sharpe_ci(const std::vector<double>& equity, int samples, std::size_t block,
                                              double periods_per_year, std::uint64_t seed) {
  std::vector<double> r;
  for (std::size_t i = 1; i < equity.size(); ++i) r.push_back(equity[i] / equity[i - 1] - 1);
  if (r.size() < 2 || samples < 2) return {0.0, 0.0};
  block = std::clamp<std::size_t>(block, 1, r.size());
  Rng rng(derive_seed(seed, "bootstrap.sharpe"));
  std::vector<double> sharpes, resample(r.size());
  sharpes.reserve(static_cast<std::size_t>(samples));
  for (int s = 0; s < samples; ++s) {
    for (std::size_t i = 0; i < r.size();) {
      const std::size_t start = rng.uniform_int(r.size() - block + 1);
      for (std::size_t j = 0; j < block && i < r.size(); ++j) resample[i++] = r[start + j];
    }
    sharpes.push_back(annualised_sharpe(resample, periods_per_year));
  }
  std::sort(sharpes.begin(), sharpes.end());
  const auto at = [&](double q) {
    return sharpes[static_cast<std::size_t>(std::lround(q * static_cast<double>(sharpes.size() - 1)))];
  };
  return {at(0.025), at(0.975)};
}

Decide delayed_by_one_bar(Decide decide, std::size_t n_tickers) {
  auto pending = std::make_shared<std::vector<std::int32_t>>(n_tickers, env::kHold);
  auto now = std::make_shared<std::vector<std::int32_t>>(n_tickers, env::kHold);
  return [decide = std::move(decide), pending, now](std::span<const float> obs, std::span<std::int32_t> actions) {
    decide(obs, *now);
    std::copy(pending->begin(), pending->end(), actions.begin());
    std::swap(*pending, *now);
  };
}

ReliabilityResult run_reliability(const std::shared_ptr<const env::MarketData>& market, const env::EnvConfig& config,
                                  const Decide& decide, const Sampler& sample, const ReliabilitySpec& spec) {
  const auto& m = *market;
  const double per_year = backtest::periods_per_year(m);
  ReliabilityResult out;
  const auto base = run_strategy(market, config, spec.first, spec.last, "agent", decide);
  out.base = base.metrics;

  // Regimes: the most recent windows of each kind.
  std::size_t counts[3] = {0, 0, 0};
  const std::size_t regime_bars = spec.regime_sessions * static_cast<std::size_t>(m.bars_per_session);
  for (auto& w : detect_regimes(m, regime_bars, spec.trend_threshold, spec.benchmark)) {
    const int kind = w.regime == "bull" ? 0 : w.regime == "bear" ? 1 : 2;
    if (counts[kind] >= spec.windows_per_regime) continue;
    ++counts[kind];
    const auto r = run_backtest(market, config, w.first, w.last, decide, spec.seed);
    w.agent = r.agent.metrics;
    w.buy_and_hold = r.baselines.front().metrics;
    out.regimes.push_back(w);
  }

  // Seeds of the stochastic parts: sampled actions and latency draws.
  env::EnvConfig noisy = config;
  noisy.costs.latency_sd = std::max(noisy.costs.latency_sd, spec.latency_sd);
  for (int s = 1; s <= spec.seeds; ++s) {
    Rng rng(derive_seed(spec.seed, "reliability.policy", static_cast<std::uint64_t>(s)));
    const auto r = run_strategy(
        market, noisy, spec.first, spec.last, "seeded",
        [&](std::span<const float> obs, std::span<std::int32_t> a) { sample(obs, a, rng); },
        derive_seed(spec.seed, "reliability.env", static_cast<std::uint64_t>(s)));
    out.seed_sharpes.push_back(r.metrics.sharpe);
    out.seed_returns.push_back(r.metrics.total_return);
  }
  out.sharpe_over_seeds = summarize(out.seed_sharpes);
  out.return_over_seeds = summarize(out.seed_returns);

  std::tie(out.sharpe_ci_low, out.sharpe_ci_high) =
      bootstrap_sharpe_ci(base.equity, spec.bootstrap_samples, spec.bootstrap_block, per_year, spec.seed);

  out.delayed =
      run_strategy(market, config, spec.first, spec.last, "delayed", delayed_by_one_bar(decide, m.n_tickers)).metrics;
  // Suspicious: a positive edge that loses more than half its Sharpe, or turns into a loss, when
  // the orders go out one bar later.
  out.suspicious =
      out.base.sharpe > 0.5 && (out.delayed.sharpe < 0.5 * out.base.sharpe || out.delayed.total_return < 0);
  if (out.suspicious) {
    out.verdict = "SUSPICIOUS: the edge does not survive one bar of execution delay";
  } else if (out.sharpe_ci_low > 0) {
    out.verdict = "the Sharpe ratio's 95% interval is above zero";
  } else {
    out.verdict = "not significant: the Sharpe ratio's 95% interval includes zero";
  }
  return out;
}

std::string reliability_json(const ReliabilityResult& r, const env::MarketData& m) {
  const auto metrics = metrics_to_json;
  Json regimes = Json::array();
  for (const auto& w : r.regimes) {
    regimes.push_back({{"regime", w.regime},
                       {"first", day_of(m, w.first)},
                       {"last", day_of(m, w.last)},
                       {"benchmark_return", w.benchmark_return},
                       {"agent", metrics(w.agent)},
                       {"buy_and_hold", metrics(w.buy_and_hold)}});
  }
  Json j = {{"base", metrics(r.base)},
            {"regimes", regimes},
            {"seeds",
             {{"sharpe", {{"mean", r.sharpe_over_seeds.mean}, {"std", r.sharpe_over_seeds.std}}},
              {"total_return", {{"mean", r.return_over_seeds.mean}, {"std", r.return_over_seeds.std}}},
              {"sharpes", r.seed_sharpes}}},
            {"sharpe_ci95", {r.sharpe_ci_low, r.sharpe_ci_high}},
            {"one_bar_delay", metrics(r.delayed)},
            {"suspicious", r.suspicious},
            {"verdict", r.verdict}};
  return json_text(j, 2);
}

std::string reliability_text(const ReliabilityResult& r, const env::MarketData& m) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "main window: return %.2f%%, sharpe %.2f (95%% bootstrap interval %.2f .. %.2f)\n",
                100 * r.base.total_return, r.base.sharpe, r.sharpe_ci_low, r.sharpe_ci_high);
  out += line;
  std::snprintf(line, sizeof line,
                "over %zu seeds (sampled actions, latency draws): sharpe %.2f ± %.2f, return %.2f%% ± %.2f%%\n",
                r.seed_sharpes.size(), r.sharpe_over_seeds.mean, r.sharpe_over_seeds.std,
                100 * r.return_over_seeds.mean, 100 * r.return_over_seeds.std);
  out += line;
  std::snprintf(line, sizeof line, "one bar of extra delay: return %.2f%%, sharpe %.2f\n", 100 * r.delayed.total_return,
                r.delayed.sharpe);
  out += line;
  std::snprintf(line, sizeof line, "%-9s %-23s %10s %10s %8s %10s\n", "regime", "window", "benchmark", "agent",
                "sharpe", "buy&hold");
  out += line;
  for (const auto& w : r.regimes) {
    std::snprintf(line, sizeof line, "%-9s %s..%s %9.2f%% %9.2f%% %8.2f %9.2f%%\n", w.regime.c_str(),
                  day_of(m, w.first).c_str(), day_of(m, w.last).c_str(), 100 * w.benchmark_return,
                  100 * w.agent.total_return, w.agent.sharpe, 100 * w.buy_and_hold.total_return);
    out += line;
  }
  out += "verdict: " + r.verdict + "\n";
  return out;
}

}  // namespace ploutos::backtest
