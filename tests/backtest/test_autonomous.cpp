// The autonomous pipeline: the regime and the selection from hand-made bars with known answers,
// the seeded search space, and the pipeline's contract that nothing but the acceptance test sees
// the test window: changing every bar after the test's first decision bar changes the test's
// result and nothing else (same regime, selection, trial scores, choice and final weights). The
// market is short, so every training episode runs to the end of its window: a training window
// reaching even 3 bars into the test changes the final weights (checked by hand: it fails then).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ploutos/agent/agent.hpp"
#include "ploutos/backtest/autonomous.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/data/csv.hpp"
#include "ploutos/data/synthetic.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/load.hpp"

namespace ploutos::backtest {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ploutos_autonomous_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Daily bars on consecutive days from 2024-01-01 (the pipeline's sessions are the bars' dates).
data::BarSeries daily(const std::string& ticker, const std::vector<double>& closes, double volume) {
  data::BarSeries s;
  s.ticker = ticker;
  s.timeframe = data::Timeframe::k1d;
  const Day first{std::chrono::year{2024} / 1 / 1};
  for (std::size_t i = 0; i < closes.size(); ++i) {
    s.time.push_back(Instant{first + std::chrono::days{static_cast<int>(i)}});
    s.open.push_back(closes[i]);
    s.high.push_back(closes[i]);
    s.low.push_back(closes[i]);
    s.close.push_back(closes[i]);
    s.volume.push_back(volume);
  }
  return s;
}

Instant day(int offset) {
  return Instant{Day{std::chrono::year{2024} / 1 / 1} + std::chrono::days{offset}};
}

TEST(Autonomous, SelectionRanksByDollarVolumeAboveMinVolumeAndIgnoresLaterBars) {
  std::vector<data::BarSeries> candidates{
      daily("THIN", std::vector<double>(30, 500.0), 900),      // below min_volume: never selected
      daily("CHEAP", std::vector<double>(30, 5.0), 100'000),   // 500 k USD a session
      daily("MID", std::vector<double>(30, 50.0), 20'000),     // 1 M
      daily("RICH", std::vector<double>(30, 100.0), 30'000)};  // 3 M
  // After day 19 CHEAP trades a fortune: the selection as of day 19 must not see it.
  for (std::size_t i = 20; i < 30; ++i) candidates[1].volume[i] = 1e9;
  config::SelectionConfig selection;
  selection.n_assets = 2;
  selection.min_volume = 1000;
  const auto picked = select_assets(candidates, selection, 10, day(19));
  ASSERT_EQ(picked.size(), 4u);
  EXPECT_FALSE(picked[0].selected);
  EXPECT_NE(picked[0].reason.find("below min_volume"), std::string::npos) << picked[0].reason;
  EXPECT_FALSE(picked[1].selected) << "CHEAP's later volume leaked into the selection";
  EXPECT_TRUE(picked[2].selected);
  EXPECT_TRUE(picked[3].selected);
  EXPECT_DOUBLE_EQ(picked[3].mean_dollar_volume, 3e6);
  EXPECT_NE(picked[3].reason.find("rank 1 of 3"), std::string::npos) << picked[3].reason;
  // As of day 29 CHEAP's volume counts.
  EXPECT_TRUE(select_assets(candidates, selection, 10, day(29))[1].selected);
  selection.min_volume = 1e12;
  EXPECT_THROW(select_assets(candidates, selection, 10, day(19)), InputError);
}

TEST(Autonomous, RegimeFromTheSessionClosesUpToItsDay) {
  std::vector<double> rising, falling, flat;
  for (int i = 0; i < 40; ++i) {
    rising.push_back(100 * std::pow(1.01, i));
    falling.push_back(100 * std::pow(0.99, i));
    flat.push_back(100 + (i % 2 == 0 ? 1.0 : -1.0));
  }
  const auto bull = measure_regime(daily("UP", rising, 1), 20, day(29));
  EXPECT_EQ(bull.trend, "bull");
  EXPECT_EQ(bull.sessions, 20);
  EXPECT_EQ(bull.as_of, "2024-01-30");
  EXPECT_NEAR(bull.total_return, std::pow(1.01, 20) - 1, 1e-12) << "closes of day 9 to day 29";
  EXPECT_NEAR(bull.volatility, 0.0, 1e-9) << "constant returns";
  EXPECT_FALSE(bull.high_volatility);
  EXPECT_EQ(measure_regime(daily("DOWN", falling, 1), 20, day(29)).trend, "bear");
  const auto side = measure_regime(daily("FLAT", flat, 1), 20, day(29));
  EXPECT_EQ(side.trend, "sideways");
  EXPECT_TRUE(side.high_volatility) << "+-2% a day is ~32% a year";
  // Later bars change nothing.
  auto crash = rising;
  for (std::size_t i = 30; i < crash.size(); ++i) crash[i] = 1;
  EXPECT_DOUBLE_EQ(measure_regime(daily("UP", crash, 1), 20, day(29)).total_return, bull.total_return);
}

TEST(Autonomous, TrialOneIsTheConfigAndTheOthersAreSeededDrawsInTheirRanges) {
  config::PpoConfig ppo;
  const auto first = search_trial(ppo, 5, 1);
  EXPECT_EQ(first.learning_rate, ppo.learning_rate);
  EXPECT_EQ(first.ent_coef, ppo.ent_coef);
  EXPECT_EQ(first.gamma, ppo.gamma);
  for (int n = 2; n < 40; ++n) {
    const auto t = search_trial(ppo, 5, n);
    EXPECT_EQ(t.learning_rate, search_trial(ppo, 5, n).learning_rate) << "same seed, same trial";
    EXPECT_NE(t.learning_rate, search_trial(ppo, 6, n).learning_rate) << "another seed, another trial";
    EXPECT_GE(t.learning_rate, 1e-5);
    EXPECT_LT(t.learning_rate, 1e-3);
    EXPECT_GE(t.gamma, 0.95);
    EXPECT_LT(t.gamma, 0.999);
    EXPECT_GE(t.gae_lambda, 0.90);
    EXPECT_LT(t.gae_lambda, 0.99);
    EXPECT_GE(t.clip_range, 0.10);
    EXPECT_LT(t.clip_range, 0.30);
    EXPECT_GE(t.ent_coef, 1e-4);
    EXPECT_LT(t.ent_coef, 0.1);
  }
}

config::Config tiny_pipeline(const fs::path& dir) {
  config::Config c;
  c.data.tickers = {"SYNA", "SYNB", "SYNC", "SYND", "SYNE"};
  c.data.interval = "1d";
  c.environment.max_steps = 200;
  c.environment.train_start_min = 0;
  c.ppo.n_steps = 64;
  c.ppo.batch_size = 64;
  c.ppo.n_epochs = 2;
  c.ppo.net_arch = {{16}, {16}};
  c.training.n_envs = 2;
  c.training.seed = 11;
  c.autonomous.regime.reference_ticker = "SYNA";
  c.autonomous.regime.lookback_days = 60;
  c.autonomous.selection.n_assets = 3;
  c.autonomous.selection.min_volume = 1000;
  c.autonomous.search.enabled = true;
  c.autonomous.search.n_trials = 3;
  c.autonomous.validation.test_days = 40;
  c.autonomous.validation.min_sharpe = -1e9;
  c.training.output = (dir / "model.pt").string();
  return c;
}

// The same on the built-in synthetic market (3 years).
config::Config tiny_synthetic_pipeline(const fs::path& dir) {
  auto c = tiny_pipeline(dir);
  c.data.source = "synthetic";
  c.data.period = "3y";
  return c;
}

AutonomousSpec tiny_spec(const fs::path& data, const fs::path& out) {
  AutonomousSpec spec;
  spec.data_dir = data.string();
  spec.timesteps = 512;
  spec.trial_timesteps = 256;
  spec.threads = 1;
  spec.output = (out / "model.pt").string();
  spec.report_dir = (out / "report").string();
  spec.progress = false;
  return spec;
}

TEST(Autonomous, NothingButTheAcceptanceTestSeesTheTestWindow) {
  const auto dir = fresh_dir("lookahead");
  data::SyntheticOptions o;
  o.tickers = {"SYNA", "SYNB", "SYNC", "SYND", "SYNE"};
  o.sessions = 400;  // a short training window: every episode runs to its end
  o.seed = 3;
  const auto series = data::generate_synthetic(o);
  fs::create_directories(dir / "real");
  for (const auto& s : series) data::write_csv(dir / "real" / (s.ticker + ".csv"), s);
  const auto config = tiny_pipeline(dir);
  const auto a = run_autonomous(config, tiny_spec(dir / "real", dir / "a"));
  ASSERT_EQ(a.trials.size(), 3u);
  ASSERT_EQ(a.tickers.size(), 3u);
  EXPECT_EQ(a.test.bars, 41u) << "40 sessions and the bar of the first decision";
  EXPECT_TRUE(a.accepted);
  EXPECT_TRUE(fs::exists(a.model_path));
  EXPECT_LT(a.test_sharpe_ci_low, a.test_sharpe_ci_high);
  EXPECT_LE(a.test_sharpe_ci_low, a.test_agent.sharpe);
  EXPECT_GE(a.test_sharpe_ci_high, a.test_agent.sharpe);

  // Another future: every bar after the test's first decision bar moves, and the volume of the
  // least liquid candidate explodes (a selection that peeked would pick it).
  const Instant cutoff = parse_instant(a.test.first);
  std::string thinnest;
  double thinnest_volume = 1e300;
  for (const auto& c : a.candidates)
    if (c.mean_dollar_volume < thinnest_volume) {
      thinnest_volume = c.mean_dollar_volume;
      thinnest = c.ticker;
    }
  fs::create_directories(dir / "other");
  for (auto s : series) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s.time[i] <= cutoff) continue;
      const double f = 0.6 + 0.01 * static_cast<double>(i % 7);
      s.open[i] *= f;
      s.high[i] *= f;
      s.low[i] *= f;
      s.close[i] *= f;
      if (s.ticker == thinnest) s.volume[i] *= 1e4;
    }
    data::write_csv(dir / "other" / (s.ticker + ".csv"), s);
  }
  const auto b = run_autonomous(config, tiny_spec(dir / "other", dir / "b"));
  EXPECT_EQ(b.tickers, a.tickers);
  EXPECT_EQ(b.regime.total_return, a.regime.total_return);
  EXPECT_EQ(b.training.last, a.training.last);
  EXPECT_EQ(b.test.first, a.test.first);
  ASSERT_EQ(b.trials.size(), a.trials.size());
  for (std::size_t i = 0; i < a.trials.size(); ++i) {
    EXPECT_EQ(b.trials[i].learning_rate, a.trials[i].learning_rate);
    EXPECT_EQ(b.trials[i].validation_sharpe, a.trials[i].validation_sharpe) << "trial " << i + 1;
  }
  EXPECT_EQ(b.chosen.number, a.chosen.number);
  EXPECT_NE(b.test_agent.total_return, a.test_agent.total_return) << "the test window did change";
  // The two final models decide alike: run both over the same market.
  auto market_config = config;
  market_config.data.tickers = a.tickers;
  const auto market = env::load_market(market_config, (dir / "real").string());
  const auto env_config = env::env_config_from(market_config, env::Mode::kBacktest);
  const auto [first, last] = last_sessions(*market.market, 120);
  auto equity_of = [&](const std::string& model) {
    const auto agent = agent::Agent::load(model);
    return run_strategy(market.market, env_config, first, last, "agent",
                        [&](std::span<const float> obs, std::span<std::int32_t> act) { agent->act(obs, act); })
        .equity;
  };
  EXPECT_EQ(equity_of(a.model_path), equity_of(b.model_path));
  fs::remove_all(dir);
}

// A candidate without bars is reported and left out; a candidate whose bars are bad stops the run.
TEST(Autonomous, ACandidateWithoutDataIsLeftOutButBadDataStopsTheRun) {
  const auto dir = fresh_dir("missing");
  data::SyntheticOptions o;
  o.tickers = {"SYNA", "SYNB", "SYNC", "SYND", "SYNE"};
  o.sessions = 400;
  for (const auto& s : data::generate_synthetic(o))
    if (s.ticker != "SYNC") data::write_csv(dir / (s.ticker + ".csv"), s);
  auto config = tiny_pipeline(dir);
  config.autonomous.search.enabled = false;
  const auto r = run_autonomous(config, tiny_spec(dir, dir / "out"));
  ASSERT_EQ(r.candidates.size(), 5u);
  EXPECT_EQ(r.candidates[2].ticker, "SYNC") << "reported in the order of data.tickers";
  EXPECT_FALSE(r.candidates[2].selected);
  EXPECT_EQ(r.candidates[2].reason.rfind("no data: no 1d data for SYNC", 0), 0u) << r.candidates[2].reason;
  EXPECT_EQ(std::count(r.tickers.begin(), r.tickers.end(), "SYNC"), 0);
  EXPECT_EQ(r.tickers.size(), 3u);
  EXPECT_NE(autonomous_text(r).find("no data    SYNC"), std::string::npos) << autonomous_text(r);

  std::ofstream(dir / "SYNC.csv") << "date,open,high,low,close,volume\n2020-01-02,1,2,0.5,abc,100\n";
  EXPECT_THROW(run_autonomous(config, tiny_spec(dir, dir / "out")), InputError);
  fs::remove_all(dir);
}

// Ctrl-C stops the pipeline without a model; the same command then continues the search, reading
// every finished trial back instead of training it again.
TEST(Autonomous, AStoppedSearchContinuesWithItsFinishedTrials) {
  const auto dir = fresh_dir("resume");
  auto config = tiny_synthetic_pipeline(dir);
  auto spec = tiny_spec("", dir);
  std::atomic<bool> stop{true};
  spec.stop = &stop;
  const auto stopped = run_autonomous(config, spec);
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_TRUE(stopped.trials.empty());
  EXPECT_FALSE(fs::exists(spec.output));
  EXPECT_FALSE(fs::exists(dir / "model.candidate.pt"));
  EXPECT_NE(autonomous_text(stopped).find("INTERRUPTED"), std::string::npos);

  stop = false;
  spec.trials = 2;
  const auto two = run_autonomous(config, spec);
  ASSERT_FALSE(two.interrupted);
  ASSERT_EQ(two.trials.size(), 2u);
  EXPECT_FALSE(two.trials[0].resumed);
  spec.trials = 3;
  const auto three = run_autonomous(config, spec);
  ASSERT_EQ(three.trials.size(), 3u);
  EXPECT_TRUE(three.trials[0].resumed);
  EXPECT_TRUE(three.trials[1].resumed);
  EXPECT_FALSE(three.trials[2].resumed);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(three.trials[i].validation_sharpe, two.trials[i].validation_sharpe);
  // Another budget is another trial: nothing is reused.
  spec.trial_timesteps = 128;
  const auto other = run_autonomous(config, spec);
  for (const auto& t : other.trials) EXPECT_FALSE(t.resumed) << "trial " << t.number;
  fs::remove_all(dir);
}

TEST(Autonomous, ARejectedModelNeverReplacesTheAcceptedOne) {
  const auto dir = fresh_dir("gate");
  auto config = tiny_synthetic_pipeline(dir);
  config.autonomous.search.enabled = false;
  auto spec = tiny_spec("", dir);
  const auto accepted = run_autonomous(config, spec);
  ASSERT_TRUE(accepted.accepted);
  EXPECT_TRUE(accepted.trials.empty());
  // The model remembers the synthetic universe: its own config regenerates the bars it was selected
  // and trained on, not a market of its tickers alone.
  const auto model_config = agent::Agent::load(spec.output)->config();
  EXPECT_EQ(model_config.data.synthetic_universe, config.data.tickers);
  const auto candidates = env::load_series(config);
  for (const auto& s : env::load_series(model_config).series) {
    const auto same = std::find_if(candidates.series.begin(), candidates.series.end(),
                                   [&](const data::BarSeries& c) { return c.ticker == s.ticker; });
    ASSERT_NE(same, candidates.series.end()) << s.ticker;
    EXPECT_EQ(s.close, same->close) << s.ticker;
  }
  auto alone = model_config;
  alone.data.synthetic_universe.clear();
  EXPECT_NE(env::load_series(alone).series.front().close, env::load_series(model_config).series.front().close)
      << "generated alone, the tickers would be another market";
  EXPECT_EQ(accepted.chosen.number, 1) << "no search: the config's values";
  std::ifstream before_file(spec.output, std::ios::binary);
  std::stringstream before;
  before << before_file.rdbuf();
  // The same seed, the same bytes: another run into another directory.
  const auto again_spec = tiny_spec("", dir / "again");
  const auto again = run_autonomous(config, again_spec);
  std::ifstream again_file(again_spec.output, std::ios::binary);
  std::stringstream again_bytes;
  again_bytes << again_file.rdbuf();
  EXPECT_EQ(again_bytes.str(), before.str()) << "same seed, different model bytes";
  auto without_paths = [](AutonomousResult r) {
    r.model_path.clear();
    return autonomous_json(r);
  };
  EXPECT_EQ(without_paths(again), without_paths(accepted));
  config.autonomous.validation.min_sharpe = 1e9;
  const auto rejected = run_autonomous(config, spec);
  EXPECT_FALSE(rejected.accepted);
  EXPECT_EQ(rejected.model_path, (dir / "model.rejected.pt").string());
  EXPECT_TRUE(fs::exists(rejected.model_path));
  std::ifstream after_file(spec.output, std::ios::binary);
  std::stringstream after;
  after << after_file.rdbuf();
  EXPECT_EQ(after.str(), before.str()) << "the rejected model replaced the accepted one";
  EXPECT_FALSE(fs::exists(dir / "model.candidate.pt"));
  EXPECT_TRUE(fs::exists(dir / "report" / "autonomous.json"));

  config.autonomous.validation.test_days = 400;  // 3 years cannot hold training, 400 + 400 sessions
  EXPECT_THROW(run_autonomous(config, spec), InputError);
  config.autonomous.validation.test_days = 40;
  config.autonomous.selection.market_scan = true;
  EXPECT_THROW(run_autonomous(config, spec), NotImplementedError);
  fs::remove_all(dir);
}

// Trials side by side (search.n_jobs) score what one at a time on one thread scores, and the final
// model, trained on --threads as before, decides the same over the test window.
TEST(Autonomous, TrialsSideBySideScoreWhatOneAtATimeScores) {
  const auto dir = fresh_dir("jobs");
  auto config = tiny_synthetic_pipeline(dir);
  config.autonomous.search.n_trials = 4;
  const auto one_spec = tiny_spec("", dir / "one");
  const auto one = run_autonomous(config, one_spec);
  config.autonomous.search.n_jobs = 3;
  const auto three_spec = tiny_spec("", dir / "three");
  const auto three = run_autonomous(config, three_spec);
  ASSERT_EQ(one.trials.size(), 4u);
  ASSERT_EQ(three.trials.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(three.trials[i].number, one.trials[i].number);
    EXPECT_EQ(three.trials[i].validation_sharpe, one.trials[i].validation_sharpe) << "trial " << i + 1;
    EXPECT_EQ(three.trials[i].validation_return, one.trials[i].validation_return) << "trial " << i + 1;
  }
  EXPECT_EQ(three.chosen.number, one.chosen.number);
  EXPECT_EQ(three.test_agent.total_return, one.test_agent.total_return) << "the final model decides otherwise";
  EXPECT_EQ(three.test_agent.sharpe, one.test_agent.sharpe);
  fs::remove_all(dir);
}

// A trial that fails (its metrics directory is a file) fails the search at once: trial 1, which
// started first and would train for many seconds, stops, leaving neither a record nor a model.
TEST(Autonomous, AFailingTrialStopsTheTrialBesideIt) {
  const auto dir = fresh_dir("failing");
  auto config = tiny_synthetic_pipeline(dir);
  config.autonomous.search.n_trials = 2;
  config.autonomous.search.n_jobs = 2;
  auto spec = tiny_spec("", dir);
  spec.trial_timesteps = 1'000'000;
  fs::create_directories(dir / "report" / "trials");
  std::ofstream(dir / "report" / "trials" / "trial_2") << "not a directory";
  try {
    run_autonomous(config, spec);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("trial_2: cannot create directory"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "report" / "trials" / "trial_1.json")) << "trial 1 trained to its end";
  EXPECT_FALSE(fs::exists(dir / "report" / "trials" / "trial_1.pt")) << "the stopped training's checkpoint";
  EXPECT_FALSE(fs::exists(spec.output));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ploutos::backtest
