// End-to-end tests of the `ploutos` binary: exit codes, --help, JSON outputs, config errors.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "../support/fake_alpaca.hpp"
#include "../support/fake_server.hpp"

namespace {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

const std::string kTmp = std::filesystem::temp_directory_path() / ("ploutos_cli_" + std::to_string(::getpid()));

// Runs the binary from the source tree (so config/ resolves) with a clean .env-free environment.
Result run_with_env(const std::string& env, const std::string& args) {
  std::filesystem::create_directories(kTmp);
  const std::string err_file = kTmp + "/stderr.txt";
  const std::string cmd = std::string("cd '") + PLOUTOS_SOURCE_DIR +
                          "' && env -u BROKER PLOUTOS_ENV_FILE=/nonexistent NO_COLOR=1 " + env + "'" + PLOUTOS_BIN +
                          "' " + args + " 2>'" + err_file + "'";
  Result r;
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

Result run(const std::string& args) {
  return run_with_env("", args);
}

nlohmann::json json_of(const Result& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << r.out << "\nstderr: " << r.err;
    return {};
  }
}

}  // namespace

TEST(Cli, HelpListsEverySubcommandAndEachHelpWorks) {
  const auto top = run("--help");
  EXPECT_EQ(top.code, 0);
  for (const char* sub : {"train", "backtest", "trade", "journal", "diagnose", "data", "features", "config", "status",
                          "version", "model"}) {
    EXPECT_NE(top.out.find(sub), std::string::npos) << sub;
    const auto help = run(std::string(sub) + " --help");
    EXPECT_EQ(help.code, 0) << sub << help.err;
    EXPECT_NE(help.out.find("Examples:"), std::string::npos) << sub;
  }
  for (const char* sub : {"data fetch", "data import", "data check", "data info", "data synth", "features list",
                          "config show", "config validate", "config list", "model info"}) {
    EXPECT_EQ(run(std::string(sub) + " --help").code, 0) << sub;
  }
}

TEST(Cli, VersionAndUsageErrors) {
  EXPECT_EQ(run("--version").code, 0);
  const auto v = run("version --json");
  EXPECT_EQ(v.code, 0) << v.err;
  const auto j = json_of(v);
  EXPECT_TRUE(j.contains("git_revision"));
  EXPECT_TRUE(j.contains("torch_version"));
  EXPECT_EQ(run("frobnicate").code, 2);
  EXPECT_EQ(run("status --at").code, 2);
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("--log-level loud version").code, 2);
}

// A user's OPENBLAS_CORETYPE is obeyed, and said when it holds OpenBLAS to narrower vector units than
// the CPU has (Haswell's 256-bit kernels on an AVX-512 CPU made V6 training 1.9x slower).
TEST(Cli, VersionSaysWhenOpenblasCoretypeGivesAwayTheCpusWidestVectorUnits) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "CPU without AVX2/FMA";
  const auto haswell = run_with_env("OPENBLAS_CORETYPE=Haswell ", "version --json");
  ASSERT_EQ(haswell.code, 0) << haswell.err;
  const auto j = json_of(haswell);
  if (j.value("blas_kernels", std::string()) != "Haswell") GTEST_SKIP() << "the loaded BLAS is not OpenBLAS";
  const auto warning = j.value("blas_kernels_warning", std::string("absent"));
  if (avx512) {
    EXPECT_NE(warning.find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << warning;
    EXPECT_NE(haswell.err.find("AVX-512"), std::string::npos) << haswell.err;
    const auto skylake = json_of(run_with_env("OPENBLAS_CORETYPE=SkylakeX ", "version --json"));
    EXPECT_EQ(skylake.value("blas_kernels", std::string()), "SkylakeX");
    EXPECT_EQ(skylake.value("blas_kernels_warning", std::string("absent")), "");
  } else {
    EXPECT_EQ(warning, "") << "Haswell's kernels are the widest this CPU runs";
  }
}

TEST(Cli, OutOfRangeOrConflictingOptionsAreRefusedBeforeAnythingRuns) {
  // Each once ran with a silent default (a non-positive --days or --timesteps meant "the config's")
  // or let one option quietly win over another.
  const std::pair<const char*, const char*> cases[] = {
      {"train --config quickstart --timesteps 0", "--timesteps: expected a whole number >= 1, got '0'"},
      {"train --config quickstart --timesteps -5", "--timesteps: expected a whole number >= 1, got '-5'"},
      {"train --config quickstart --threads -1", "--threads: expected a whole number >= 0, got '-1'"},
      {"backtest --model none.pt --days 0", "--days: expected a whole number >= 1, got '0'"},
      {"backtest --model none.pt --days 5 --start 2024-01-02", "--days excludes --start"},
      {"backtest --model none.pt --reliability --reliability-seeds 0", "--reliability-seeds"},
      {"backtest --walk-forward --timesteps -1", "--timesteps: expected a whole number >= 1"},
      {"diagnose --model none.pt --days -3", "--days: expected a whole number >= 1, got '-3'"},
      {"trade --broker sim --model none.pt --cycles 0", "--cycles: expected a whole number >= 1, got '0'"},
      {"trade --paper --live --broker alpaca --model none.pt", "--paper excludes --live"},
      {"trade --yes-really-live --broker alpaca --model none.pt", "--yes-really-live requires --live"},
      // Values of the wrong type, in the same words (CLI11's own: "Could not convert: --seed = abc").
      {"--seed abc train --config quickstart", "--seed: expected a whole number >= 0, got 'abc'"},
      {"backtest --walk-forward --purge-days soon", "--purge-days: expected a whole number, got 'soon'"},
      // Unknown options name the command and the nearest option it has.
      {"trade --broker sim --max-cycles 3", "trade: unknown option --max-cycles (did you mean --cycles?)"},
      {"data import --dir x a.csv", "data import: unknown option --dir\n"},
      {"train --config quickstart extra", "train: unexpected argument 'extra'"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
  }
}

TEST(Cli, StatusAcceptanceInstants) {
  const auto mourning = json_of(run("status --at 2025-01-09T15:00:00Z --json"));
  EXPECT_EQ(mourning["open"], false);
  EXPECT_EQ(mourning["next_open"], "2025-01-10T14:30:00Z");
  EXPECT_EQ(json_of(run("status --at 2024-12-24T17:30:00Z --json"))["open"], true);
  EXPECT_EQ(json_of(run("--json status --at 2024-12-24T18:30:00Z"))["open"], false);
  EXPECT_EQ(json_of(run("status --at 2024-07-04T15:00:00Z --json"))["open"], false);
  const auto thanksgiving = json_of(run("status --at 2024-11-28T12:00:00Z --json"));
  EXPECT_EQ(thanksgiving["next_open"], "2024-11-29T14:30:00Z");
  EXPECT_EQ(thanksgiving["next_close"], "2024-11-29T18:00:00Z");
  const auto bad = run("status --at tomorrow");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("'tomorrow'"), std::string::npos);
  EXPECT_EQ(run("status").code, 0);
}

TEST(Cli, ConfigShowResolvesNamesAndPrintsTheEffectiveConfig) {
  const auto short_name = run("config show --config v6_better_timing.yaml --json");
  EXPECT_EQ(short_name.code, 0) << short_name.err;
  const auto full_name = run("config show --config training_config_v6_better_timing.yaml --json");
  EXPECT_EQ(short_name.out, full_name.out);
  EXPECT_EQ(json_of(short_name)["ppo"]["batch_size"], 8192);
  const auto seeded = json_of(run("--seed 123 config show --config quickstart --json"));
  EXPECT_EQ(seeded["training"]["seed"], 123);
  const auto yaml = run("config show --config quickstart --comments");
  EXPECT_EQ(yaml.code, 0);
  EXPECT_NE(yaml.out.find("# discount factor"), std::string::npos);
  EXPECT_EQ(run("config validate config/quickstart.yaml config/autonomous_config.yaml").code, 0);
  EXPECT_NE(run("config list").out.find("quickstart.yaml"), std::string::npos);
}

TEST(Cli, BadConfigsExitWithFileLineAndKey) {
  const std::string path = kTmp + "/bad.yaml";
  {
    std::filesystem::create_directories(kTmp);
    std::ofstream out(path);
    out << "name: bad\nppo:\n  clip_range: 2.0\n";
  }
  const auto r = run("config show --config " + path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ":3: ppo.clip_range: expected a value in (0, 1)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  const auto missing = run("config show --config no_such_config.yaml");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("not found"), std::string::npos);
  // validate checks every file and lists every problem of each, one a line; exit 2 if any.
  const std::string worse = kTmp + "/worse.yaml";
  {
    std::ofstream out(worse);
    out << "ppo:\n  gamma: 1.5\n  n_stepz: 4\ntraining:\n  n_envs: many\n";
  }
  const auto all = run("config validate " + path + " config/quickstart.yaml " + worse);
  EXPECT_EQ(all.code, 2);
  EXPECT_NE(all.out.find("config/quickstart.yaml: ok"), std::string::npos) << all.out;
  for (const std::string& problem : {path + ":3: ppo.clip_range:", worse + ":2: ppo.gamma:", worse + ":3: ppo.n_stepz:",
                                     worse + ":5: training.n_envs:"}) {
    EXPECT_NE(all.err.find(problem + " "), std::string::npos) << problem << " in\n" << all.err;
  }
  EXPECT_EQ(std::count(all.err.begin(), all.err.end(), '\n'), 4) << all.err;
  // A directory opens like a file on Linux and reads as nothing: it once validated as "ok".
  const auto folder = run("config validate " + kTmp);
  EXPECT_EQ(folder.code, 2);
  EXPECT_NE(folder.err.find(kTmp + ": is a directory, not a config file"), std::string::npos) << folder.err;
}

TEST(Cli, SecretsFromDotEnvAreRedactedInErrorsAndLogFiles) {
  const std::string env_path = kTmp + "/secret.env";
  const std::string log_path = kTmp + "/log.txt";
  std::filesystem::create_directories(kTmp);
  {
    std::ofstream out(env_path);
    out << "ALPACA_SECRET_KEY=super-secret-value-123\n";
  }
  std::filesystem::remove(log_path);
  // The secret reaches the program as text it echoes: in the logged command line and the error message.
  const std::string cmd = std::string("cd '") + PLOUTOS_SOURCE_DIR + "' && PLOUTOS_ENV_FILE='" + env_path + "' '" +
                          PLOUTOS_BIN + "' --log-level debug --log-file '" + log_path +
                          "' status --at super-secret-value-123 2>&1";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  char buf[4096];
  std::string out;
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  EXPECT_EQ(WEXITSTATUS(::pclose(pipe)), 2);
  EXPECT_NE(out.find("invalid time '***'"), std::string::npos) << out;
  EXPECT_EQ(out.find("super-secret-value-123"), std::string::npos) << out;
  std::ifstream log(log_path);
  const std::string logged((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(logged.find("status --at ***"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("super-secret-value-123"), std::string::npos) << logged;
}

TEST(Cli, DataImportRejectsBadCsvAndLeavesTheDirectoryUntouched) {
  const std::string dir = kTmp + "/market";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(kTmp);
  const std::string good = kTmp + "/GOOD.csv", bad = kTmp + "/BAD.csv";
  {
    std::ofstream(good)
        << "date,open,high,low,close,adj_close,volume\n2024-01-02,10,11,9,10,10,5\n2024-01-03,10,11,9,10.5,10.5,6\n";
    std::ofstream(bad)
        << "date,open,high,low,close,adj_close,volume\n2024-01-02,10,11,9,10,10,5\n2024-01-03,10,9,11,10,10,6\n";
  }
  const auto r = run("data import " + good + " " + bad + " --data " + dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(bad + ":3: ohlc_inconsistent"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir)) << "a rejected import wrote files";
  { std::ofstream(bad) << "date,open,high,low,close,adj_close,volume\n2024-01-02,10,11,9,ten,10,5\n"; }
  const auto text = run("data import " + bad + " --data " + dir);
  EXPECT_EQ(text.code, 2);
  EXPECT_NE(text.err.find(bad + ":2: close: expected a number, got 'ten'"), std::string::npos) << text.err;
  // A byte that is not UTF-8 (a Latin-1 export, a damaged file) is reported like any other bad
  // field, also as JSON, where it becomes U+FFFD.
  { std::ofstream(bad) << "date,open,high,low,close,adj_close,volume\n2024-01-02,10,11,9,t\xe9n,10,5\n"; }
  const auto latin1 = run("data check " + bad + " --json");
  EXPECT_EQ(latin1.code, 2) << latin1.err;
  EXPECT_EQ(latin1.err.find("internal error"), std::string::npos) << latin1.err;
  EXPECT_NE(json_of(latin1).dump().find("t\xef\xbf\xbdn"), std::string::npos) << latin1.out;
  // Nothing to show is an error on its own, with no table header printed above it.
  const auto empty = run("data info --data " + dir);
  EXPECT_EQ(empty.code, 2);
  EXPECT_EQ(empty.out, "");
  EXPECT_NE(empty.err.find("no data in " + dir), std::string::npos) << empty.err;
  const auto ok = run("data import " + good + " --data " + dir + " --json");
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(json_of(ok)[0]["rows"], 2);
  EXPECT_TRUE(std::filesystem::exists(dir + "/1d/GOOD.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/1d/GOOD.json"));
}

TEST(Cli, DataSynthIsByteIdenticalPerSeedAndChecksClean) {
  const std::string a = kTmp + "/synth_a", b = kTmp + "/synth_b";
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
  ASSERT_EQ(run("--seed 5 data synth --tickers SYNA,SYNB --days 250 --out " + a).code, 0);
  ASSERT_EQ(run("--seed 5 data synth --tickers SYNA,SYNB --days 250 --out " + b).code, 0);
  for (const char* f : {"/1d/SYNA.csv", "/1d/SYNB.csv"}) {
    std::ifstream fa(a + f), fb(b + f);
    const std::string ta((std::istreambuf_iterator<char>(fa)), {}), tb((std::istreambuf_iterator<char>(fb)), {});
    EXPECT_FALSE(ta.empty());
    EXPECT_EQ(ta, tb) << f;
  }
  const auto check = run("data check --data " + a + " --json");
  EXPECT_EQ(check.code, 0) << check.err;
  EXPECT_EQ(json_of(check).size(), 2u);
}

TEST(Cli, DataCheckOnTheSharedFilesFindsNoErrors) {
  if (!std::filesystem::is_directory(std::string(PLOUTOS_SOURCE_DIR) + "/../shared/data/daily")) {
    GTEST_SKIP() << "../shared/data is absent; skipped";
  }
  const auto r = run("data check --data ../shared/data");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
}

TEST(Cli, DataFetchStoresOnceThenIsUpToDate) {
  ploutos::test::FakeServer yahoo;
  std::atomic<int> requests{0};
  yahoo.server().Get(R"(/v8/finance/chart/(\w+))", [&](const httplib::Request&, httplib::Response& res) {
    ++requests;
    // 2024-01-02 and 2024-01-03, stamped at the 09:30 New York open as Yahoo does.
    res.set_content(
        R"({"chart":{"result":[{"meta":{},"timestamp":[1704205800,1704292200],)"
        R"("indicators":{"quote":[{"open":[10,11],"high":[12,12],"low":[9,10],"close":[11,11.5],"volume":[100,200]}],)"
        R"("adjclose":[{"adjclose":[11,11.5]}]}}],"error":null}})",
        "application/json");
  });
  yahoo.start();
  const std::string dir = kTmp + "/fetched";
  std::filesystem::remove_all(dir);
  const std::string args =
      "data fetch --tickers AAPL --start 2024-01-02 --end 2024-01-03 --interval 1d --source yahoo --data " + dir;
  const std::string env = "YAHOO_BASE_URL=" + yahoo.url() + " ";
  const auto first = run_with_env(env, args + " --json");
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(json_of(first)[0]["new_bars"], 2);
  EXPECT_EQ(json_of(first)[0]["source"], "yahoo");
  const auto second = run_with_env(env, args);
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("AAPL: up to date"), std::string::npos) << second.out;
  EXPECT_EQ(requests.load(), 1);
  const auto check = run("data check --data " + dir);
  EXPECT_EQ(check.code, 0) << check.out;
  // With every source failing the command says why and exits 1.
  const std::string no_retries = kTmp + "/no_retries.yaml";
  std::ofstream(no_retries) << "name: no_retries\ndata:\n  http_max_retries: 0\n";
  const auto none = run_with_env(
      "YAHOO_BASE_URL=http://127.0.0.1:9 ",
      "--config " + no_retries +
          " --log-level error data fetch --tickers MSFT --start 2024-01-02 --end 2024-01-03 --source yahoo --data " +
          dir);
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("no source delivered MSFT"), std::string::npos) << none.err;
}

TEST(Cli, FeaturesExportsOneRowPerTickerAndBar) {
  const std::string out = kTmp + "/features.csv";
  const std::string dir = kTmp + "/feature_market";
  std::filesystem::remove_all(dir);
  ASSERT_EQ(run("data synth --tickers AAA,BBB --days 300 --out " + dir).code, 0);
  const auto r = run("features --data " + dir + " --tickers AAA,BBB --out " + out + " --all");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(out);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("ticker,date,valid,ret_1,", 0), 0u) << header;
  EXPECT_NE(header.find(",rsi_14,"), std::string::npos);
  EXPECT_NE(header.find(",adx_14,"), std::string::npos);
  std::size_t rows = 0;
  for (std::string line; std::getline(in, line);) ++rows;
  EXPECT_EQ(rows, 600u);
  const auto unknown = run("features --data " + dir + " --tickers ZZZ");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("no 1d data for ZZZ"), std::string::npos) << unknown.err;
  const auto two = run("features --data " + dir + " --tickers ZZZ,AAA,YYY");
  EXPECT_EQ(two.code, 2);
  EXPECT_NE(two.err.find("no 1d data for ZZZ, YYY (2 of 3 tickers) in " + dir), std::string::npos) << two.err;
  const std::string empty = kTmp + "/empty_market";
  std::filesystem::create_directories(empty);
  std::ofstream(empty + "/EMPTY.csv") << "date,open,high,low,close,adj_close,volume\n";
  const auto no_rows = run("features --data " + empty + " --tickers EMPTY");
  EXPECT_EQ(no_rows.code, 2);
  EXPECT_NE(no_rows.err.find("no bars"), std::string::npos) << no_rows.err;
  const auto list = json_of(run("features list --json"));
  EXPECT_GE(list["observation"].size(), 60u);
}

TEST(Cli, FeaturesOfTheSyntheticMarketAreTheOnesTrainingSees) {
  // quickstart's data.source is synthetic: the export must not look for files in data.dir.
  const std::string out = kTmp + "/quickstart_features.csv";
  const auto r = run("features --config quickstart --tickers SYNA --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto forced = run("features --config quickstart --tickers SYNA --data synthetic");
  ASSERT_EQ(forced.code, 0) << forced.err;
  std::ifstream in(out);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file, forced.out);
  EXPECT_GT(std::count(file.begin(), file.end(), '\n'), 1000);
  EXPECT_NE(file.find("\nSYNA,"), std::string::npos);
  const auto hourly = run("features --config quickstart --tickers SYNA --interval 1h");
  EXPECT_EQ(hourly.code, 2);
  EXPECT_NE(hourly.err.find("only daily bars"), std::string::npos) << hourly.err;
}

TEST(Cli, TrainWritesAModelThatModelInfoReads) {
  const std::string model = kTmp + "/quick.pt";
  const auto r = run("--seed 3 train --config quickstart --timesteps 2048 --threads 1 --out " + model +
                     " --metrics-dir " + kTmp + "/runs --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json_of(r)["timesteps"], 2048);
  EXPECT_TRUE(json_of(r).contains("explained_variance"));
  EXPECT_FALSE(json_of(r).contains("best_model")) << "one iteration, no evaluation (eval_freq 10,000)";
  const auto info = json_of(run("model info " + model + " --json"));
  for (const char* key : {"format_version", "feature_set", "features", "tickers", "obs_dim", "action_space", "config",
                          "data_range", "data_hash", "seed", "git_revision", "metrics"}) {
    EXPECT_TRUE(info.contains(key)) << key;
  }
  EXPECT_EQ(info["seed"], 3);
  EXPECT_EQ(info["tickers"].size(), 4u);
  EXPECT_EQ(info["weights_checksum"], "verified");
  const auto text = run("model info " + model);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("  checksum      weights match the checksum written with them\n"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("  tickers       SYNA SYNB SYNC SYND\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\n    explained_variance "), std::string::npos) << "one metric a line: " << text.out;
  std::ifstream csv(kTmp + "/runs/metrics.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("timesteps,update,episode_reward_mean", 0), 0u) << header;
  const auto missing = run("model info " + kTmp + "/nothing.pt");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("nothing.pt: no such model file (`ploutos train --config NAME --out "), std::string::npos)
      << missing.err;
}

// The shipped autonomous config end to end on the synthetic market, with small budgets: the exit
// code is the acceptance verdict, and the model lies where the report says.
TEST(Cli, AutonomousRunsTheShippedConfigAndExitsWithItsVerdict) {
  const std::string dir = kTmp + "/autonomous";
  std::filesystem::remove_all(dir);
  const auto r =
      run("autonomous --config autonomous_config.yaml --data synthetic --tickers SYNA,SYNB,SYNC "
          "--timesteps 8192 --trials 2 --trial-timesteps 8192 --threads 1 --out " +
          dir + "/brain.pt --report " + dir + "/report --json");
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;
  const auto j = json_of(r);
  EXPECT_EQ(r.code, j["accepted"].get<bool>() ? 0 : 1);
  EXPECT_EQ(j["trials"].size(), 2u);
  EXPECT_EQ(j["min_sharpe"], 1.5);
  EXPECT_EQ(j["model"], j["accepted"].get<bool>() ? dir + "/brain.pt" : dir + "/brain.rejected.pt");
  EXPECT_TRUE(std::filesystem::exists(j["model"].get<std::string>()));
  EXPECT_TRUE(std::filesystem::exists(dir + "/report/autonomous.json"));
  EXPECT_EQ(j["windows"]["test"]["bars"], 91) << "validation.test_days 90 and the first decision's bar";
  const auto info = json_of(run("model info " + j["model"].get<std::string>() + " --json"));
  EXPECT_EQ(info["tickers"], j["tickers"]);
  // The acceptance test is `ploutos backtest` of the model over the same sessions: same bars (the
  // model remembers the synthetic universe), same engine, same costs, same numbers.
  const auto bt = run("backtest --model " + j["model"].get<std::string>() + " --data synthetic --days 90 --out " + dir +
                      "/bt --json");
  ASSERT_EQ(bt.code, 0) << bt.err;
  const auto summary = json_of(bt);
  EXPECT_DOUBLE_EQ(summary["total_return"].get<double>(), j["test"]["agent"]["total_return"].get<double>());
  EXPECT_DOUBLE_EQ(summary["sharpe"].get<double>(), j["test"]["agent"]["sharpe"].get<double>());
}

TEST(Cli, TrainOnTheSharedDailyData) {
  if (!std::filesystem::is_directory(std::string(PLOUTOS_SOURCE_DIR) + "/../shared/data/daily")) {
    GTEST_SKIP() << "../shared/data is absent; skipped";
  }
  // The V6 config with a small network and rollout, so the test stays short; the data path is the real one.
  const std::string cfg = kTmp + "/v6_small.yaml";
  std::filesystem::create_directories(kTmp);
  std::ofstream(cfg)
      << "name: v6_small\ndata:\n  tickers: [SPY, QQQ, XLE]\n  interval: 1d\n  source: csv\n"
         "ppo:\n  n_steps: 256\n  batch_size: 256\n  n_epochs: 2\n  net_arch: [32, 32]\ntraining:\n  n_envs: 2\n";
  const auto r = run("train --config " + cfg + " --timesteps 1024 --data ../shared/data/daily --out " + kTmp +
                     "/v6_small.pt --metrics-dir " + kTmp + "/v6_runs --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto info = json_of(run("model info " + kTmp + "/v6_small.pt --json"));
  EXPECT_EQ(info["tickers"], nlohmann::json::parse(R"(["SPY","QQQ","XLE"])"));
  EXPECT_NE(info["data_range"].get<std::string>().find("2026-05-29"), std::string::npos);
}

TEST(Cli, CtrlCSavesACheckpointAndResumeContinues) {
  const std::string model = kTmp + "/interrupted.pt";
  std::filesystem::remove(model);
  std::filesystem::remove_all(kTmp + "/int_runs");
  // SIGINT once the first update is in the metrics (not after a fixed time: a loaded machine may
  // not have finished one by then), and a little later, mid-rollout.
  const std::string cmd =
      std::string("cd '") + PLOUTOS_SOURCE_DIR + "' && PLOUTOS_ENV_FILE=/nonexistent '" + PLOUTOS_BIN +
      "' --quiet train --config quickstart --timesteps 100000000 --threads 1 --out " + model + " --metrics-dir " +
      kTmp + "/int_runs > /dev/null 2>&1 & pid=$!; for i in $(seq 600); do " + "[ -s '" + kTmp +
      "/int_runs/metrics.jsonl' ] && break; sleep 0.2; done; sleep 0.5; " + "kill -INT $pid; wait $pid; echo $?";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  char buf[64] = {0};
  std::string out;
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  ::pclose(pipe);
  EXPECT_EQ(std::stoi(out), 130) << out;
  ASSERT_TRUE(std::filesystem::exists(model));
  const auto saved = json_of(run("model info " + model + " --json"));
  const long long at = saved["timesteps"].get<long long>();
  EXPECT_GT(at, 0);
  EXPECT_EQ(at % 2048, 0) << "a checkpoint holds whole updates";
  const auto resumed =
      run("train --config quickstart --threads 1 --resume " + model + " --timesteps " + std::to_string(at + 2048) +
          " --out " + model + " --metrics-dir " + kTmp + "/int_runs --json");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(json_of(resumed)["timesteps"], at + 2048);
  const auto done = run("train --config quickstart --threads 1 --resume " + model + " --timesteps 2048 --out " + kTmp +
                        "/done.pt --metrics-dir " + kTmp + "/int_runs");
  ASSERT_EQ(done.code, 0) << done.err;
  EXPECT_NE(done.err.find("asks for no more: nothing to train"), std::string::npos) << done.err;
}

TEST(Cli, BacktestATrainedModelAgainstBaselines) {
  const std::string model = kTmp + "/bt.pt";
  ASSERT_EQ(run("train --config quickstart --timesteps 2048 --threads 1 --out " + model + " --metrics-dir " + kTmp +
                "/bt_runs")
                .code,
            0);
  const auto r = run("backtest --model " + model + " --data synthetic --days 120 --out " + kTmp + "/bt_report --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json_of(r);
  EXPECT_EQ(j["window"]["bars"], 121);
  EXPECT_EQ(j["optimistic"], false);
  EXPECT_TRUE(j["baselines"].contains("random_same_frequency"));
  EXPECT_TRUE(std::filesystem::exists(kTmp + "/bt_report/summary.json"));
  EXPECT_EQ(j["decision_precision"], "float32");
  // The last 120 sessions follow the training window (its last fifth validated, unused by this model).
  EXPECT_EQ(j["seen_by_model"]["in_sample"], false) << j["seen_by_model"];
  EXPECT_EQ(r.err.find("IN-SAMPLE"), std::string::npos) << r.err;
  const auto int8 = run("backtest --model " + model + " --data synthetic --days 120 --decision-precision int8 --out " +
                        kTmp + "/bt_int8 --json");
  ASSERT_EQ(int8.code, 0) << int8.err;
  EXPECT_EQ(json_of(int8)["decision_precision"], "int8");
  EXPECT_EQ(json_of(int8)["window"]["bars"], 121);
  const auto agreement = json_of(int8)["agreement_with_float32"];
  EXPECT_EQ(agreement["decisions"], 120 * j["tickers"].size());  // a decision a ticker and bar, the last bar none
  EXPECT_GE(agreement["share"].get<double>(), 0.9);
  EXPECT_FALSE(j.contains("agreement_with_float32"));
  const auto bad = run("backtest --model " + model + " --data synthetic --decision-precision int4");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--decision-precision: 'int4' is not one of float32, int8"), std::string::npos) << bad.err;
  const auto close = json_of(run("backtest --model " + model + " --data synthetic --days 120 --fill close --out " +
                                 kTmp + "/bt_close --json"));
  EXPECT_EQ(close["optimistic"], true);
  EXPECT_EQ(run("backtest --model " + kTmp + "/none.pt --data synthetic").code, 2);
  const auto everything =
      run("backtest --model " + model + " --data synthetic --days 100000 --out " + kTmp + "/bt_all --json");
  ASSERT_EQ(everything.code, 0) << everything.err;
  EXPECT_NE(everything.err.find("--days 100000: only "), std::string::npos) << everything.err;
  EXPECT_GT(json_of(everything)["window"]["bars"].get<int>(), 1000);
  EXPECT_EQ(json_of(everything)["seen_by_model"]["in_sample"], true);
  EXPECT_NE(everything.err.find("IN-SAMPLE: "), std::string::npos) << everything.err;
  EXPECT_EQ(run("backtest --walk-forward --config quickstart --model " + model).code, 2)
      << "walk-forward trains its own";
  const auto rel = json_of(
      run("backtest --model " + model + " --data synthetic --days 120 --reliability --out " + kTmp + "/bt_rel --json"));
  for (const char* key : {"regimes", "seeds", "sharpe_ci95", "one_bar_delay", "suspicious", "verdict"})
    EXPECT_TRUE(rel["reliability"].contains(key)) << key;
  EXPECT_TRUE(std::filesystem::exists(kTmp + "/bt_rel/reliability.json"));
  EXPECT_TRUE(std::filesystem::exists(kTmp + "/bt_rel/suggestions.json"));
  const auto live_path =
      json_of(run("backtest --model " + model + " --data synthetic --days 120 --engine broker --out " + kTmp +
                  "/bt_broker --json"));
  EXPECT_EQ(live_path["engine"], "broker");
  EXPECT_TRUE(live_path["baselines"].contains("buy_and_hold_equal_weight"));
  const auto d = json_of(run("diagnose --model " + model + " --data synthetic --days 120 --json"));
  EXPECT_TRUE(d.contains("buy_quality"));
  EXPECT_EQ(d["decision_precision"], "float32");
  EXPECT_EQ(d["seen_by_model"]["in_sample"], false) << d["seen_by_model"];
  EXPECT_EQ(d["seen_by_model"]["window_bars"], 120) << "the returns of 120 sessions";
  const auto d8 =
      json_of(run("diagnose --model " + model + " --data synthetic --days 120 --decision-precision int8 --json"));
  EXPECT_EQ(d8["decision_precision"], "int8");
  EXPECT_TRUE(d8.contains("buy_quality"));
  EXPECT_TRUE(d.contains("verdict"));
  for (const char* key : {"entries", "buy_low_share", "buy_high_share", "mae", "mfe", "cost_share", "suggestions",
                          "feature_differences", "actions_by_regime"})
    EXPECT_TRUE(d.contains(key)) << key;
}

namespace {

std::string trained_quickstart_model(const std::string& name) {
  const std::string model = kTmp + "/" + name;
  if (!std::filesystem::exists(model)) {
    const auto r = run("--seed 4 train --config quickstart --timesteps 2048 --threads 1 --out " + model +
                       " --metrics-dir " + kTmp + "/runs_" + name);
    EXPECT_EQ(r.code, 0) << r.err;
  }
  return model;
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

}  // namespace

TEST(Cli, TradeSimWorksOfflineContinuesAcrossRunsAndGuardsLiveTrading) {
  const std::string model = trained_quickstart_model("trade.pt");
  const std::string journal = kTmp + "/trade/journal.sqlite";
  std::filesystem::remove_all(kTmp + "/trade");
  const std::string no_keys = "ALPACA_API_KEY= ALPACA_SECRET_KEY= ETORO_API_KEY= ETORO_USER_KEY= ";
  const auto first =
      run_with_env(no_keys, "trade --paper --broker sim --model " + model + " --journal " + journal + " --once --json");
  ASSERT_EQ(first.code, 0) << first.err;
  const auto a = json_lines(first.out);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["decision_precision"], "float32");
  const auto second = run("trade --broker sim --model " + model + " --journal " + journal +
                          " --cycles 5 --decision-precision int8 --json");
  ASSERT_EQ(second.code, 0) << second.err;
  const auto b = json_lines(second.out);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[0]["decision_precision"], "int8");
  EXPECT_GT(b[0]["decision_time"].get<std::string>(), a[0]["decision_time"].get<std::string>())
      << "the session continues where it stopped";
  std::ifstream state_file(journal + ".sim.json");
  const auto state = nlohmann::json::parse(state_file);
  std::set<std::string> ids;
  for (const auto& o : state["orders"]) {
    EXPECT_EQ(o["client_order_id"].get<std::string>().rfind("pl-", 0), 0u);
    EXPECT_TRUE(ids.insert(o["client_order_id"].get<std::string>()).second);
  }
  // Each cycle's report lists exactly the orders the broker received in it.
  std::set<std::string> reported;
  for (const auto* lines : {&a, &b})
    for (const auto& cycle : *lines)
      for (const auto& o : cycle["orders"]) {
        EXPECT_EQ(o["outcome"], "new") << o.dump();
        reported.insert(o["client_order_id"].get<std::string>());
      }
  EXPECT_EQ(reported, ids);
  EXPECT_FALSE(ids.empty()) << "this seeded model trades in these six sessions";
  // Six cycles as text and as JSON from fresh journals: a dated line a cycle, an indented line an order.
  const auto text = run("trade --broker sim --model " + model + " --journal " + kTmp + "/trade/text.sqlite --cycles 6");
  ASSERT_EQ(text.code, 0) << text.err;
  const auto as_json =
      run("trade --broker sim --model " + model + " --journal " + kTmp + "/trade/json.sqlite --cycles 6 --json");
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  std::size_t json_orders = 0;
  for (const auto& cycle : json_lines(as_json.out)) json_orders += cycle["orders"].size();
  EXPECT_GT(json_orders, 0u);
  std::istringstream text_lines(text.out);
  std::size_t cycle_lines = 0, order_lines = 0;
  for (std::string line; std::getline(text_lines, line);) {
    if (std::regex_search(line, std::regex(R"(^\d{4}-\d{2}-\d{2}  buy \d+ sell \d+ hold \d+  orders \d+)")))
      ++cycle_lines;
    if (std::regex_search(line, std::regex(R"(^    (buy|sell) [0-9.]+ SYN[A-D]: new  pl-)"))) ++order_lines;
  }
  EXPECT_EQ(cycle_lines, 6u) << text.out;
  EXPECT_EQ(order_lines, json_orders) << text.out;

  const auto etoro = run_with_env(no_keys, "trade --model " + model + " --once");
  EXPECT_EQ(etoro.code, 2);
  EXPECT_NE(etoro.err.find("ETORO_API_KEY"), std::string::npos) << etoro.err;
  EXPECT_NE(etoro.err.find("--broker sim"), std::string::npos) << etoro.err;
  EXPECT_EQ(run("trade --broker sim --live --model " + model).code, 2);
  // $BROKER picks the broker; --broker overrides it.
  EXPECT_EQ(run_with_env("BROKER=sim ", "trade --model " + model + " --journal " + journal + " --once --quiet").code,
            0);
  const auto overridden = run_with_env(no_keys + "BROKER=sim ", "trade --broker alpaca --model " + model + " --once");
  EXPECT_EQ(overridden.code, 2);
  EXPECT_NE(overridden.err.find("ALPACA_API_KEY"), std::string::npos) << overridden.err;
  const auto unconfirmed = run_with_env("ALPACA_API_KEY=k1234 ALPACA_SECRET_KEY=s1234 ",
                                        "trade --broker alpaca --live --model " + model + " < /dev/null");
  EXPECT_EQ(unconfirmed.code, 2);
  EXPECT_NE(unconfirmed.err.find("confirmation"), std::string::npos) << unconfirmed.err;

  // `ploutos journal` reads the session back: 1 + 5 + 1 cycles ran on this journal.
  const auto summary = run("journal " + journal + " --out " + kTmp + "/trade/report --json");
  ASSERT_EQ(summary.code, 0) << summary.err;
  const auto report = nlohmann::json::parse(summary.out);
  EXPECT_EQ(report["cycles_done"], 7);
  EXPECT_EQ(report["broker"], "sim");
  EXPECT_EQ(report["interval"], "1d");
  EXPECT_EQ(report["model"], model) << "the journal says what traded in it";
  EXPECT_EQ(report["decision_precision"], "float32") << "the latest session's";
  std::size_t orders = 0;
  for (const auto& n : report["orders"]) orders += n.get<std::size_t>();
  std::ifstream final_state_file(journal + ".sim.json");
  EXPECT_EQ(orders, nlohmann::json::parse(final_state_file)["orders"].size())
      << "every order the simulated broker received";
  std::ifstream html(kTmp + "/trade/report/journal.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<svg"), std::string::npos) << "the equity chart";
  const auto readable = run("journal " + journal);
  ASSERT_EQ(readable.code, 0) << readable.err;
  EXPECT_NE(readable.out.find("cycles       7 ("), std::string::npos) << readable.out;
  const auto missing = run("journal " + kTmp + "/trade/none.sqlite");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("no journal there"), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(kTmp + "/trade/none.sqlite"));
}

// SIGKILL at random moments of a simulated session, then a restart: the sim broker refuses a
// repeated client order id, so a resend would show up as a rejection; none may appear, and the
// journal's positions must equal the broker's.
TEST(Cli, TradeSurvivesSigkillAtRandomMoments) {
  const std::string model = trained_quickstart_model("trade_kill.pt");
  const std::string dir = kTmp + "/trade_kill";
  std::filesystem::remove_all(dir);
  const std::string journal = dir + "/journal.sqlite";
  // 1,500 cycles take several seconds here; each run is killed 0.4-0.9 s after its start (0.3 s of it is
  // process start), so every kill lands mid-session and the session advances between kills.
  const std::string args =
      "trade --broker sim --model " + model + " --journal " + journal + " --start-bars 1500 --quiet";
  std::uint64_t x = 12345;
  int killed = 0;
  for (int i = 0; i < 8; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const double delay = 0.4 + static_cast<double>(x >> 40) / static_cast<double>(1ULL << 24) * 0.5;
    const auto r = run_with_env(
        "", "--version >/dev/null; timeout -s KILL " + std::to_string(delay) + " '" + PLOUTOS_BIN + "' " + args);
    killed += r.code == 137;
  }
  EXPECT_GE(killed, 2) << "runs must die mid-session for this test to mean anything";
  const auto last = run(args);
  ASSERT_EQ(last.code, 0) << last.err;
  SQLite::Database db(journal);
  SQLite::Statement rejected(db, "SELECT COUNT(*) FROM orders WHERE state = 'rejected'");
  rejected.executeStep();
  EXPECT_EQ(rejected.getColumn(0).getInt(), 0) << "a rejection here is a resent order";
  SQLite::Statement cycles(db, "SELECT COUNT(*) FROM cycles WHERE finished_at IS NOT NULL");
  cycles.executeStep();
  EXPECT_GE(cycles.getColumn(0).getInt(), 1499);
  std::map<std::string, double> journal_positions;
  SQLite::Statement fills(
      db, "SELECT symbol, SUM(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) FROM fills GROUP BY symbol");
  while (fills.executeStep()) journal_positions[fills.getColumn(0).getString()] = fills.getColumn(1).getDouble();
  std::ifstream state_file(journal + ".sim.json");
  const auto state = nlohmann::json::parse(state_file);
  for (const auto& [symbol, h] : state["holdings"].items())
    EXPECT_NEAR(journal_positions[symbol], h["quantity"].get<double>(), 1e-6) << symbol;
  for (const auto& [symbol, q] : journal_positions) {
    if (std::abs(q) > 1e-6) {
      EXPECT_TRUE(state["holdings"].contains(symbol)) << symbol;
    }
  }
}

// Walk-forward on the shared daily data with a small config: the report exists, every fold has its
// seeds, and a rerun resumes every finished (fold, seed) instead of retraining it.
TEST(Cli, WalkForwardOnSharedDataWritesItsReportAndResumes) {
  const std::string data = std::string(PLOUTOS_SOURCE_DIR) + "/../shared/data/daily";
  if (!std::filesystem::exists(data + "/SPY.csv")) GTEST_SKIP() << "../shared/data is absent; skipped";
  const std::string out = kTmp + "/walk_forward";
  std::filesystem::remove_all(out);
  const std::string args = "backtest --walk-forward --config walk_forward_small --data " + data +
                           " --folds 3 --train-years 2 --test-months 3 --seeds 2 --out " + out + " --json";
  const auto first = run(args);
  ASSERT_EQ(first.code, 0) << first.err;
  const auto j = json_of(first);
  ASSERT_EQ(j["fold_results"].size(), 3u);
  for (const auto& f : j["fold_results"]) {
    EXPECT_EQ(f["seeds"].size(), 2u);
    for (const auto& s : f["seeds"]) EXPECT_FALSE(s["resumed"].get<bool>());
  }
  for (const char* key : {"out_of_sample", "share_of_folds_beating_buy_and_hold", "deflated_sharpe", "oos_equity"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["deflated_sharpe"]["trials"], 6);
  for (const char* file : {"walk_forward.json", "oos_equity.csv", "report.html"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + file)) << file;
  const auto again = json_of(run(args));
  for (const auto& f : again["fold_results"]) {
    for (const auto& s : f["seeds"]) EXPECT_TRUE(s["resumed"].get<bool>());
  }
  EXPECT_EQ(again["out_of_sample"], j["out_of_sample"]) << "resumed runs give the same result";
  // Side by side, from scratch: the runs of one training at a time on one thread.
  const std::string side_by_side = "backtest --walk-forward --config walk_forward_small --data " + data +
                                   " --folds 3 --train-years 2 --test-months 3 --seeds 2 --json --out " + out;
  const auto one = json_of(run(side_by_side + "_one --threads 1"));
  const auto jobs = run(side_by_side + "_jobs --jobs 2");
  ASSERT_EQ(jobs.code, 0) << jobs.err;
  EXPECT_EQ(json_of(jobs)["fold_results"], one["fold_results"]);
  const auto both = run(side_by_side + "_jobs --jobs 2 --threads 2");
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("--jobs 2 trains each run on one thread: drop --threads 2"), std::string::npos) << both.err;
}

// SIGINT during a long simulated session: the cycle in flight finishes, the loop stops, exit 0, and
// the journal holds every finished cycle with no order left in flight. While it ran, `ploutos
// journal` said so and a second session on the same journal was refused (exit 1).
TEST(Cli, TradeStopsCleanlyOnSigint) {
  const std::string model = trained_quickstart_model("trade_sigint.pt");
  const std::string dir = kTmp + "/trade_sigint";
  std::filesystem::remove_all(dir);
  const std::string out_file = kTmp + "/sigint_out.txt", report_file = kTmp + "/sigint_report.json",
                    second_file = kTmp + "/sigint_second.txt";
  std::filesystem::remove(out_file);
  // Mid-session (once the first cycle has been printed): a report, then a second session on the
  // same journal, then SIGINT.
  const std::string bin = std::string("'") + PLOUTOS_BIN + "'";
  const std::string journal = dir + "/journal.sqlite";
  const std::string cmd =
      std::string("cd '") + PLOUTOS_SOURCE_DIR + "' && export PLOUTOS_ENV_FILE=/nonexistent; " + bin +
      " trade --broker sim --model " + model + " --journal " + journal + " --start-bars 1500 --json > " + out_file +
      " 2>/dev/null & pid=$!; until [ -s " + out_file + " ]; do sleep 0.01; done; " + bin + " journal " + journal +
      " --json > " + report_file + " 2>&1; " + bin + " trade --broker sim --model " + model + " --journal " + journal +
      " --once > " + second_file + " 2>&1; echo $? >> " + second_file + "; kill -INT $pid; wait $pid; echo $?";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  char buf[64] = {0};
  std::string out;
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  ::pclose(pipe);
  EXPECT_EQ(std::stoi(out), 0) << out;
  std::ifstream printed(out_file);
  const std::string text((std::istreambuf_iterator<char>(printed)), std::istreambuf_iterator<char>());
  const auto reports = json_lines(text);
  SQLite::Database db(dir + "/journal.sqlite");
  SQLite::Statement done(db, "SELECT COUNT(*) FROM cycles WHERE finished_at IS NOT NULL");
  done.executeStep();
  EXPECT_GT(done.getColumn(0).getInt(), 0);
  EXPECT_LT(done.getColumn(0).getInt(), 1500) << "interrupted before the end";
  EXPECT_EQ(static_cast<std::size_t>(done.getColumn(0).getInt()), reports.size()) << "every finished cycle reported";
  SQLite::Statement unfinished(db, "SELECT COUNT(*) FROM cycles WHERE finished_at IS NULL");
  unfinished.executeStep();
  EXPECT_EQ(unfinished.getColumn(0).getInt(), 0) << "the cycle in flight was finished";
  SQLite::Statement in_flight(db, "SELECT COUNT(*) FROM orders WHERE state = 'intended'");
  in_flight.executeStep();
  EXPECT_EQ(in_flight.getColumn(0).getInt(), 0);

  std::ifstream report_in(report_file);
  const auto report = nlohmann::json::parse(report_in, nullptr, false);
  ASSERT_TRUE(report.is_object()) << "ploutos journal --json beside the session";
  EXPECT_EQ(report.value("running_session", "").rfind("pid ", 0), 0u) << report.dump();
  std::ifstream second_in(second_file);
  const std::string second((std::istreambuf_iterator<char>(second_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(second.find("error: " + journal + ".lock: held by pid "), std::string::npos) << second;
  EXPECT_NE(second.find(", a trading session on " + journal + "; stop it first\n1\n"), std::string::npos)
      << "refused with exit 1: " << second;
}

// `ploutos trade --broker alpaca` end to end against the fake Alpaca: paper keys and the trading URL
// come from the environment, the cycle decides on the synthetic market's last session (the fake
// clock stands on the next session), and every order carries a deterministic client order id.
TEST(Cli, TradeAlpacaPaperEndToEndAgainstTheFakeServer) {
  const std::string model = trained_quickstart_model("trade_alpaca.pt");
  ploutos::test::FakeAlpaca alpaca(
      R"({"timestamp":"2025-01-02T12:00:00-05:00","is_open":true,)"
      R"("next_open":"2025-01-03T09:30:00-05:00","next_close":"2025-01-02T16:00:00-05:00"})");
  const std::string dir = kTmp + "/trade_alpaca";
  std::filesystem::remove_all(dir);
  const std::string env =
      std::string("ALPACA_PAPER_API_KEY=") + ploutos::test::kFakeAlpacaKey +
      " ALPACA_PAPER_SECRET_KEY=" + ploutos::test::kFakeAlpacaSecret +
      " ALPACA_API_KEY=live-key-unused ALPACA_SECRET_KEY=live-secret-unused ALPACA_TRADING_URL=" + alpaca.fake.url() +
      " ";
  const auto r = run_with_env(env, "trade --paper --broker alpaca --model " + model + " --data synthetic --journal " +
                                       dir + "/journal.sqlite --once --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["decision_time"], "2024-12-31T00:00:00Z");
  std::unique_lock records(alpaca.mutex);
  EXPECT_TRUE(alpaca.auth_failures.empty()) << "the paper keys were sent";
  bool asked_clock = false, asked_account = false;
  for (const auto& p : alpaca.paths) {
    asked_clock = asked_clock || p == "GET /v2/clock";
    asked_account = asked_account || p == "GET /v2/account";
  }
  EXPECT_TRUE(asked_clock);
  EXPECT_TRUE(asked_account);
  EXPECT_EQ(alpaca.bodies.size(), lines[0]["orders_sent"].get<std::size_t>());
  EXPECT_GT(alpaca.bodies.size(), 0u) << "this model buys on that day (seeded training)";
  std::set<std::string> sent, reported;
  for (const auto& body : alpaca.bodies) {
    EXPECT_EQ(body["client_order_id"].get<std::string>().rfind("pl-", 0), 0u) << body.dump();
    sent.insert(body["client_order_id"].get<std::string>());
  }
  for (const auto& o : lines[0]["orders"]) reported.insert(o["client_order_id"].get<std::string>());
  EXPECT_EQ(reported, sent) << "the cycle's report lists the orders sent";
  records.unlock();  // the server's handlers take it while they serve the second run
  // A second run on the same day repeats nothing.
  const auto again = run_with_env(env, "trade --paper --broker alpaca --model " + model +
                                           " --data synthetic --journal " + dir + "/journal.sqlite --once --json");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(json_lines(again.out)[0]["skipped"].get<bool>());
  records.lock();
  EXPECT_EQ(alpaca.bodies.size(), lines[0]["orders_sent"].get<std::size_t>()) << "no order sent twice";
}
