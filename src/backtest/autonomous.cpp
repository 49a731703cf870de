#include "ploutos/backtest/autonomous.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "ploutos/agent/agent.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/backtest/reliability.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/parallel.hpp"
#include "ploutos/core/progress.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/core/svg.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/risk/metrics_json.hpp"
#include "ploutos/rl/ppo.hpp"
#include "ploutos/rl/runtime.hpp"

namespace ploutos::backtest {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr double kTrendReturn = 0.05;     // a regime's return beyond +-5% over its window is a trend
constexpr double kHighVolatility = 0.25;  // annualised

struct Session {
  Day day;
  double close = 0;   // the session's last close
  double volume = 0;  // summed over its bars
};

// The last `count` sessions of `s` up to and including the session of `as_of`, oldest first.
std::vector<Session> sessions_up_to(const data::BarSeries& s, Instant as_of, int count) {
  const Day last_day = data::session_day(s.timeframe, as_of);
  std::vector<Session> out;
  for (std::size_t i = 0; i < s.size() && s.time[i] <= as_of; ++i) {
    const Day d = data::session_day(s.timeframe, s.time[i]);
    if (d > last_day) break;
    if (out.empty() || out.back().day != d) out.push_back({d, 0, 0});
    out.back().close = s.close[i];
    out.back().volume += s.volume[i];
  }
  if (out.size() > static_cast<std::size_t>(count))
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(count));
  return out;
}

config::Config with_trial(config::Config c, const SearchTrial& t) {
  c.ppo.learning_rate = t.learning_rate;
  c.ppo.gamma = t.gamma;
  c.ppo.gae_lambda = t.gae_lambda;
  c.ppo.clip_range = t.clip_range;
  c.ppo.ent_coef = t.ent_coef;
  return c;
}

// The candidates that have bars; one without is reported, not fatal (bad bars still are).
env::LoadedSeries load_candidates(const config::Config& input, const std::string& data_dir,
                                  std::vector<CandidateAsset>& missing) {
  if (env::uses_synthetic_market(input, data_dir))
    return env::load_series(input, data_dir);  // generated together, never missing
  env::LoadedSeries out;
  for (const auto& ticker : input.data.tickers) {
    config::Config one = input;
    one.data.tickers = {ticker};
    try {
      auto loaded = env::load_series(one, data_dir);
      out.timeframe = loaded.timeframe;
      out.source = loaded.source;
      out.series.push_back(std::move(loaded.series.front()));
    } catch (const env::MissingDataError& e) {
      missing.push_back({ticker, 0, 0, false, std::string("no data: ") + e.what()});
    }
  }
  if (out.series.empty())
    throw InputError("autonomous: no candidate of data.tickers has data (" + missing.front().reason + ")");
  return out;
}

Window window_of(const env::MarketData& m, std::size_t first, std::size_t last) {
  return {format_instant(m.time[first]), format_instant(m.time[last]), last - first + 1};
}

// NAME.pt -> NAME<tag>.pt beside it.
std::string tagged_path(const std::string& output, const std::string& tag) {
  const fs::path p(output);
  return (p.parent_path() / (p.stem().string() + tag + p.extension().string())).string();
}

Json trial_json(const SearchTrial& t) {
  return {{"trial", t.number},
          {"learning_rate", t.learning_rate},
          {"gamma", t.gamma},
          {"gae_lambda", t.gae_lambda},
          {"clip_range", t.clip_range},
          {"ent_coef", t.ent_coef},
          {"validation_sharpe", t.validation_sharpe},
          {"validation_return", t.validation_return},
          {"resumed", t.resumed}};
}

Json window_json(const Window& w) {
  return {{"first", w.first}, {"last", w.last}, {"bars", w.bars}};
}

// An earlier run's score of a trial, when its file holds exactly `key`.
std::optional<std::pair<double, double>> read_trial(const fs::path& file, const Json& key) {
  if (!fs::exists(file)) return std::nullopt;
  try {
    std::ifstream in(file);
    const auto j = nlohmann::json::parse(in);
    if (j.at("key") != nlohmann::json::parse(json_text(key))) return std::nullopt;
    return std::pair{j.at("validation_sharpe").get<double>(), j.at("validation_return").get<double>()};
  } catch (const nlohmann::json::exception&) {
    spdlog::warn("{}: unreadable, trained again", file.string());
    return std::nullopt;
  }
}

}  // namespace

Regime measure_regime(const data::BarSeries& series, int sessions, Instant as_of) {
  const auto window = sessions_up_to(series, as_of, sessions + 1);  // one more: the first return's base
  Regime r;
  r.ticker = series.ticker;
  if (window.size() < 2)
    throw InputError("regime: " + series.ticker + " has fewer than 2 sessions up to " + format_instant(as_of));
  r.as_of = format_day(window.back().day);
  r.sessions = static_cast<int>(window.size()) - 1;
  r.total_return = window.back().close / window.front().close - 1;
  double mean_close = 0, mean = 0, var = 0;
  std::vector<double> returns;
  for (std::size_t i = 1; i < window.size(); ++i) {
    mean_close += window[i].close;
    returns.push_back(std::log(window[i].close / window[i - 1].close));
    mean += returns.back();
  }
  mean_close /= static_cast<double>(r.sessions);
  mean /= static_cast<double>(returns.size());
  for (const double x : returns) var += (x - mean) * (x - mean);
  r.volatility =
      returns.size() > 1 ? std::sqrt(var / static_cast<double>(returns.size() - 1) * data::kSessionsPerYear) : 0.0;
  r.close_vs_sma = window.back().close / mean_close - 1;
  r.trend = r.total_return > kTrendReturn && r.close_vs_sma > 0    ? "bull"
            : r.total_return < -kTrendReturn && r.close_vs_sma < 0 ? "bear"
                                                                   : "sideways";
  r.high_volatility = r.volatility > kHighVolatility;
  return r;
}

std::vector<CandidateAsset> select_assets(const std::vector<data::BarSeries>& candidates,
                                          const config::SelectionConfig& selection, int sessions, Instant as_of) {
  std::vector<CandidateAsset> out;
  for (const auto& s : candidates) {
    CandidateAsset c;
    c.ticker = s.ticker;
    const auto window = sessions_up_to(s, as_of, sessions);
    for (const auto& d : window) {
      c.mean_volume += d.volume;
      c.mean_dollar_volume += d.volume * d.close;
    }
    if (!window.empty()) {
      c.mean_volume /= static_cast<double>(window.size());
      c.mean_dollar_volume /= static_cast<double>(window.size());
    }
    c.reason = window.empty() ? "no bars before the test window" : "";
    out.push_back(c);
  }
  std::vector<std::size_t> eligible;
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (!out[k].reason.empty()) continue;
    if (out[k].mean_volume < selection.min_volume) {
      out[k].reason =
          "mean volume " + svg::num(out[k].mean_volume, 0) + " below min_volume " + svg::num(selection.min_volume, 0);
      continue;
    }
    eligible.push_back(k);
  }
  if (eligible.empty())
    throw InputError("autonomous.selection: no candidate of data.tickers trades min_volume " +
                     svg::num(selection.min_volume, 0) + " shares a session before the test window");
  // Largest dollar volume first; equal ones in the candidates' order, so the choice is stable.
  std::stable_sort(eligible.begin(), eligible.end(),
                   [&](std::size_t a, std::size_t b) { return out[a].mean_dollar_volume > out[b].mean_dollar_volume; });
  for (std::size_t rank = 0; rank < eligible.size(); ++rank) {
    auto& c = out[eligible[rank]];
    c.selected = rank < static_cast<std::size_t>(selection.n_assets);
    c.reason = (c.selected ? "selected: dollar volume rank " : "not selected: dollar volume rank ") +
               std::to_string(rank + 1) + " of " + std::to_string(eligible.size());
  }
  return out;
}

SearchTrial search_trial(const config::PpoConfig& ppo, std::uint64_t seed, int number) {
  SearchTrial t;
  t.number = number;
  if (number <= 1) {
    t.learning_rate = ppo.learning_rate;
    t.gamma = ppo.gamma;
    t.gae_lambda = ppo.gae_lambda;
    t.clip_range = ppo.clip_range;
    t.ent_coef = ppo.ent_coef;
    return t;
  }
  Rng rng(derive_seed(seed, "autonomous_search", static_cast<std::uint64_t>(number)));
  t.learning_rate = std::exp(rng.uniform(std::log(1e-5), std::log(1e-3)));
  t.gamma = rng.uniform(0.95, 0.999);
  t.gae_lambda = rng.uniform(0.90, 0.99);
  t.clip_range = rng.uniform(0.10, 0.30);
  t.ent_coef = std::exp(rng.uniform(std::log(1e-4), std::log(0.1)));
  return t;
}

AutonomousResult run_autonomous(const config::Config& input, const AutonomousSpec& spec) {
  const auto& a = input.autonomous;
  if (a.selection.market_scan)
    throw NotImplementedError(
        "autonomous.selection.market_scan (a market-wide screener; no data source here offers one: list the "
        "candidates in data.tickers and set market_scan: false)");
  AutonomousResult r;
  r.min_sharpe = a.validation.min_sharpe;
  const auto test_sessions = static_cast<std::size_t>(a.validation.test_days);
  const fs::path report_dir(spec.report_dir.empty() ? "reports/autonomous" : spec.report_dir);

  // 1. The acceptance test's window, on the candidates' common timeline.
  std::vector<CandidateAsset> missing;
  const env::LoadedSeries candidates = load_candidates(input, spec.data_dir, missing);
  config::Config available = input;  // the candidates with bars, in the candidates' order
  available.data.tickers.clear();
  for (const auto& s : candidates.series) available.data.tickers.push_back(s.ticker);
  Instant cutoff;
  {
    const auto all = env::market_from_series(available, candidates);
    const auto& m = *all.market;
    auto [first, last] = last_sessions(m, test_sessions);
    if (last - first > static_cast<std::size_t>(a.validation.max_steps))
      first = last - static_cast<std::size_t>(a.validation.max_steps);
    cutoff = m.time[first];
  }

  // 2. Regime and selection from the bars up to the test's first decision bar.
  const int lookback = a.regime.lookback_days;
  const auto reference = std::find_if(candidates.series.begin(), candidates.series.end(),
                                      [&](const data::BarSeries& s) { return s.ticker == a.regime.reference_ticker; });
  if (reference != candidates.series.end()) {
    r.regime = measure_regime(*reference, lookback, cutoff);
  } else {
    config::Config c = input;
    c.data.tickers = {a.regime.reference_ticker};
    c.data.synthetic_universe.clear();
    r.regime = measure_regime(env::load_series(c, spec.data_dir).series.front(), lookback, cutoff);
  }
  r.candidates = select_assets(candidates.series, a.selection, lookback, cutoff);
  config::Config config = input;
  config.data.tickers.clear();
  // The synthetic market is generated for all candidates together: the model remembers them, so
  // `backtest --data synthetic` of it regenerates the bars it was selected and trained on.
  if (env::uses_synthetic_market(input, spec.data_dir) && config.data.synthetic_universe.empty())
    config.data.synthetic_universe = input.data.tickers;
  env::LoadedSeries selected = candidates;
  selected.series.clear();
  for (std::size_t k = 0; k < r.candidates.size(); ++k) {
    if (!r.candidates[k].selected) continue;
    config.data.tickers.push_back(r.candidates[k].ticker);
    selected.series.push_back(candidates.series[k]);
  }
  r.tickers = config.data.tickers;
  // The report names every candidate, those without bars too, in the order of data.tickers.
  r.candidates.insert(r.candidates.end(), missing.begin(), missing.end());
  const auto& order = input.data.tickers;
  std::stable_sort(r.candidates.begin(), r.candidates.end(), [&](const CandidateAsset& x, const CandidateAsset& y) {
    return std::find(order.begin(), order.end(), x.ticker) < std::find(order.begin(), order.end(), y.ticker);
  });

  // 3. The windows on the selected tickers' market: training | validation | test.
  const auto loaded = env::market_from_series(config, selected);
  const auto& m = *loaded.market;
  const auto it = std::lower_bound(m.time.begin() + static_cast<std::ptrdiff_t>(m.first_bar),
                                   m.time.begin() + static_cast<std::ptrdiff_t>(m.last_bar) + 1, cutoff);
  const auto test_first = static_cast<std::size_t>(it - m.time.begin());
  const std::size_t test_last = m.last_bar;
  const std::size_t validation_first = sessions_before(m, test_first, test_sessions);
  if (test_first >= test_last || validation_first <= m.first_bar + 1)
    throw InputError("autonomous: " + std::to_string(m.last_bar - m.first_bar + 1) + " tradable bars from " +
                     format_instant(m.time[m.first_bar]) +
                     " are too few for training, a validation window and a test window of validation.test_days " +
                     std::to_string(test_sessions) + " sessions each");
  r.training = window_of(m, m.first_bar, test_first);
  r.validation = window_of(m, validation_first, test_first);
  r.test = window_of(m, test_first, test_last);

  r.timesteps = spec.timesteps > 0 ? spec.timesteps : config.training.total_timesteps;
  const int trials = spec.trials > 0 ? spec.trials : a.search.n_trials;
  r.trial_timesteps = spec.trial_timesteps > 0       ? spec.trial_timesteps
                      : a.search.trial_timesteps > 0 ? a.search.trial_timesteps
                                                     : std::max<std::int64_t>(1, r.timesteps / trials);
  const std::uint64_t seed = config.training.seed;
  const auto backtest_config = [](const config::Config& c) { return env::env_config_from(c, env::Mode::kBacktest); };
  auto train = [&](const config::Config& c, const std::string& output, std::size_t last_bar, std::int64_t steps,
                   const std::string& metrics_dir, int threads, bool progress,
                   const std::function<void(std::int64_t, const ProgressEstimate&)>& on_progress,
                   const std::atomic<bool>* cancel = nullptr) {
    rl::TrainRequest req;
    req.config = c;
    req.market = loaded;
    req.output = output;
    req.total_timesteps = steps;
    req.threads = threads;
    req.validation_fraction = 0.0;  // the validation window is scored below, by a backtest
    req.window_first = m.first_bar;
    req.window_last = last_bar;
    req.metrics_dir = metrics_dir;
    req.progress = progress;
    req.stop = spec.stop;
    req.cancel = cancel;
    req.on_progress = on_progress;
    return rl::train(req);
  };

  // 4. The search: every trial trains before the validation window and is scored on it.
  r.chosen = search_trial(config.ppo, seed, 1);
  if (a.search.enabled) {
    ensure_writable_directory(report_dir / "trials");
    const auto per_trial = static_cast<std::uint64_t>(r.trial_timesteps);
    const int jobs = std::max(1, a.search.n_jobs);
    StudyProgress progress("search", static_cast<std::size_t>(trials), per_trial,
                           ProgressOptions{"steps", !spec.progress}, jobs);
    // Side by side, each trial trains on one thread and OpenBLAS on one thread each: a trial's
    // score is then the one n_jobs 1 with --threads 1 gives.
    const rl::ScopedBlasThreads one_blas_thread_each(jobs > 1 ? 1 : 0);
    std::vector<SearchTrial> scored(static_cast<std::size_t>(trials));
    std::vector<char> finished(scored.size(), 0);
    std::atomic<bool> interrupted{false}, failed{false};
    const auto started = std::chrono::steady_clock::now();
    auto run_trial = [&](std::size_t index) {
      const int n = static_cast<int>(index) + 1;
      SearchTrial t = search_trial(config.ppo, seed, n);
      const config::Config c = with_trial(config, t);
      const std::string name = "trial_" + std::to_string(n);
      const std::string model = (report_dir / "trials" / (name + ".pt")).string();
      const fs::path record = report_dir / "trials" / (name + ".json");
      // A finished trial is reused only when it was made for this very config, data, window and budget.
      const Json key = {{"config", Json::parse(config::to_json(c))}, {"data_hash", loaded.data_hash},
                        {"train_first", r.training.first},           {"validation_first", r.validation.first},
                        {"validation_last", r.validation.last},      {"trial_timesteps", r.trial_timesteps}};
      if (const auto earlier = read_trial(record, key)) {
        t.validation_sharpe = earlier->first;
        t.validation_return = earlier->second;
        t.resumed = true;
        scored[index] = t;
        finished[index] = 1;
        progress.skip(index);
        return;
      }
      progress.begin(index, name + ": ");
      const auto trained = train(
          c, model, validation_first, r.trial_timesteps, (report_dir / "trials" / name).string(),
          jobs > 1 ? 1 : spec.threads, false,
          [&progress, index](std::int64_t done, const ProgressEstimate& training) {
            progress.report(index, static_cast<std::uint64_t>(std::max<std::int64_t>(0, done)), training);
          },
          &failed);
      if (trained.interrupted) {
        fs::remove(model);
        interrupted = true;
        return;
      }
      const auto agent = agent::Agent::load(model);
      const auto run = run_strategy(
          loaded.market, backtest_config(c), validation_first, test_first, "agent",
          [&](std::span<const float> obs, std::span<std::int32_t> act) { agent->act(obs, act); }, seed);
      t.validation_sharpe = run.metrics.sharpe;
      t.validation_return = run.metrics.total_return;
      fs::remove(model);  // its metrics stay beside it; the final model is trained anew
      const Json scored_record{
          {"key", key}, {"validation_sharpe", t.validation_sharpe}, {"validation_return", t.validation_return}};
      write_file_atomic(record, json_text(scored_record) + "\n");
      spdlog::debug("trial {}: validation sharpe {:.3f}", n, t.validation_sharpe);
      scored[index] = t;
      finished[index] = 1;
      progress.end(index);
    };
    const std::size_t begun = run_jobs(
        scored.size(), jobs, run_trial,
        [&](std::size_t index) {
          if (interrupted || (spec.stop != nullptr && spec.stop->load())) return false;
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          return a.search.timeout_seconds <= 0 || elapsed < a.search.timeout_seconds || index == 0;
        },
        &failed);
    if (interrupted || (spec.stop != nullptr && spec.stop->load() && begun < scored.size())) {
      for (std::size_t i = 0; i < scored.size(); ++i)
        if (finished[i]) r.trials.push_back(scored[i]);
      r.interrupted = true;
      return r;
    }
    if (begun < scored.size())
      spdlog::warn("search: timeout_seconds {} reached after {} of {} trials", a.search.timeout_seconds, begun, trials);
    for (std::size_t i = 0; i < begun; ++i) r.trials.push_back(scored[i]);
    progress.finish();
    // Best validation Sharpe; ties go to the higher return, then to the earlier trial.
    const auto best =
        std::max_element(r.trials.begin(), r.trials.end(), [](const SearchTrial& x, const SearchTrial& y) {
          if (x.validation_sharpe != y.validation_sharpe) return x.validation_sharpe < y.validation_sharpe;
          if (x.validation_return != y.validation_return) return x.validation_return < y.validation_return;
          return x.number > y.number;
        });
    r.chosen = *best;
  }

  // 5. The final model: the chosen values, trained on everything before the test window.
  const config::Config final_config = with_trial(config, r.chosen);
  const std::string output = spec.output.empty() ? config.training.output : spec.output;
  const std::string candidate = tagged_path(output, ".candidate");
  if (train(final_config, candidate, test_first, r.timesteps, (report_dir / "final").string(), spec.threads,
            spec.progress, {})
          .interrupted) {
    fs::remove(candidate);  // the final training starts again on the next run; the trials are kept
    r.interrupted = true;
    return r;
  }

  // 6. The acceptance test on the held-out sessions.
  const auto agent = agent::Agent::load(candidate);
  const auto bt = run_backtest(
      loaded.market, backtest_config(final_config), test_first, test_last,
      [&](std::span<const float> obs, std::span<std::int32_t> act) { agent->act(obs, act); }, seed);
  r.test_agent = bt.agent.metrics;
  r.test_costs = bt.agent.costs;
  r.test_buy_and_hold = bt.baselines.front().metrics;
  std::tie(r.test_sharpe_ci_low, r.test_sharpe_ci_high) =
      bootstrap_sharpe_ci(bt.agent.equity, 2000, 5, periods_per_year(m), derive_seed(seed, "autonomous_bootstrap"));
  r.accepted = r.test_agent.sharpe >= r.min_sharpe;
  // A rejected model never replaces the model at `output`.
  r.model_path = r.accepted ? output : tagged_path(output, ".rejected");
  fs::rename(candidate, r.model_path);
  ensure_writable_directory(report_dir);
  write_file_atomic(report_dir / "autonomous.json", autonomous_json(r) + "\n");
  return r;
}

std::string autonomous_json(const AutonomousResult& r) {
  Json candidates = Json::array();
  for (const auto& c : r.candidates)
    candidates.push_back({{"ticker", c.ticker},
                          {"mean_volume", c.mean_volume},
                          {"mean_dollar_volume", c.mean_dollar_volume},
                          {"selected", c.selected},
                          {"reason", c.reason}});
  Json trials = Json::array();
  for (const auto& t : r.trials) trials.push_back(trial_json(t));
  Json chosen = trial_json(r.chosen);
  chosen.erase("validation_sharpe");
  chosen.erase("validation_return");
  chosen.erase("resumed");
  Json j;
  j["regime"] = {{"ticker", r.regime.ticker},         {"as_of", r.regime.as_of},
                 {"sessions", r.regime.sessions},     {"total_return", r.regime.total_return},
                 {"volatility", r.regime.volatility}, {"close_vs_sma", r.regime.close_vs_sma},
                 {"trend", r.regime.trend},           {"high_volatility", r.regime.high_volatility}};
  j["candidates"] = candidates;
  j["tickers"] = r.tickers;
  j["windows"] = {
      {"training", window_json(r.training)}, {"validation", window_json(r.validation)}, {"test", window_json(r.test)}};
  j["timesteps"] = r.timesteps;
  j["trial_timesteps"] = r.trial_timesteps;
  j["trials"] = trials;
  j["chosen"] = chosen;
  j["test"] = {{"agent", risk::metrics_to_json(r.test_agent)},
               {"buy_and_hold", risk::metrics_to_json(r.test_buy_and_hold)},
               {"costs", r.test_costs},
               {"sharpe_ci_95", {r.test_sharpe_ci_low, r.test_sharpe_ci_high}}};
  j["min_sharpe"] = r.min_sharpe;
  j["accepted"] = r.accepted;
  j["interrupted"] = r.interrupted;
  j["model"] = r.model_path;
  return json_text(j, 2);
}

std::string autonomous_text(const AutonomousResult& r) {
  std::string out;
  out += "regime     " + r.regime.ticker + " over " + std::to_string(r.regime.sessions) + " sessions to " +
         r.regime.as_of + ": " + r.regime.trend + (r.regime.high_volatility ? ", high volatility" : "") + " (return " +
         svg::num(100 * r.regime.total_return) + "%, volatility " + svg::num(100 * r.regime.volatility, 1) + "%)\n";
  out += "selected   ";
  for (std::size_t i = 0; i < r.tickers.size(); ++i) out += (i ? " " : "") + r.tickers[i];
  out += " (" + std::to_string(r.tickers.size()) + " of " + std::to_string(r.candidates.size()) +
         " candidates, by dollar volume)\n";
  std::string without;
  for (const auto& c : r.candidates)
    if (c.reason.rfind("no data", 0) == 0) without += (without.empty() ? "" : " ") + c.ticker;
  if (!without.empty()) out += "no data    " + without + " (left out of the selection)\n";
  out += "windows    search trains " + bar_time_text(r.training.first) + " .. " + bar_time_text(r.validation.first) +
         " and validates to " + bar_time_text(r.validation.last) + " (" + std::to_string(r.validation.bars) +
         " bars); the final model trains to " + bar_time_text(r.training.last) + " (" +
         std::to_string(r.training.bars) + " bars); test " + bar_time_text(r.test.first) + " .. " +
         bar_time_text(r.test.last) + " (" + std::to_string(r.test.bars) + " bars)\n";
  std::size_t resumed = 0;
  for (const auto& t : r.trials) resumed += t.resumed;
  if (r.interrupted) {
    out += "INTERRUPTED after " + std::to_string(r.trials.size()) + " finished trials (" + std::to_string(resumed) +
           " of them from an earlier run); the same command continues: finished trials are kept, the training "
           "in flight starts again\n";
    return out;
  }
  if (r.trials.empty()) {
    out += "search     off: the config's hyper-parameters\n";
  } else {
    out += "search     " + std::to_string(r.trials.size()) + " trials of " + std::to_string(r.trial_timesteps) +
           " steps, best validation Sharpe " + svg::num(r.chosen.validation_sharpe) + " (trial " +
           std::to_string(r.chosen.number) + (r.chosen.number == 1 ? ", the config's own values" : "") + ")" +
           (resumed > 0 ? "; " + std::to_string(resumed) + " trials read from an earlier run" : "") + "\n";
  }
  char rates[64];
  std::snprintf(rates, sizeof rates, "learning_rate %.3g, ent_coef %.3g", r.chosen.learning_rate, r.chosen.ent_coef);
  out += std::string("chosen     ") + rates + ", gamma " + svg::num(r.chosen.gamma, 4) + ", gae_lambda " +
         svg::num(r.chosen.gae_lambda, 4) + ", clip_range " + svg::num(r.chosen.clip_range, 3) + "; trained " +
         std::to_string(r.timesteps) + " steps\n";
  out += "test       sharpe " + svg::num(r.test_agent.sharpe) + " (95% bootstrap interval " +
         svg::num(r.test_sharpe_ci_low) + " .. " + svg::num(r.test_sharpe_ci_high) + "), return " +
         svg::num(100 * r.test_agent.total_return) + "% after costs (" + svg::num(r.test_costs) +
         " USD), max drawdown " + svg::num(100 * r.test_agent.max_drawdown) + "%; buy-and-hold sharpe " +
         svg::num(r.test_buy_and_hold.sharpe) + ", return " + svg::num(100 * r.test_buy_and_hold.total_return) + "%\n";
  out += std::string(r.accepted ? "ACCEPTED" : "REJECTED") + "   sharpe " + svg::num(r.test_agent.sharpe) +
         (r.accepted ? " >= " : " < ") + "min_sharpe " + svg::num(r.min_sharpe) + ": model " + r.model_path + "\n";
  return out;
}

}  // namespace ploutos::backtest
