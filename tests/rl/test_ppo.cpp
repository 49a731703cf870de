// PPO: reproducibility, learning on solvable problems, model files.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../env/market_fixture.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/file_lock.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/core/time.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/trading_env.hpp"
#include "ploutos/rl/ppo.hpp"

using namespace ploutos;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("ploutos_ppo_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

// Sends spdlog's default logger to `out` while it lives.
struct LogTo {
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  explicit LogTo(std::ostream& out) {
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
  }
  ~LogTo() { spdlog::set_default_logger(previous); }
  LogTo(const LogTo&) = delete;
  LogTo& operator=(const LogTo&) = delete;
};

config::Config small_config(std::uint64_t seed) {
  config::Config c;
  c.data.tickers = {"T0"};
  c.features.feature_set = "v2";
  c.environment.max_steps = 64;
  c.environment.train_start_min = 0;
  c.environment.min_holding_period = 0;
  c.environment.buy_pct = 1.0;
  c.environment.max_position_pct = 1.0;
  c.environment.max_trades_per_day = 1000;
  c.risk.max_drawdown = 0;
  c.risk.daily_loss_limit = 0;
  c.costs.model = "standard";
  c.ppo.net_arch = {{32, 32}, {32, 32}};
  c.ppo.n_steps = 128;
  c.ppo.batch_size = 128;
  c.ppo.n_epochs = 6;
  c.ppo.learning_rate = 1e-3;
  c.ppo.ent_coef = 0.0;
  c.ppo.gamma = 0.9;
  c.ppo.target_kl = std::nullopt;
  c.training.n_envs = 4;
  c.training.seed = seed;
  c.training.eval_freq = 1'000'000;
  c.training.checkpoint_freq = 1'000'000;
  return c;
}

env::LoadedMarket wrap(env::MarketData m) {
  env::LoadedMarket out;
  m.tickers = {"T0"};
  out.market = std::make_shared<const env::MarketData>(std::move(m));
  out.data_range = "test";
  out.data_hash = "test";
  out.source = "hand-built";
  return out;
}

// `total` steps of one thread into `path`, silently; continuing the training there when `resume`.
rl::TrainRequest training_into(const std::string& path, const env::LoadedMarket& market, const config::Config& config,
                               std::int64_t total, bool resume) {
  rl::TrainRequest req;
  req.config = config;
  req.market = market;
  req.output = path;
  req.resume = resume ? path : "";
  req.total_timesteps = total;
  req.threads = 1;
  req.progress = false;
  return req;
}

// Price rises 1% inside every bar; the optimum is to be fully invested all the time.
env::MarketData rising_market(std::size_t bars) {
  auto m = test::flat_market(1, bars, 100.0);
  double p = 100;
  for (std::size_t t = 0; t < bars; ++t) {
    test::set_bar(m, t, 0, p, p * 1.01, p, p * 1.01);
    p *= 1.01;
  }
  return m;
}

// A planted signal: feature 0 at bar t is the sign of bar t+1's open-to-close move (the bar in which
// a decision taken at t is filled and marked); the other features are noise.
env::MarketData planted_market(std::size_t bars, std::uint64_t seed) {
  auto m = test::flat_market(1, bars, 100.0);
  Rng rng(seed);
  std::vector<double> moves(bars);
  for (auto& r : moves) r = rng.bernoulli(0.5) ? 0.01 : -0.01;
  double p = 100;
  for (std::size_t t = 0; t < bars; ++t) {
    test::set_bar(m, t, 0, p, p * std::max(1.0, 1 + moves[t]), p * std::min(1.0, 1 + moves[t]), p * (1 + moves[t]));
    p *= 1 + moves[t];
    m.features[t * m.n_features + 0] = t + 1 < bars ? (moves[t + 1] > 0 ? 1.0f : -1.0f) : 0.0f;
    m.features[t * m.n_features + 1] = static_cast<float>(rng.normal());
    m.features[t * m.n_features + 2] = static_cast<float>(rng.normal());
  }
  return m;
}

// A training on a hand-built market, silent, its model at a temporary path.
rl::TrainRequest request(const env::MarketData& m, const config::Config& c, const std::string& name,
                         std::int64_t timesteps, double validation_fraction) {
  rl::TrainRequest req;
  req.config = c;
  req.market = wrap(m);
  req.output = temp_path(name);
  req.total_timesteps = timesteps;
  req.validation_fraction = validation_fraction;
  req.progress = false;
  return req;
}

// Return of one deterministic pass over bars [first, last] with the given decision function.
template <class Decide>
double backtest(const env::MarketData& m, const config::Config& c, std::size_t first, std::size_t last, Decide decide) {
  env::EnvConfig ec = env::env_config_from(c, env::Mode::kBacktest);
  ec.window_first = first;
  ec.window_last = last;
  ec.max_steps = 1 << 30;
  env::TradingEnv e(std::make_shared<const env::MarketData>(m), ec);
  std::vector<float> obs(e.obs_dim());
  e.reset(0, obs);
  bool term = false, trunc = false;
  std::vector<std::int32_t> a(1);
  while (!term && !trunc) {
    decide(obs, a);
    e.step(a, obs, term, trunc);
  }
  return e.info().equity / ec.initial_balance - 1;
}

}  // namespace

namespace {

std::string train_bytes(const env::LoadedMarket& market, const std::string& name, int threads,
                        std::function<void()> between_epochs = {}, rl::TrainResult* result = nullptr) {
  rl::TrainRequest req;
  req.config = small_config(5);
  req.market = market;
  req.output = temp_path(name);
  req.total_timesteps = 1024;
  req.threads = threads;
  req.progress = false;
  req.between_epochs = std::move(between_epochs);
  const auto trained = rl::train(req);
  if (result != nullptr) *result = trained;
  std::ifstream in(req.output, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

// The update's threads split each minibatch into fixed row ranges and sum their gradients in a fixed
// order, so a run is reproducible for any thread count, not only for one.
TEST(Ppo, SameSeedAndThreadCountGiveByteIdenticalModelFilesWithThreeThreads) {
  const auto market = wrap(planted_market(400, 1));
  const auto a = train_bytes(market, "t3a.pt", 3), b = train_bytes(market, "t3b.pt", 3);
  ASSERT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == b) << "two runs with seed 5 and 3 threads wrote different model files";
  EXPECT_FALSE(a == train_bytes(market, "t1.pt", 1)) << "1 and 3 threads round differently; equal bytes mean the "
                                                        "threads were not used";
}

// The benchmarks measure the machine between an update's epochs: once per epoch run, and the
// training is the same as without it.
TEST(Ppo, TheBetweenEpochsHookRunsOncePerEpochAndChangesNothing) {
  const auto market = wrap(planted_market(400, 1));
  int calls = 0;
  rl::TrainResult result;
  const auto with_hook = train_bytes(
      market, "hook.pt", 2, [&calls] { ++calls; }, &result);
  int epochs = 0;
  for (const auto& u : result.history) epochs += u.epochs_run;
  ASSERT_GT(epochs, 0);
  EXPECT_EQ(calls, epochs);
  EXPECT_TRUE(with_hook == train_bytes(market, "no_hook.pt", 2));
}

// The progress a caller sees moves through the update, not only the rollout: an epoch that takes
// longer than the reports' 0.1 s spacing (the hook sleeps) is reported with an ETA.
TEST(Ppo, ProgressReportsTheRolloutAndEachIterationsUpdateWithAnEta) {
  const auto market = wrap(planted_market(400, 1));
  rl::TrainRequest req;
  req.config = small_config(5);
  req.market = market;
  req.output = temp_path("progress.pt");
  req.total_timesteps = 1024;  // two iterations of 4 x 128 steps
  req.threads = 1;
  req.progress = false;
  req.between_epochs = [] { std::this_thread::sleep_for(std::chrono::milliseconds(110)); };
  struct Report {
    std::int64_t timesteps;
    ProgressEstimate estimate;
  };
  std::vector<Report> reports;
  req.on_progress = [&](std::int64_t t, const ProgressEstimate& e) { reports.push_back({t, e}); };
  rl::train(req);
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.front().estimate.phase.rfind("iteration 1/2: rollout", 0), 0u) << reports.front().estimate.phase;
  EXPECT_LT(reports.front().estimate.eta_seconds, 0) << "no update has run: its length is unknown";
  bool first_update = false, second_iteration = false;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& [t, e] = reports[i];
    SCOPED_TRACE(e.phase);
    EXPECT_GE(e.fraction, 0.0);
    EXPECT_LE(e.fraction, 1.0);
    if (i > 0) {
      EXPECT_GE(t, reports[i - 1].timesteps);
    }
    if (e.phase.rfind("iteration 1/2: update epoch", 0) == 0) {
      first_update = true;
      EXPECT_EQ(t, 512);
      EXPECT_GE(e.eta_seconds, 0);
      EXPECT_LT(e.fraction, 0.5 + 1e-9);
    }
    if (e.phase.rfind("iteration 2/2", 0) == 0) {
      second_iteration = true;
      EXPECT_GE(e.eta_seconds, 0);
      EXPECT_GE(e.fraction, 0.5 - 1e-9);
    }
  }
  EXPECT_TRUE(first_update);
  EXPECT_TRUE(second_iteration);
}

TEST(Ppo, SameSeedOneThreadGivesByteIdenticalModelFiles) {
  const auto market = wrap(planted_market(400, 1));
  const auto a = train_bytes(market, "a.pt", 1), b = train_bytes(market, "b.pt", 1);
  ASSERT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == b) << "two runs with seed 5 wrote different model files";
}

// Ctrl-C in the middle of a rollout undoes what that rollout changed (the observation and reward
// normalisers, the random stream, the step count): resumed, the training then writes the bytes of
// one that stopped after that update and was resumed. Stopped again before its first update, a
// resumed training keeps the checkpoint's steps.
TEST(Ppo, AStopInTheMiddleOfARolloutLeavesTheCheckpointOfTheLastWholeUpdate) {
  const auto market = wrap(planted_market(400, 1));
  constexpr std::int64_t kBatch =
      16384;  // one env: a rollout of ~0.5 s, so a progress report (every 0.1 s) falls inside it
  const std::string path = temp_path("mid_rollout.pt");
  std::atomic<bool> stop{false};
  auto train = [&](std::int64_t total, bool resume, std::int64_t stop_after) {
    rl::TrainRequest req;
    req.config = small_config(5);
    req.config.ppo.normalize_reward = true;
    req.config.ppo.n_steps = kBatch;
    req.config.ppo.batch_size = 4096;
    req.config.ppo.n_epochs = 1;
    req.config.ppo.lr_schedule = "constant";
    req.config.training.n_envs = 1;
    req.market = market;
    req.output = path;
    req.resume = resume ? path : "";
    req.total_timesteps = total;
    req.threads = 1;
    req.validation_fraction = 0;
    req.progress = false;
    stop = false;
    req.stop = &stop;
    req.on_progress = [&](std::int64_t t, const ProgressEstimate&) {
      if (stop_after > 0 && t > stop_after) stop = true;
    };
    return rl::train(req);
  };
  auto bytes = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const auto stopped = train(100 * kBatch, false, kBatch);  // stops in the second rollout
  ASSERT_TRUE(stopped.interrupted);
  ASSERT_EQ(stopped.history.size(), 1u);
  EXPECT_EQ(stopped.timesteps, kBatch);
  const auto stopped_again = train(100 * kBatch, true, kBatch);  // in its first rollout
  ASSERT_TRUE(stopped_again.interrupted);
  EXPECT_TRUE(stopped_again.history.empty());
  EXPECT_EQ(stopped_again.timesteps, kBatch) << "the checkpoint's steps were lost";
  EXPECT_EQ(nlohmann::json::parse(rl::read_manifest(path))["timesteps"], kBatch);
  ASSERT_FALSE(train(2 * kBatch, true, 0).interrupted);
  const std::string after_stops = bytes();

  ASSERT_FALSE(train(kBatch, false, 0).interrupted);  // one whole update, then resumed
  ASSERT_FALSE(train(2 * kBatch, true, 0).interrupted);
  EXPECT_TRUE(bytes() == after_stops) << "the stopped rollouts left traces in the checkpoint";

  // The episodes under way continue after a resume: as if the training had never stopped.
  ASSERT_FALSE(train(2 * kBatch, false, 0).interrupted);
  EXPECT_TRUE(bytes() == after_stops) << "a resumed training differs from one that never stopped";
}

// Resumed with other environment settings, the checkpoint's episodes cannot continue: the training
// says which settings changed, starts new episodes and goes on.
TEST(Ppo, AResumeWithOtherEnvironmentSettingsRestartsTheEpisodesAndSaysWhy) {
  const auto market = wrap(planted_market(400, 1));
  const std::string path = temp_path("changed_envs.pt");
  auto train = [&](std::int64_t total, bool resume, std::int64_t n_envs, int max_steps) {
    auto req = training_into(path, market, small_config(5), total, resume);
    req.config.training.n_envs = n_envs;
    req.config.environment.max_steps = max_steps;
    return rl::train(req);
  };
  std::ostringstream log;
  const LogTo log_to(log);
  train(512, false, 4, 64);
  EXPECT_EQ(train(1024, true, 2, 64).timesteps, 1024);
  const std::string first = log.str();
  EXPECT_NE(first.find("training.n_envs changed since the checkpoint: the episodes under way restart"),
            std::string::npos)
      << first;
  EXPECT_EQ(train(1280, true, 2, 80).timesteps, 1280);
  const std::string second = log.str().substr(first.size());
  EXPECT_NE(second.find(": environment changed since the checkpoint"), std::string::npos) << second;
  EXPECT_EQ(train(1536, true, 2, 80).timesteps, 1536);
  EXPECT_EQ(log.str().find("restart", first.size() + second.size()), std::string::npos) << "nothing changed";
}

// A resumed training continues the checkpoint's random streams whatever seed it is given: the
// model it writes is the one the checkpoint's seed makes, and its manifest names that seed.
TEST(Ppo, AResumeKeepsTheCheckpointsSeedAndSaysSo) {
  const auto market = wrap(planted_market(400, 1));
  const std::string path = temp_path("resumed_seed.pt");
  auto train = [&](std::int64_t total, bool resume, std::uint64_t seed) {
    rl::train(training_into(path, market, small_config(seed), total, resume));
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  train(512, false, 5);
  const std::string same_seed = train(1024, true, 5);
  std::ostringstream log;
  const std::string other_seed = [&] {
    const LogTo log_to(log);
    train(512, false, 5);
    return train(1024, true, 9);
  }();
  EXPECT_TRUE(other_seed == same_seed) << "the seed given to a resume changed the model";
  EXPECT_EQ(nlohmann::json::parse(rl::read_manifest(path))["seed"], 5);
  EXPECT_NE(log.str().find(path + " was trained with seed 5: the resumed training continues its random streams"),
            std::string::npos)
      << log.str();
}

// Metrics that can no longer be written (a full disk, here /dev/full) cost the metrics, said once,
// not the training.
TEST(Ppo, MetricsThatCannotBeWrittenAreToldOnceAndTheTrainingGoesOn) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this machine";
  const fs::path dir = temp_path("full_metrics");
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink("/dev/full", dir / "metrics.jsonl");
  auto req = training_into(temp_path("full_metrics.pt"), wrap(planted_market(400, 1)), small_config(5), 1024, false);
  req.metrics_dir = dir.string();
  std::ostringstream log;
  const auto result = [&] {
    const LogTo log_to(log);
    return rl::train(req);
  }();
  EXPECT_EQ(result.timesteps, 1024);
  EXPECT_EQ(result.history.size(), 2u);
  EXPECT_NO_THROW(rl::read_manifest(req.output));
  const std::string text = log.str();
  const std::string warning = dir.string() + ": writing metrics.jsonl / metrics.csv failed (No space left on device)";
  const auto told = text.find(warning);
  EXPECT_NE(told, std::string::npos) << text;
  EXPECT_EQ(text.find(warning, told + 1), std::string::npos) << "told once: " << text;
}

// A second training of the same run (model name, metrics directory) while the first runs would
// interleave their metrics and overwrite each other's model: it is refused before it writes anything.
TEST(Ppo, ASecondTrainingOfTheSameRunIsRefusedWhileTheFirstRuns) {
  const fs::path dir = temp_path("run_twice");
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto req = training_into(temp_path("run_twice.pt"), wrap(planted_market(400, 1)), small_config(5), 512, false);
  fs::remove(req.output);
  req.metrics_dir = dir.string();
  {
    const ExclusiveFileLock first(dir / "training.lock", "the first training");
    try {
      rl::train(req);
      ADD_FAILURE() << "two trainings of one run at once";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind((dir / "training.lock").string() + ": held by pid ", 0), 0u) << e.what();
    }
    EXPECT_FALSE(fs::exists(req.output));
    EXPECT_FALSE(fs::exists(dir / "metrics.jsonl"));
  }
  EXPECT_EQ(rl::train(req).timesteps, 512) << "free once the first ended";
}

// LibTorch's layers initialise from its process-wide generator: a network built beside a training
// (a model loaded for a backtest while other trainings run, walk-forward --jobs) must not move the
// training's seeded initialisation.
TEST(Ppo, NetworksBuiltBesideATrainingLeaveItsModelAlone) {
  const auto market = wrap(planted_market(400, 1));
  const auto alone = train_bytes(market, "alone.pt", 1);
  std::atomic<bool> done{false};
  std::atomic<int> built{0};
  std::jthread builder([&] {
    const auto ppo = small_config(5).ppo;
    while (!done) {
      rl::Policy::untrained(40, 1, ppo);
      ++built;
    }
  });
  while (built == 0) std::this_thread::yield();
  const auto beside = train_bytes(market, "beside.pt", 1);
  done = true;
  builder.join();
  EXPECT_TRUE(beside == alone) << "a network built meanwhile changed the training (" << built.load()
                               << " networks built)";
}

// Every policy decides on the process's one decision pool (src/rl/worker_pool.hpp): two policies
// asked from two threads at once (a float32 policy and its int8 twin, as in an int8 backtest, and
// as walk-forward's side-by-side jobs do) decide exactly as each does alone.
TEST(Ppo, PoliciesAskedFromSeveralThreadsAtOnceDecideAsEachDoesAlone) {
  auto ppo = small_config(5).ppo;
  ppo.net_arch = {{256, 256}, {32}};
  constexpr std::size_t kObsDim = 300, kTickers = 4, kObservations = 40;
  const auto float32 = rl::Policy::untrained(kObsDim, kTickers, ppo, rl::DecisionPrecision::kFloat32);
  const auto int8 = float32->with_precision(rl::DecisionPrecision::kInt8);
  Rng rng(11);
  std::vector<std::vector<float>> observations(kObservations, std::vector<float>(kObsDim));
  for (auto& obs : observations) {
    for (auto& v : obs) v = static_cast<float>(rng.normal());
  }
  const auto probabilities_of = [&](rl::Policy& policy) {
    std::vector<std::vector<float>> all;
    for (const auto& obs : observations) {
      std::vector<float> p(kTickers * 3);
      policy.probabilities(obs, p);
      all.push_back(std::move(p));
    }
    return all;
  };
  const auto alone32 = probabilities_of(*float32);
  const auto alone8 = probabilities_of(*int8);
  ASSERT_NE(alone32, alone8);  // the two policies compute different things: a mix-up would show
  std::atomic<int> different{0};
  const auto ask_repeatedly = [&](rl::Policy& policy, const std::vector<std::vector<float>>& alone) {
    for (int round = 0; round < 100; ++round) {
      if (probabilities_of(policy) != alone) different.fetch_add(1);
    }
  };
  auto both = std::async(std::launch::async, [&] {
    std::jthread a([&] { ask_repeatedly(*float32, alone32); });
    std::jthread b([&] { ask_repeatedly(*int8, alone8); });
  });
  if (both.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    std::fprintf(stderr, "two policies deciding at once have not finished in 30 s: deadlocked on the pool\n");
    std::_Exit(1);  // the threads cannot be stopped; ctest sees the failure now, not at its timeout
  }
  EXPECT_EQ(different.load(), 0) << "rounds whose decisions differed from the policy's own alone";
}

namespace {

// A 512-step training of small_config(1) on the planted market into temp_path(file); returns its request.
rl::TrainRequest train_small_model(const std::string& file) {
  rl::TrainRequest req;
  req.config = small_config(1);
  req.market = wrap(planted_market(400, 1));
  req.output = temp_path(file);
  req.total_timesteps = 512;
  req.progress = false;
  rl::train(req);
  return req;
}

}  // namespace

TEST(Ppo, ModelFileHasTheManifestAndRefusesAMismatch) {
  const auto req = train_small_model("manifest.pt");
  const auto j = nlohmann::json::parse(rl::read_manifest(req.output));
  for (const char* key : {"format_version", "feature_set", "features", "tickers", "obs_dim", "action_space", "config",
                          "data_range", "data_hash", "seed", "git_revision", "metrics"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["obs_dim"], 3 + 1 + 3);
  EXPECT_THROW(rl::check_compatible(rl::read_manifest(req.output), "seed_v2", {"T0"}, 7), InputError);
  EXPECT_THROW(rl::check_compatible(rl::read_manifest(req.output), "v2", {"T1"}, 7), InputError);
  EXPECT_NO_THROW(rl::check_compatible(rl::read_manifest(req.output), "v2", {"T0"}, 7));
  EXPECT_THROW(rl::read_manifest(temp_path("missing.pt")), InputError);
  const auto policy = rl::Policy::load(req.output);
  EXPECT_EQ(policy->obs_dim(), 7u);
}

namespace {

// The tensor records of a model file (an uncompressed zip): name -> [first byte, size) of its data.
std::map<std::string, std::pair<std::size_t, std::size_t>> zip_records(const std::string& bytes) {
  auto u16 = [&](std::size_t at) {
    return std::size_t(std::uint8_t(bytes[at])) | std::size_t(std::uint8_t(bytes[at + 1])) << 8;
  };
  auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
  const std::size_t end = bytes.rfind(std::string("PK\x05\x06", 4));
  std::map<std::string, std::pair<std::size_t, std::size_t>> records;
  if (end == std::string::npos) return records;
  std::size_t entry = u32(end + 16);
  for (std::size_t i = 0, n = u16(end + 10); i < n; ++i) {
    const std::size_t name_size = u16(entry + 28), size = u32(entry + 20), local = u32(entry + 42);
    const std::string name = bytes.substr(entry + 46, name_size);
    records[name] = {local + 30 + u16(local + 26) + u16(local + 28), size};
    entry += 46 + name_size + u16(entry + 30) + u16(entry + 32);
  }
  return records;
}

}  // namespace

// LibTorch's zip reader ignores the zip's CRCs, so the file carries its own: a flipped bit in any
// tensor is refused with one line naming the file, by a load (weights) or a resume (the rest),
// and so is a truncated file. Nothing gets through as another model.
TEST(Ppo, ADamagedModelFileIsRefusedAndNeverLoadsAsAnotherModel) {
  const auto req = train_small_model("intact.pt");
  EXPECT_TRUE(rl::verify_weights(req.output));
  std::string intact;
  {
    std::ifstream in(req.output, std::ios::binary);
    intact.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string damaged = temp_path("damaged.pt");
  auto write_damaged = [&](const std::string& bytes) { std::ofstream(damaged, std::ios::binary) << bytes; };
  auto refusal = [&](const std::function<void()>& use) -> std::string {
    try {
      use();
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  auto resume = [&] {
    rl::TrainRequest again = req;
    again.resume = damaged;
    again.output = temp_path("resumed.pt");
    rl::train(again);  // as many steps as the file has: it loads, checks and saves, nothing more
  };

  const auto records = zip_records(intact);
  int tensors = 0, refused_by_load = 0;
  for (const auto& [name, range] : records) {
    if (name.find("/data/") == std::string::npos || range.second == 0) continue;
    ++tensors;
    std::string bytes = intact;
    bytes[range.first + range.second / 2] ^= 0x10;
    write_damaged(bytes);
    const std::string by_load = refusal([&] { rl::Policy::load(damaged); });
    const std::string by_resume = refusal(resume);
    if (!by_load.empty()) ++refused_by_load;
    EXPECT_FALSE(by_resume.empty()) << name << ": a flipped bit was not noticed by a resume";
    for (const auto& message : {by_load, by_resume}) {
      if (message.empty()) continue;
      EXPECT_NE(message.find(damaged + ": damaged"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  EXPECT_GT(tensors, 20) << "the zip records were not found";
  EXPECT_GE(refused_by_load, 12) << "the weights and statistics must be checked by every load";
  EXPECT_LT(refused_by_load, tensors) << "a load does not read the optimiser's state";

  for (const double fraction : {0.0, 0.1, 0.5, 0.9, 0.999}) {
    write_damaged(intact.substr(0, static_cast<std::size_t>(fraction * static_cast<double>(intact.size()))));
    const std::string message = refusal([&] { rl::Policy::load(damaged); });
    EXPECT_NE(message.find(damaged), std::string::npos) << "truncated to " << fraction << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(Ppo, ReachesTheOptimumOfATriviallySolvableMarket) {
  const auto m = rising_market(300);
  auto c = small_config(3);
  auto req = request(m, c, "rising.pt", 16384, 0);
  rl::train(req);
  const auto policy = rl::Policy::load(req.output);
  const double optimum =
      backtest(m, c, 0, 64, [](const std::vector<float>&, std::vector<std::int32_t>& a) { a[0] = env::kBuy; });
  const double trained =
      backtest(m, c, 0, 64, [&](const std::vector<float>& obs, std::vector<std::int32_t>& a) { policy->act(obs, a); });
  EXPECT_GT(optimum, 0.5);
  EXPECT_GT(trained, 0.95 * optimum) << "trained " << trained << " vs optimum " << optimum;
}

// The model a training chose on its validation window decides there, loaded from its file, exactly
// as the training's evaluation saw it decide: the same normalisation with the statistics frozen in
// the file, the same network, the same return to the last bit.
TEST(Ppo, TheBestModelLoadedDecidesOnTheValidationWindowAsTheTrainingsEvaluationDid) {
  auto m = planted_market(600, 21);
  for (auto& f : m.features) f = 4.0f + 0.25f * f;  // far from mean 0 and unit variance: normalisation matters
  auto c = small_config(21);
  c.training.eval_freq = 512;  // every iteration
  auto req = request(m, c, "chosen.pt", 4096, 0.3);
  const auto trained = rl::train(req);
  ASSERT_FALSE(trained.best_model_path.empty());
  std::size_t first = 0, last = 0;
  for (std::size_t t = 0; t < m.n_bars; ++t) {
    if (format_instant(m.time[t]) == trained.validation_first) first = t;
    if (format_instant(m.time[t]) == trained.validation_last) last = t;
  }
  ASSERT_GT(first, 0u);
  ASSERT_GT(last, first);
  const auto best = rl::Policy::load(trained.best_model_path);
  const double again = backtest(
      m, c, first, last, [&](const std::vector<float>& obs, std::vector<std::int32_t>& a) { best->act(obs, a); });
  EXPECT_EQ(again, trained.best_validation_return);
  std::size_t evaluations = 0;
  for (const auto& u : trained.history) evaluations += std::isfinite(u.eval_return) ? 1 : 0;
  EXPECT_EQ(evaluations, trained.history.size());
}

TEST(Ppo, LearnsAPlantedSignalAndBeatsRandomAndCashOnUnseenData) {
  for (const std::uint64_t seed : {11, 12, 13}) {
    const auto m = planted_market(1500, seed);
    auto c = small_config(seed);
    auto req = request(m, c, "planted_" + std::to_string(seed) + ".pt", 24576, 0.33);  // the last third unseen
    rl::train(req);
    const std::size_t split = static_cast<std::size_t>(1499 * 0.67);
    const auto policy = rl::Policy::load(req.output);
    const double trained = backtest(
        m, c, split, 1499, [&](const std::vector<float>& obs, std::vector<std::int32_t>& a) { policy->act(obs, a); });
    Rng rng(seed);
    double random = 0;
    for (int k = 0; k < 5; ++k) {
      random += backtest(m, c, split, 1499,
                         [&](const std::vector<float>&, std::vector<std::int32_t>& a) {
                           a[0] = static_cast<std::int32_t>(rng.uniform_int(std::uint64_t{3}));
                         }) /
                5;
    }
    EXPECT_GT(trained, 0.5) << "seed " << seed << ": unseen-data return " << trained;
    EXPECT_GT(trained, random + 0.5) << "seed " << seed << ": trained " << trained << ", random " << random;
    // Eight-bit decisions (docs/decisions.md) take nearly every decision float32 takes, and keep the
    // edge; the backtest below follows the int8 decisions and compares each with float32's.
    const auto int8 = rl::Policy::load(req.output, rl::DecisionPrecision::kInt8);
    EXPECT_EQ(int8->precision(), rl::DecisionPrecision::kInt8);
    int same = 0, decisions = 0;
    std::vector<std::int32_t> reference(1);
    const double trained8 =
        backtest(m, c, split, 1499, [&](const std::vector<float>& obs, std::vector<std::int32_t>& a) {
          policy->act(obs, reference);
          int8->act(obs, a);
          same += a[0] == reference[0];
          ++decisions;
        });
    EXPECT_GE(same, 0.97 * decisions) << "seed " << seed << ": int8 took " << same << " of " << decisions
                                      << " float32 decisions";
    EXPECT_GT(trained8, random + 0.5) << "seed " << seed << ": int8 " << trained8 << ", random " << random;
  }
}
