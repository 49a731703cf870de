#include "ploutos/backtest/walk_forward.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "metrics_json.hpp"
#include "ploutos/config/config.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/parallel.hpp"
#include "ploutos/core/progress.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/core/svg.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/rl/ppo.hpp"
#include "ploutos/rl/runtime.hpp"

namespace ploutos::backtest {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

Day minus_months(Day day, int months) {
  using namespace std::chrono;
  year_month_day ymd{day};
  ymd -= std::chrono::months{months};
  if (!ymd.ok()) ymd = ymd.year() / ymd.month() / last;
  return sys_days{ymd};
}

risk::Metrics metrics_from(const nlohmann::json& j) {
  risk::Metrics m;
  m.total_return = j.at("total_return").get<double>();
  m.annual_return = j.at("annual_return").get<double>();
  m.volatility = j.at("volatility").get<double>();
  m.sharpe = j.at("sharpe").get<double>();
  m.sortino = j.at("sortino").get<double>();
  m.calmar = j.at("calmar").get<double>();
  m.max_drawdown = j.at("max_drawdown").get<double>();
  m.win_rate = j.at("win_rate").get<double>();
  // null: no losing trade (+inf, which JSON cannot hold).
  m.profit_factor =
      j.at("profit_factor").is_null() ? std::numeric_limits<double>::infinity() : j.at("profit_factor").get<double>();
  m.turnover = j.at("turnover").get<double>();
  m.trades = j.at("trades").get<std::size_t>();
  return m;
}

// Raised whenever a fold's numbers would change for the same inputs (2: buy-and-hold buys once).
constexpr int kFoldRecordVersion = 2;

// Every setting that can change a fold's training or backtest, as JSON: the configuration without
// its names, paths and thread count, and without the sections a walk-forward never reads.
Json settings_of_a_run(const config::Config& config) {
  Json j = Json::parse(config::to_json(config));
  for (const char* unused : {"name", "description", "backtest", "broker", "trading", "autonomous"}) j.erase(unused);
  j["data"].erase("dir");
  for (const char* unused : {"output", "runs_dir", "threads", "checkpoint_freq"}) j["training"].erase(unused);
  return j;
}

// Per-period Sharpe of an equity curve's bar returns.
double period_sharpe(const std::vector<double>& equity) {
  std::vector<double> r;
  for (std::size_t i = 1; i < equity.size(); ++i) r.push_back(equity[i] / equity[i - 1] - 1);
  const auto s = summarize(r);
  return s.std > 0 ? s.mean / s.std : 0.0;
}

std::string run_name(int fold, int seed) {
  return std::string("fold").append(std::to_string(fold)).append("_seed").append(std::to_string(seed));
}

}  // namespace

Summary summarize(const std::vector<double>& v) {
  Summary s;
  if (v.empty()) return s;
  for (const double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (const double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

std::vector<FoldWindow> plan_folds(const env::MarketData& m, const WalkForwardSpec& spec) {
  if (spec.folds < 1 || spec.seeds < 1 || spec.test_months < 1 || !(spec.train_years > 0) || spec.purge_days < 0 ||
      spec.embargo_days < 0)
    throw InputError(
        "walk-forward: folds, seeds, test months and train years must be positive; purge and embargo >= 0");
  if (spec.purge_days < 1)
    throw InputError(
        "walk-forward: --purge-days must be at least 1 (the reward of a decision is realised on the next bar)");
  std::vector<FoldWindow> out(static_cast<std::size_t>(spec.folds));
  std::size_t test_last = m.last_bar;
  for (int k = spec.folds - 1; k >= 0; --k) {
    FoldWindow& w = out[static_cast<std::size_t>(k)];
    w.fold = k + 1;
    w.test_last = test_last;
    const Day start = minus_months(m.new_york_day[test_last], spec.test_months);
    std::size_t first = test_last;
    while (first > m.first_bar && m.new_york_day[first - 1] > start) --first;
    w.test_first = first;
    const std::size_t gap = static_cast<std::size_t>(spec.purge_days) + static_cast<std::size_t>(spec.embargo_days);
    if (w.test_first < m.first_bar + gap + 20)
      throw InputError("walk-forward: fold " + std::to_string(w.fold) + " leaves no training data before " +
                       format_day(m.new_york_day[w.test_first]) + "; use fewer folds or shorter test windows");
    w.train_last = w.test_first - gap - 1;
    const Day train_start =
        m.new_york_day[w.train_last] - std::chrono::days{static_cast<int>(std::lround(spec.train_years * 365.25))};
    std::size_t tf = w.train_last;
    while (tf > m.first_bar && m.new_york_day[tf - 1] >= train_start) --tf;
    w.train_first = tf;
    if (w.train_last < w.train_first + 20)
      throw InputError("walk-forward: fold " + std::to_string(w.fold) + " has only " +
                       std::to_string(w.train_last - w.train_first + 1) + " training bars");
    if (w.test_first == 0 || w.test_first <= m.first_bar) break;
    test_last = w.test_first - 1;
  }
  return out;
}

WalkForwardResult run_walk_forward(const config::Config& config, const env::LoadedMarket& loaded,
                                   const WalkForwardSpec& spec) {
  const auto& m = *loaded.market;
  WalkForwardResult result;
  result.spec = spec;
  result.windows = plan_folds(m, spec);
  result.time = m.time;
  const fs::path out(spec.out_dir);
  ensure_writable_directory(out / "folds");
  ensure_writable_directory(out / "models");
  const int jobs = std::max(1, spec.jobs);
  const std::size_t n_runs = result.windows.size() * static_cast<std::size_t>(spec.seeds);
  StudyProgress progress("walk-forward", n_runs, 1, ProgressOptions{"runs", !spec.progress}, jobs);
  // Side by side, each training runs on one thread, and OpenBLAS (one thread count for the whole
  // process) on one thread each, so a run computes the same numbers whatever else runs.
  const rl::ScopedBlasThreads one_blas_thread_each(jobs > 1 ? 1 : 0);
  const Json settings = settings_of_a_run(config);
  std::vector<FoldRun> planned(n_runs);
  std::vector<char> finished(n_runs, 0);
  std::atomic<bool> interrupted{false}, failed{false};  // failed: a run threw, the others stop
  auto run_one = [&](std::size_t index) {
    const FoldWindow& w = result.windows[index / static_cast<std::size_t>(spec.seeds)];
    const int s = static_cast<int>(index % static_cast<std::size_t>(spec.seeds)) + 1;
    FoldRun& run = planned[index];
    run.fold = w.fold;
    run.seed = s;
    run.training_seed = derive_seed(config.training.seed, "walk_forward",
                                    static_cast<std::uint64_t>(w.fold) * 1000 + static_cast<std::uint64_t>(s));
    const fs::path file = out / "folds" / (run_name(w.fold, s) + ".json");
    // A finished run is reused only when it was made for this very window, seed and budget.
    const Json key = {{"record_version", kFoldRecordVersion},
                      {"train_first", format_instant(m.time[w.train_first])},
                      {"train_last", format_instant(m.time[w.train_last])},
                      {"test_first", format_instant(m.time[w.test_first])},
                      {"test_last", format_instant(m.time[w.test_last])},
                      {"training_seed", run.training_seed},
                      {"timesteps", spec.timesteps},
                      {"data_hash", loaded.data_hash},
                      {"settings", settings}};
    if (fs::exists(file)) {
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      try {
        const auto j = nlohmann::json::parse(text.str());
        if (j.at("key") == nlohmann::json::parse(json_text(key))) {
          run.agent = metrics_from(j.at("agent"));
          run.buy_and_hold = metrics_from(j.at("buy_and_hold"));
          run.costs = j.at("costs").get<double>();
          run.equity = j.at("equity").get<std::vector<double>>();
          run.buy_and_hold_equity = j.at("buy_and_hold_equity").get<std::vector<double>>();
          run.resumed = true;
        }
      } catch (const nlohmann::json::exception&) {
        spdlog::warn("{}: unreadable, recomputing", file.string());
      }
    }
    if (run.resumed) {
      progress.skip(index);
      finished[index] = 1;
      return;
    }
    config::Config c = config;
    c.training.seed = run.training_seed;
    rl::TrainRequest req;
    req.config = c;
    req.market = loaded;
    req.output = (out / "models" / (run_name(w.fold, s) + ".pt")).string();
    req.total_timesteps = spec.timesteps;
    req.threads = jobs > 1 ? 1 : spec.threads;
    req.validation_fraction = 0.0;  // nothing after the training window is seen
    req.metrics_dir = (out / "runs" / run_name(w.fold, s)).string();
    req.progress = false;
    req.window_first = w.train_first;
    req.window_last = w.train_last;
    req.on_progress = [&progress, index](std::int64_t, const ProgressEstimate& training) {
      progress.report(index, 0, training);
    };
    req.stop = spec.stop;
    req.cancel = &failed;
    progress.begin(index, "fold " + std::to_string(w.fold) + " seed " + std::to_string(s) + ": ");
    if (rl::train(req).interrupted) {
      fs::remove(req.output);  // a fold's training starts again from scratch on the next run
      interrupted = true;
      return;
    }
    auto agent = agent::Agent::load(req.output);
    const auto bt = run_backtest(
        loaded.market, env::env_config_from(c, env::Mode::kBacktest), w.test_first, w.test_last,
        [&](std::span<const float> obs, std::span<std::int32_t> a) { agent->act(obs, a); }, run.training_seed);
    run.agent = bt.agent.metrics;
    run.costs = bt.agent.costs;
    run.equity = bt.agent.equity;
    run.buy_and_hold = bt.baselines.front().metrics;
    run.buy_and_hold_equity = bt.baselines.front().equity;
    Json j = {{"key", key},
              {"fold", w.fold},
              {"seed", s},
              {"agent", metrics_to_json(run.agent)},
              {"buy_and_hold", metrics_to_json(run.buy_and_hold)},
              {"costs", run.costs},
              {"equity", run.equity},
              {"buy_and_hold_equity", run.buy_and_hold_equity}};
    write_file_atomic(file, json_text(j) + "\n");
    finished[index] = 1;
    progress.end(index);
  };
  run_jobs(
      n_runs, jobs, run_one, [&](std::size_t) { return !interrupted && !(spec.stop != nullptr && spec.stop->load()); },
      &failed);
  for (std::size_t i = 0; i < n_runs; ++i)
    if (finished[i]) result.runs.push_back(std::move(planned[i]));
  if (result.runs.size() < n_runs) {  // stopped: a run was interrupted or never started
    result.interrupted = true;
    return result;
  }
  progress.finish();

  // Aggregates over every run, then per fold (seeds averaged).
  std::vector<double> tr, sh, so, dd, wr, tc, trial_sharpes;
  for (const auto& r : result.runs) {
    tr.push_back(r.agent.total_return);
    sh.push_back(r.agent.sharpe);
    so.push_back(r.agent.sortino);
    dd.push_back(r.agent.max_drawdown);
    wr.push_back(r.agent.win_rate);
    tc.push_back(static_cast<double>(r.agent.trades));
    trial_sharpes.push_back(period_sharpe(r.equity));
  }
  result.total_return = summarize(tr);
  result.sharpe = summarize(sh);
  result.sortino = summarize(so);
  result.max_drawdown = summarize(dd);
  result.win_rate = summarize(wr);
  result.trades = summarize(tc);
  int beating = 0;
  result.oos_equity.assign(1, 1.0);
  result.oos_buy_and_hold.assign(1, 1.0);
  for (const auto& w : result.windows) {
    std::vector<const FoldRun*> runs;
    for (const auto& r : result.runs) {
      if (r.fold == w.fold) runs.push_back(&r);
    }
    double agent_return = 0;
    for (const auto* r : runs) agent_return += r->agent.total_return / static_cast<double>(runs.size());
    if (agent_return > runs.front()->buy_and_hold.total_return) ++beating;
    const std::size_t n = runs.front()->equity.size();
    const double base = result.oos_equity.back(), base_bh = result.oos_buy_and_hold.back();
    for (std::size_t i = 1; i < n; ++i) {
      double mean = 0;
      for (const auto* r : runs) mean += r->equity[std::min(i, r->equity.size() - 1)] / r->equity.front();
      result.oos_equity.push_back(base * mean / static_cast<double>(runs.size()));
      const auto& bh = runs.front()->buy_and_hold_equity;
      result.oos_buy_and_hold.push_back(base_bh * bh[std::min(i, bh.size() - 1)] / bh.front());
    }
  }
  result.share_of_folds_beating_buy_and_hold =
      static_cast<double>(beating) / static_cast<double>(result.windows.size());
  std::vector<double> returns;
  for (std::size_t i = 1; i < result.oos_equity.size(); ++i)
    returns.push_back(result.oos_equity[i] / result.oos_equity[i - 1] - 1);
  result.deflated = risk::deflated_sharpe(returns, trial_sharpes);
  return result;
}

std::string walk_forward_json(const WalkForwardResult& r) {
  const auto& m = r.time;
  auto day = [&m](std::size_t bar) { return format_day(std::chrono::floor<std::chrono::days>(m[bar])); };
  const auto summary = summary_to_json;
  Json folds = Json::array();
  for (const auto& w : r.windows) {
    Json seeds = Json::array();
    std::vector<double> returns, sharpes;
    double bh = 0;
    for (const auto& run : r.runs) {
      if (run.fold != w.fold) continue;
      Json s = metrics_to_json(run.agent);
      s["seed"] = run.seed;
      s["training_seed"] = run.training_seed;
      s["costs"] = run.costs;
      s["resumed"] = run.resumed;
      seeds.push_back(s);
      returns.push_back(run.agent.total_return);
      sharpes.push_back(run.agent.sharpe);
      bh = run.buy_and_hold.total_return;
    }
    const auto ret = summarize(returns);
    folds.push_back(
        {{"fold", w.fold},
         {"train",
          {{"first", day(w.train_first)}, {"last", day(w.train_last)}, {"bars", w.train_last - w.train_first + 1}}},
         {"test", {{"first", day(w.test_first)}, {"last", day(w.test_last)}, {"bars", w.test_last - w.test_first + 1}}},
         {"total_return", summary(ret)},
         {"sharpe", summary(summarize(sharpes))},
         {"buy_and_hold_return", bh},
         {"beats_buy_and_hold", ret.mean > bh},
         {"seeds", seeds}});
  }
  Json j = {{"folds", r.spec.folds},
            {"seeds", r.spec.seeds},
            {"train_years", r.spec.train_years},
            {"test_months", r.spec.test_months},
            {"purge_days", r.spec.purge_days},
            {"embargo_days", r.spec.embargo_days},
            {"timesteps", r.spec.timesteps},
            {"out_of_sample",
             {{"total_return", summary(r.total_return)},
              {"sharpe", summary(r.sharpe)},
              {"sortino", summary(r.sortino)},
              {"max_drawdown", summary(r.max_drawdown)},
              {"win_rate", summary(r.win_rate)},
              {"trades", summary(r.trades)}}},
            {"share_of_folds_beating_buy_and_hold", r.share_of_folds_beating_buy_and_hold},
            {"deflated_sharpe",
             {{"sharpe_per_period", r.deflated.sharpe},
              {"benchmark_per_period", r.deflated.benchmark},
              {"probability", r.deflated.probability},
              {"trials", r.deflated.trials},
              {"periods", r.deflated.periods},
              {"skewness", r.deflated.skewness},
              {"kurtosis", r.deflated.kurtosis}}},
            {"fold_results", folds},
            {"oos_equity", r.oos_equity},
            {"oos_buy_and_hold", r.oos_buy_and_hold}};
  return json_text(j, 2);
}

std::string walk_forward_table(const WalkForwardResult& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-5s %-23s %-23s %18s %16s %10s\n", "fold", "train", "test", "return mean±sd",
                "sharpe mean±sd", "buy&hold");
  out += line;
  for (const auto& w : r.windows) {
    std::vector<double> ret, sh;
    double bh = 0;
    for (const auto& run : r.runs) {
      if (run.fold != w.fold) continue;
      ret.push_back(run.agent.total_return);
      sh.push_back(run.agent.sharpe);
      bh = run.buy_and_hold.total_return;
    }
    const auto a = summarize(ret), b = summarize(sh);
    auto day = [&](std::size_t bar) { return format_day(std::chrono::floor<std::chrono::days>(r.time[bar])); };
    std::snprintf(line, sizeof line, "%-5d %s..%s %s..%s %8.2f%% ±%6.2f%% %7.2f ±%6.2f %9.2f%%\n", w.fold,
                  day(w.train_first).c_str(), day(w.train_last).c_str(), day(w.test_first).c_str(),
                  day(w.test_last).c_str(), 100 * a.mean, 100 * a.std, b.mean, b.std, 100 * bh);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "out of sample: return %.2f%% ± %.2f%%, sharpe %.2f ± %.2f, max drawdown %.2f%%; folds beating "
                "buy-and-hold %.0f%%; deflated Sharpe probability %.3f (%zu trials)\n",
                100 * r.total_return.mean, 100 * r.total_return.std, r.sharpe.mean, r.sharpe.std,
                100 * r.max_drawdown.mean, 100 * r.share_of_folds_beating_buy_and_hold, r.deflated.probability,
                r.deflated.trials);
  out += line;
  return out;
}

std::string walk_forward_html(const WalkForwardResult& r) {
  using namespace svg;
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Ploutos walk-forward</title>"
      "<style>body{font-family:sans-serif;margin:24px;color:#222}pre{font-size:12px;white-space:pre-wrap}</style>"
      "</head><body>";
  html += "<h1>Walk-forward: " + std::to_string(r.spec.folds) + " folds x " + std::to_string(r.spec.seeds) +
          " seeds, out of sample, after costs</h1>";
  const auto first = format_day(std::chrono::floor<std::chrono::days>(r.time[r.windows.front().test_first]));
  const auto last = format_day(std::chrono::floor<std::chrono::days>(r.time[r.windows.back().test_last]));
  html += line_chart("chained out-of-sample equity (seeds averaged), start = 1",
                     {{"agent", &r.oos_equity, kColours[0]}, {"buy and hold", &r.oos_buy_and_hold, kColours[1]}}, first,
                     last);
  html += "<pre>" + escape(walk_forward_table(r)) + "</pre>";
  html += "<p>Each fold trains fresh agents on its training window only; the window ends " +
          std::to_string(r.spec.purge_days + r.spec.embargo_days) +
          " sessions (purge + embargo) before its test window. Details: walk_forward.json.</p></body></html>\n";
  return html;
}

}  // namespace ploutos::backtest
