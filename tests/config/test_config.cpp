#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ploutos/config/config.hpp"
#include "ploutos/core/error.hpp"

using namespace ploutos;
using namespace ploutos::config;

namespace {

const std::filesystem::path kConfigDir = std::filesystem::path(PLOUTOS_SOURCE_DIR) / "config";

std::string error_of(const std::string& yaml) {
  try {
    load_config_text(yaml, "bad.yaml");
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(Config, ShippedConfigsLoadWithTheSeedValues) {
  const auto v6 = load_config_file(kConfigDir / "training_config_v6_better_timing.yaml");
  EXPECT_EQ(v6.training.total_timesteps, 15'000'000);
  EXPECT_EQ(v6.training.n_envs, 16);
  EXPECT_EQ(v6.ppo.n_steps, 4096);
  EXPECT_EQ(v6.ppo.batch_size, 8192);
  EXPECT_EQ(v6.ppo.n_epochs, 20);
  EXPECT_DOUBLE_EQ(v6.ppo.learning_rate, 1e-4);
  EXPECT_DOUBLE_EQ(v6.ppo.ent_coef, 0.10);
  EXPECT_EQ(v6.ppo.target_kl, 0.02);
  EXPECT_EQ(v6.ppo.net_arch.pi, (std::vector<int>{1024, 1024, 512, 256}));
  EXPECT_EQ(v6.ppo.net_arch.vf, v6.ppo.net_arch.pi);
  EXPECT_EQ(v6.data.tickers.size(), 15u);
  EXPECT_EQ(v6.data.interval, "1h");
  EXPECT_DOUBLE_EQ(v6.costs.sec_fee, 0.0000221);
  EXPECT_DOUBLE_EQ(v6.environment.reward_scaling, 1.5);

  const auto extended = load_config_file(kConfigDir / "training_config_v6_extended_50m.yaml");
  EXPECT_EQ(extended.training.total_timesteps, 50'000'000);
  EXPECT_DOUBLE_EQ(extended.ppo.ent_coef, 0.08);

  const auto autonomous = load_config_file(kConfigDir / "autonomous_config.yaml");
  EXPECT_EQ(autonomous.training.total_timesteps, 2'000'000);
  EXPECT_EQ(autonomous.ppo.batch_size, 512);
  EXPECT_DOUBLE_EQ(autonomous.ppo.gamma, 0.97779);
  EXPECT_FALSE(autonomous.ppo.target_kl.has_value());
  EXPECT_EQ(autonomous.ppo.net_arch.pi, (std::vector<int>{512, 512}));
  EXPECT_EQ(autonomous.autonomous.search.n_trials, 50);
  EXPECT_DOUBLE_EQ(autonomous.autonomous.validation.min_sharpe, 1.5);

  const auto quick = load_config_file(kConfigDir / "quickstart.yaml");
  EXPECT_EQ(quick.data.source, "synthetic");
  EXPECT_LE(quick.training.total_timesteps, 100'000);
}

TEST(Config, EveryShippedConfigRoundTripsThroughYamlAndJson) {
  for (const auto& entry : std::filesystem::directory_iterator(kConfigDir)) {
    const auto config = load_config_file(entry.path());
    const auto again = load_config_text(to_yaml(config, true), "dump.yaml");
    EXPECT_EQ(to_json(config), to_json(again)) << entry.path();
  }
  EXPECT_EQ(to_json(Config{}), to_json(load_config_text("", "empty.yaml")));
}

TEST(Config, UnknownKeyIsRejectedWithLineAndSuggestion) {
  EXPECT_EQ(error_of("ppo:\n  learning_rate: 0.001\n  n_step: 128\n").substr(0, 56),
            "bad.yaml:3: ppo.n_step: unknown key (did you mean 'n_ste");
  EXPECT_EQ(error_of("name: x\ncolour: blue\n").substr(0, 33), "bad.yaml:2: colour: unknown key; ");
}

TEST(Config, WrongTypesAreRejected) {
  EXPECT_EQ(error_of("ppo:\n  n_epochs: many\n"), "bad.yaml:2: ppo.n_epochs: expected an integer, got 'many'");
  EXPECT_EQ(error_of("ppo:\n  learning_rate: [1, 2]\n"),
            "bad.yaml:2: ppo.learning_rate: expected a number, got a list of 2 items");
  EXPECT_EQ(error_of("environment:\n  use_sharpe_penalty: maybe\n"),
            "bad.yaml:2: environment.use_sharpe_penalty: expected true or false, got 'maybe'");
  EXPECT_EQ(error_of("data:\n  tickers: NVDA\n"), "bad.yaml:2: data.tickers: expected a list, got 'NVDA'");
  EXPECT_EQ(error_of("ppo: 3\n"), "bad.yaml:1: ppo: expected a mapping of keys, got '3'");
  EXPECT_EQ(error_of("training:\n  n_envs: 2.5\n"), "bad.yaml:2: training.n_envs: expected an integer, got '2.5'");
}

TEST(Config, OutOfRangeValuesAreRejected) {
  EXPECT_EQ(error_of("ppo:\n  learning_rate: -0.001\n"),
            "bad.yaml:2: ppo.learning_rate: expected a value in (0, 1), got '-0.001'");
  EXPECT_EQ(error_of("ppo:\n  clip_range: 1.5\n"), "bad.yaml:2: ppo.clip_range: expected a value in (0, 1), got '1.5'");
  EXPECT_EQ(error_of("ppo:\n  clip_range: 0\n"), "bad.yaml:2: ppo.clip_range: expected a value in (0, 1), got '0'");
  EXPECT_EQ(error_of("data:\n  tickers: []\n"),
            "bad.yaml:2: data.tickers: expected a non-empty list of tickers, got []");
  EXPECT_EQ(
      error_of("data:\n  source: bloomberg\n"),
      "bad.yaml:2: data.source: expected one of: synthetic, cache, csv, auto, alpaca, yahoo, polygon, got 'bloomberg'");
  EXPECT_EQ(error_of("data:\n  tickers: [AAPL, aapl]\n"),
            "bad.yaml:2: data.tickers: expected upper-case ticker symbols, got 'aapl'");
  EXPECT_EQ(error_of("data:\n  start: 2024-02-30\n"),
            "bad.yaml:2: data.start: expected a date YYYY-MM-DD or empty, got '2024-02-30'");
  EXPECT_EQ(error_of("ppo:\n  net_arch: [64, -2]\n"),
            "bad.yaml:2: ppo.net_arch: expected positive layer sizes, got [64, -2]");
  EXPECT_EQ(error_of("ppo:\n  net_arch: {pi: [64], vf: [32, 0]}\n"),
            "bad.yaml:2: ppo.net_arch: expected positive layer sizes, got vf [32, 0]");
}

TEST(Config, CrossFieldChecksPointAtTheKey) {
  EXPECT_EQ(error_of("name: x\nppo:\n  n_steps: 16\n  batch_size: 64\ntraining:\n  n_envs: 2\n"),
            "bad.yaml:4: ppo.batch_size: expected at most ppo.n_steps x training.n_envs = 32, got 64");
  EXPECT_EQ(error_of("data:\n  tickers: [SYNA, SYNB]\n  synthetic_universe: [SYNA, SYNC]\n"),
            "bad.yaml:3: data.synthetic_universe: expected every ticker of data.tickers, SYNB is missing");
}

TEST(Config, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(error_of("ppo:\n  n_steps: [1, 2\n").substr(0, 11), "bad.yaml:3:");
  EXPECT_EQ(error_of("a: 1\na: 2\n").substr(0, 24), "bad.yaml:2: a: duplicate");
}

TEST(Config, EveryProblemOfAFileIsCollectedInFileOrder) {
  try {
    load_config_text("training:\n  n_envs: many\nppo:\n  n_stepz: 4\n  gamma: 1.5\n  net_arch: [64, x]\n", "bad.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 4u) << e.what();
    EXPECT_EQ(e.problems()[0].substr(0, 29), "bad.yaml:2: training.n_envs: ");
    EXPECT_EQ(e.problems()[1].substr(0, 24), "bad.yaml:4: ppo.n_stepz:");
    EXPECT_EQ(e.problems()[2].substr(0, 22), "bad.yaml:5: ppo.gamma:");
    EXPECT_EQ(e.problems()[3].substr(0, 28), "bad.yaml:6: ppo.net_arch[1]:");
    const std::string message = e.what();
    EXPECT_EQ(message.substr(0, e.problems()[0].size()), e.problems()[0]);
    EXPECT_NE(message.find("(and 3 more"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
  }
  // Relations between fields are judged only when every field read well, each with its line.
  try {
    load_config_text("risk:\n  stop_loss_pct: 0.5\n  take_profit_pct: 0.01\n", "rel.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u) << e.what();
    EXPECT_EQ(e.problems()[0].substr(0, 32), "rel.yaml:3: risk.take_profit_pct") << e.what();
  }
}

TEST(Config, ValidateCatchesValuesSetInCode) {
  Config c;
  c.ppo.gamma = 1.5;
  try {
    validate(c, "--seed override");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--seed override: ppo.gamma: expected a value in (0, 1]");
  }
  EXPECT_NO_THROW(validate(Config{}, "defaults"));
}

TEST(Config, ResolvesBareNamesAgainstTheConfigDirectory) {
  ::setenv("PLOUTOS_CONFIG_DIR", kConfigDir.c_str(), 1);
  EXPECT_EQ(resolve_config_path("v6_better_timing.yaml").filename(), "training_config_v6_better_timing.yaml");
  EXPECT_EQ(resolve_config_path("training_config_v6_better_timing.yaml").filename(),
            "training_config_v6_better_timing.yaml");
  EXPECT_EQ(resolve_config_path("quickstart").filename(), "quickstart.yaml");
  EXPECT_EQ(resolve_config_path("v6_extended_50m").filename(), "training_config_v6_extended_50m.yaml");
  EXPECT_THROW(resolve_config_path("nope.yaml"), UsageError);
  EXPECT_THROW(resolve_config_path("./missing/nope.yaml"), UsageError);
  try {
    resolve_config_path("nope.yaml", "--costs");
    ADD_FAILURE() << "nope.yaml resolved";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("--costs nope.yaml: not found in ", 0), 0u) << message;
  }
  const auto dirs = config_search_dirs();
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j)
      EXPECT_NE(std::filesystem::weakly_canonical(dirs[i]), std::filesystem::weakly_canonical(dirs[j])) << dirs[i];
  }
  const auto explicit_path = (kConfigDir / "quickstart.yaml").string();
  EXPECT_EQ(resolve_config_path(explicit_path), explicit_path);
  ::unsetenv("PLOUTOS_CONFIG_DIR");
}

TEST(Config, ABareNameOfAFileInTheWorkingDirectoryIsThatFile) {
  const auto here = std::filesystem::current_path();
  const auto dir = std::filesystem::temp_directory_path() / ("ploutos_config_cwd_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::current_path(dir);
  std::ofstream("mine.yaml") << "name: mine\n";
  std::ofstream("quickstart.yaml") << "name: my_quickstart\n";
  ::setenv("PLOUTOS_CONFIG_DIR", kConfigDir.c_str(), 1);
  EXPECT_EQ(resolve_config_path("mine.yaml"), "mine.yaml");
  EXPECT_EQ(resolve_config_path("quickstart.yaml"), "quickstart.yaml") << "the file here, not the library's";
  EXPECT_EQ(resolve_config_path("quickstart").filename(), "quickstart.yaml");
  EXPECT_NE(resolve_config_path("quickstart").parent_path(), "") << "a name without the file's extension: the library";
  EXPECT_THROW(resolve_config_path("theirs.yaml"), UsageError);
  ::unsetenv("PLOUTOS_CONFIG_DIR");
  std::filesystem::current_path(here);
  std::filesystem::remove_all(dir);
}

TEST(Config, EveryKeyIsDocumented) {
  std::ifstream in(std::filesystem::path(PLOUTOS_SOURCE_DIR) / "docs" / "configuration.md");
  const std::string docs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(docs.empty()) << "docs/configuration.md is missing";
  const std::string yaml = to_yaml(Config{}, true);
  std::istringstream lines(yaml);
  std::string line;
  while (std::getline(lines, line)) {
    // docs/configuration.md embeds `ploutos config show --comments`; regenerate it when a key changes.
    EXPECT_NE(docs.find(line), std::string::npos) << "not in docs/configuration.md: " << line;
  }
}
