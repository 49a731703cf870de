// Walk-forward: fold windows at their boundaries (purge + embargo gaps, contiguous test windows),
// training that cannot see past its window, and the deflated Sharpe ratio against hand values.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../env/market_fixture.hpp"
#include "../support/tiny_training.hpp"
#include "ploutos/backtest/walk_forward.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/rl/ppo.hpp"

namespace ploutos::backtest {
namespace {

TEST(WalkForward, FoldsAreContiguousAndGappedByPurgeAndEmbargo) {
  const auto m = test::flat_market(1, 1200);  // consecutive days from 2020-01-02
  WalkForwardSpec spec;
  spec.folds = 4;
  spec.test_months = 2;
  spec.train_years = 1;
  spec.purge_days = 3;
  spec.embargo_days = 4;
  const auto folds = plan_folds(m, spec);
  ASSERT_EQ(folds.size(), 4u);
  EXPECT_EQ(folds.back().test_last, m.last_bar) << "the last test window ends with the data";
  for (std::size_t k = 0; k < folds.size(); ++k) {
    const auto& f = folds[k];
    EXPECT_EQ(f.fold, static_cast<int>(k) + 1);
    // Exactly purge + embargo bars lie between training and testing.
    EXPECT_EQ(f.test_first - f.train_last - 1, 7u) << "fold " << f.fold;
    // About two months of test bars, about one year of training bars.
    EXPECT_GE(f.test_last - f.test_first + 1, 59u);
    EXPECT_LE(f.test_last - f.test_first + 1, 62u);
    EXPECT_NEAR(static_cast<double>(f.train_last - f.train_first + 1), 366.0, 1.0);
    if (k + 1 < folds.size()) {
      EXPECT_EQ(f.test_last + 1, folds[k + 1].test_first) << "test windows are contiguous";
    }
  }
  spec.purge_days = 0;
  EXPECT_THROW(plan_folds(m, spec), InputError) << "the reward horizon needs a purge of at least one bar";
  spec.purge_days = 3;
  spec.folds = 30;
  EXPECT_THROW(plan_folds(m, spec), InputError) << "more folds than the data holds";
}

TEST(WalkForward, TrainingNeverSeesBarsAfterItsWindow) {
  auto market_with_tail = [](double tail_scale) {
    auto m = test::flat_market(1, 200, 100.0);
    Rng rng(3);
    double p = 100;
    for (std::size_t t = 0; t < 200; ++t) {
      const double scale = t > 100 ? tail_scale : 1.0;  // bars after the window differ
      const double c = p * (1 + scale * 0.02 * rng.normal());
      test::set_bar(m, t, 0, p, std::max(p, c) * 1.001, std::min(p, c) * 0.999, c);
      m.features[m.at(t, 0) * m.n_features] = static_cast<float>(c / p - 1);
      p = c;
    }
    env::LoadedMarket out;
    out.market = std::make_shared<const env::MarketData>(std::move(m));
    out.data_hash = "test";
    return out;
  };
  auto run = [](const env::LoadedMarket& market, const std::string& name) {
    auto req = test::tiny_training(market, {"T0"}, name, 512);
    req.config.environment.max_steps = 300;  // episodes run to the end of whatever window they get
    req.config.training.seed = 9;
    req.window_first = 0;
    req.window_last = 100;
    const auto r = rl::train(req);
    std::filesystem::remove(req.output);
    return r.history;
  };
  const auto a = run(market_with_tail(1.0), "wf_a");
  const auto b = run(market_with_tail(5.0), "wf_b");
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].policy_loss, b[i].policy_loss) << "update " << i;
    EXPECT_EQ(a[i].value_loss, b[i].value_loss) << "update " << i;
    EXPECT_EQ(a[i].episode_reward_mean, b[i].episode_reward_mean) << "update " << i;
  }
}

env::LoadedMarket random_walk() {
  env::LoadedMarket market;
  market.market = std::make_shared<const env::MarketData>(test::random_walk_market(700, 5));
  market.data_hash = "test";
  return market;
}

// Folds of a year's training and two months' test, trainings of `timesteps` on one thread.
WalkForwardSpec short_folds(int folds, int seeds, std::int64_t timesteps) {
  WalkForwardSpec spec;
  spec.folds = folds;
  spec.seeds = seeds;
  spec.train_years = 1;
  spec.test_months = 2;
  spec.timesteps = timesteps;
  spec.threads = 1;
  spec.progress = false;
  return spec;
}

// Ctrl-C: the training under way is dropped, the finished runs stay and the next run reuses them,
// as long as it asks for what they computed.
TEST(WalkForward, AStopKeepsTheFinishedRunsAndTheNextRunReusesThem) {
  const auto market = random_walk();
  config::Config c = test::tiny_training(market, {"T0"}, "unused", 128).config;
  WalkForwardSpec spec = short_folds(2, 1, 128);
  spec.out_dir = (std::filesystem::temp_directory_path() / ("ploutos_wf_stop_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(spec.out_dir);
  const std::atomic<bool> stop_now{true};
  spec.stop = &stop_now;
  const auto stopped = run_walk_forward(c, market, spec);
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_TRUE(stopped.runs.empty());
  EXPECT_TRUE(std::filesystem::is_empty(std::filesystem::path(spec.out_dir) / "folds"));
  EXPECT_TRUE(std::filesystem::is_empty(std::filesystem::path(spec.out_dir) / "models")) << "no half-trained model";
  spec.stop = nullptr;
  const auto done = run_walk_forward(c, market, spec);
  EXPECT_FALSE(done.interrupted);
  ASSERT_EQ(done.runs.size(), 2u);
  const auto again = run_walk_forward(c, market, spec);
  for (const auto& r : again.runs) EXPECT_TRUE(r.resumed);
  EXPECT_EQ(again.total_return.mean, done.total_return.mean);
  // Runs made under other settings are not this study's: a changed cost or PPO setting, or the
  // output path alone (which changes no number), decides whether they are reused.
  config::Config costlier = c;
  costlier.costs.spread_bps *= 4;
  for (const auto& r : run_walk_forward(costlier, market, spec).runs) EXPECT_FALSE(r.resumed);
  config::Config other_lr = c;
  other_lr.ppo.learning_rate *= 2;
  for (const auto& r : run_walk_forward(other_lr, market, spec).runs) EXPECT_FALSE(r.resumed);
  config::Config elsewhere = other_lr;
  elsewhere.training.output = "elsewhere.pt";
  elsewhere.training.runs_dir = "elsewhere";
  for (const auto& r : run_walk_forward(elsewhere, market, spec).runs) EXPECT_TRUE(r.resumed);
  std::filesystem::remove_all(spec.out_dir);
}

// Trainings side by side compute what one at a time on one thread computes, run for run, and a
// stop in the middle leaves only finished runs (each with its record), which the next run reuses.
TEST(WalkForward, JobsSideBySideGiveTheRunsOfOneJobAndStopCleanly) {
  const auto market = random_walk();
  config::Config c = test::tiny_training(market, {"T0"}, "unused", 2048).config;
  // Long enough trainings that the runs after the first wave are still training at the stop.
  WalkForwardSpec spec = short_folds(3, 2, 2048);
  const auto base = std::filesystem::temp_directory_path() / ("ploutos_wf_jobs_" + std::to_string(::getpid()));
  std::filesystem::remove_all(base);
  spec.out_dir = (base / "one").string();
  const auto one = run_walk_forward(c, market, spec);
  ASSERT_EQ(one.runs.size(), 6u);

  spec.jobs = 3;
  spec.threads = 0;  // ignored side by side: each training runs on one thread
  spec.out_dir = (base / "three").string();
  const auto folds = base / "three" / "folds";
  std::atomic<bool> stop{false};
  spec.stop = &stop;
  std::jthread stopper([&](std::stop_token done) {
    while (!done.stop_requested()) {  // stop once the first run has its record
      if (std::filesystem::exists(folds) && !std::filesystem::is_empty(folds)) {
        stop = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const auto stopped = run_walk_forward(c, market, spec);
  stopper.request_stop();
  stopper.join();
  std::size_t records = 0;
  for (const auto& f : std::filesystem::directory_iterator(folds)) records += f.path().extension() == ".json";
  ASSERT_TRUE(stopped.interrupted);
  EXPECT_EQ(stopped.runs.size(), records) << "every finished run has its record, and only they";
  EXPECT_LT(stopped.runs.size(), 6u);
  for (const auto& m : std::filesystem::directory_iterator(base / "three" / "models"))
    EXPECT_TRUE(std::filesystem::exists(folds / m.path().filename().replace_extension(".json")))
        << m.path() << ": a model without its run's record (half-trained?)";
  spec.stop = nullptr;
  const auto three = run_walk_forward(c, market, spec);
  ASSERT_FALSE(three.interrupted);
  ASSERT_EQ(three.runs.size(), one.runs.size());
  for (std::size_t i = 0; i < one.runs.size(); ++i) {
    EXPECT_EQ(three.runs[i].fold, one.runs[i].fold);
    EXPECT_EQ(three.runs[i].seed, one.runs[i].seed);
    EXPECT_EQ(three.runs[i].equity, one.runs[i].equity) << "run " << i;
    EXPECT_EQ(three.runs[i].costs, one.runs[i].costs) << "run " << i;
  }
  EXPECT_EQ(three.sharpe.mean, one.sharpe.mean);
  std::filesystem::remove_all(base);
}

// A run that fails (here: its metrics directory is a file) fails the walk-forward at once: the
// training beside it stops instead of finishing for a study that has already failed, and leaves
// neither a record nor a model. Runs start in index order, so the first (undisturbed, many seconds
// of training) has begun when the second fails.
TEST(WalkForward, AFailingRunStopsTheTrainingBesideIt) {
  const auto market = random_walk();
  config::Config c = test::tiny_training(market, {"T0"}, "unused", 2048).config;
  WalkForwardSpec spec = short_folds(1, 2, 1'000'000);
  spec.jobs = 2;
  const auto base = std::filesystem::temp_directory_path() / ("ploutos_wf_fail_" + std::to_string(::getpid()));
  std::filesystem::remove_all(base);
  spec.out_dir = base.string();
  std::filesystem::create_directories(base / "runs");
  std::ofstream(base / "runs" / "fold1_seed2") << "not a directory";
  try {
    run_walk_forward(c, market, spec);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("fold1_seed2: cannot create directory"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(base / "folds" / "fold1_seed1.json")) << "the first run trained to its end";
  EXPECT_FALSE(std::filesystem::exists(base / "models" / "fold1_seed1.pt")) << "the stopped training's checkpoint";
  std::filesystem::remove_all(base);
}

TEST(DeflatedSharpe, MatchesHandComputedValues) {
  EXPECT_NEAR(risk::normal_quantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(risk::normal_quantile(1e-5), -4.264890793922825, 1e-10);
  EXPECT_NEAR(risk::normal_cdf(risk::normal_quantile(0.3)), 0.3, 1e-14);
  // Reference values from Python's statistics.NormalDist with the paper's formulas.
  const std::vector<double> r = {0.01, -0.005, 0.007, 0.002, -0.003, 0.012, -0.008, 0.004, 0.006, -0.001};
  const std::vector<double> trials = {0.1, 0.3, -0.05, 0.2};
  const auto d = risk::deflated_sharpe(r, trials);
  EXPECT_NEAR(d.sharpe, 0.384110639798688, 1e-12);
  EXPECT_NEAR(d.benchmark, 0.1570860836043061, 1e-9);
  EXPECT_NEAR(d.probability, 0.7447298937477033, 1e-9);
  EXPECT_EQ(d.trials, 4u);
  // More trials raise the bar: the same returns are less convincing.
  std::vector<double> many(100);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = 0.3 * std::sin(static_cast<double>(i));
  EXPECT_LT(risk::deflated_sharpe(r, many).probability, d.probability);
}

}  // namespace
}  // namespace ploutos::backtest
