#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/allocator.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/logging.hpp"
#include "ploutos/core/secrets.hpp"
#include "ploutos/core/text.hpp"
#include "ploutos/core/version.hpp"
#include "ploutos/env/market.hpp"
#include "ploutos/rl/runtime.hpp"

namespace ploutos::cli {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {
std::atomic<bool> g_stop_requested{false};
extern "C" void request_stop(int) {
  g_stop_requested.store(true);
}
}  // namespace

StopOnSignals::StopOnSignals() {
  g_stop_requested.store(false);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
}

StopOnSignals::~StopOnSignals() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

const std::atomic<bool>* StopOnSignals::flag() const {
  return &g_stop_requested;
}

void apply_data_options(config::Config& config, const std::string& data, const std::string& interval,
                        const std::string& tickers) {
  if (!interval.empty()) {
    config.data.interval = interval;
  } else if (data == "synthetic") {
    config.data.interval = "1d";  // the built-in market is daily; an explicit other --interval is refused on load
  }
  if (!tickers.empty()) config.data.tickers = split_list(tickers);
}

namespace {

CLI::Validator at_least(long long minimum) {
  const std::string expected = "a whole number >= " + std::to_string(minimum);
  return CLI::Validator(
      [minimum, expected](const std::string& text) -> std::string {
        long long value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || value < minimum)
          return "expected " + expected + ", got '" + text + "'";
        return {};
      },
      "INT>=" + std::to_string(minimum));
}

}  // namespace

const CLI::Validator kPositive = at_least(1);
const CLI::Validator kNonNegative = at_least(0);

void add_decision_precision_option(CLI::App& command, std::string& value, const std::string& note) {
  command
      .add_option("--decision-precision", value,
                  "float32 (the trained weights) or int8 (~3x faster decisions that can differ where two actions "
                  "are nearly tied" +
                      note + "; docs/decisions.md)")
      ->capture_default_str();
}

rl::DecisionPrecision decision_precision_from(const std::string& value) {
  const auto precision = rl::parse_decision_precision(value, "--decision-precision");
  if (precision != rl::DecisionPrecision::kFloat32)
    spdlog::warn("--decision-precision {}: decisions may differ from the float32 policy's", rl::to_string(precision));
  return precision;
}

std::pair<std::size_t, std::size_t> recent_window(const env::MarketData& market, int days_option, int config_days) {
  const int days = days_option > 0 ? days_option : config_days;
  const auto window = backtest::last_sessions(market, static_cast<std::size_t>(std::max(days, 1)));
  std::size_t sessions = 0;
  for (std::size_t i = window.first + 1; i <= window.second; ++i)
    sessions += market.new_york_day[i] != market.new_york_day[i - 1] ? 1 : 0;
  if (sessions < static_cast<std::size_t>(days))
    spdlog::warn("{} {}: only {} sessions to trade after the features' warm-up; using them all",
                 days_option > 0 ? "--days" : "backtest.days", days, sessions);
  return window;
}

config::Config load_effective_config(const Globals& globals, std::string* path_out) {
  config::Config config;
  std::string origin = "built-in defaults";
  if (!globals.config_name.empty()) {
    const auto path = config::resolve_config_path(globals.config_name);
    config = config::load_config_file(path);
    origin = path.string();
  }
  if (const auto seed = globals.seed_override()) config.training.seed = *seed;
  config::validate(config, origin);
  if (config.environment.fill == "close") {
    spdlog::warn(
        "environment.fill is 'close': orders fill at the bar that produced the decision (the seed's optimistic "
        "behaviour); results are not achievable in practice");
  }
  if (path_out != nullptr) *path_out = globals.config_name.empty() ? std::string() : origin;
  return config;
}

namespace {

// The command a failed parse had reached: "trade", "data import", or "" for the top level.
CLI::App* deepest_command(CLI::App& app, std::string& path) {
  CLI::App* command = &app;
  for (auto chosen = command->get_subcommands(); !chosen.empty(); chosen = command->get_subcommands()) {
    command = chosen.front();
    path += (path.empty() ? "" : " ") + command->get_name();
  }
  return command;
}

// CLI11 reports a value of the wrong type as "Could not convert: --seed = abc"; say what the option
// takes, in the words of our own checks ("--seed: expected a whole number >= 0, got 'abc'").
std::string conversion_message(CLI::App& app, const std::string& what) {
  const std::string prefix = "Could not convert: ";
  const auto separator = what.find(" = ");
  if (what.rfind(prefix, 0) != 0 || separator == std::string::npos) return what;
  const std::string name = what.substr(prefix.size(), separator - prefix.size());
  const std::string value = what.substr(separator + 3);
  std::string path;
  const CLI::Option* option = nullptr;
  for (CLI::App* command = deepest_command(app, path); command != nullptr && option == nullptr;
       command = command->get_parent())
    option = command->get_option_no_throw(name);
  const std::string type = option != nullptr ? option->get_type_name() : "";
  const std::string expected = type == "UINT"    ? "a whole number >= 0"
                               : type == "INT"   ? "a whole number"
                               : type == "FLOAT" ? "a number"
                                                 : "a value of its type (see --help)";
  return name + ": expected " + expected + ", got '" + value + "'";
}

// CLI11 reports "The following arguments were not expected: 3 --max-cycles" (in reverse order);
// name the command, the first unknown option and the nearest one it has.
std::string extras_message(CLI::App& app, const std::string& what) {
  const auto colon = what.find(": ");
  if (colon == std::string::npos) return what;
  std::vector<std::string> extras;
  std::istringstream words(what.substr(colon + 2));
  for (std::string word; words >> word;) extras.insert(extras.begin(), word);
  std::string path;
  CLI::App* command = deepest_command(app, path);
  const std::string where = path.empty() ? "ploutos" : path;
  const auto option = std::find_if(extras.begin(), extras.end(), [](const std::string& w) { return w[0] == '-'; });
  if (option == extras.end()) return where + ": unexpected argument '" + extras.front() + "'";
  const std::string name = option->substr(0, option->find('='));
  std::vector<std::string> known;  // the command's options, then its parents' (the global ones)
  for (CLI::App* c = command; c != nullptr; c = c->get_parent()) {
    for (const CLI::Option* o : c->get_options()) {
      for (const auto& long_name : o->get_lnames()) known.push_back("--" + long_name);
    }
  }
  const std::string suggestion = nearest(name, known, std::max<std::size_t>(2, name.size() / 3));
  return where + ": unknown option " + name + (suggestion.empty() ? "" : " (did you mean " + suggestion + "?)");
}

int run(int argc, char** argv) {
  Globals globals;
  CLI::App app{"Ploutos: reinforcement-learning trading research, validation and paper trading for US equities.",
               "ploutos"};
  app.set_version_flag("--version",
                       std::string("ploutos ") + std::string(version()) + " (" + std::string(git_revision()) + ")");
  app.fallthrough();  // global options may follow the subcommand: `ploutos status --json`
  app.require_subcommand(0, 1);
  app.footer(
      "Examples:\n"
      "  ploutos status                      is the NYSE open now? next open and close\n"
      "  ploutos config show --config v6_better_timing.yaml\n"
      "  ploutos train --config v6_better_timing.yaml\n"
      "  ploutos backtest --model data/models/brain_tech.pt --days 90\n"
      "  ploutos trade --paper --broker sim --model data/models/brain_tech.pt\n"
      "  ploutos journal data/journal.sqlite    what that session did\n"
      "Run `ploutos <command> --help` for the options of a command.\n"
      "Exit codes: 0 ok, 1 runtime failure (and `autonomous`: model rejected), 2 usage/config/input error,\n"
      "130 interrupted (train, autonomous and backtest --walk-forward keep what they finished).");

  app.add_option("-c,--config", globals.config_name,
                 "Config file: a file of that name here, else a bare name is looked up in config/ "
                 "(v6_better_timing.yaml finds training_config_v6_better_timing.yaml); a path with '/' is used as "
                 "given. Default: built-in defaults")
      ->group("Global options");
  app.add_option("--log-level", globals.log_level, "trace, debug, info, warn, error, critical or off")
      ->default_str("info")
      ->group("Global options");
  app.add_option("--log-file", globals.log_file, "Also append log lines to this file (secrets redacted)")
      ->group("Global options");
  app.add_flag("--json", globals.json, "Machine-readable JSON on stdout")->group("Global options");
  app.add_flag("-q,--quiet", globals.quiet, "Only warnings and errors on stderr; no progress bars")
      ->group("Global options");
  globals.seed_option =
      app.add_option("--seed", globals.seed, "Master seed for every random stream (overrides training.seed)")
          ->group("Global options");

  add_train_command(app, globals);
  add_autonomous_command(app, globals);
  add_backtest_command(app, globals);
  add_trade_command(app, globals);
  add_journal_command(app, globals);
  add_diagnose_command(app, globals);
  add_data_command(app, globals);
  add_features_command(app, globals);
  add_model_command(app, globals);
  add_config_command(app, globals);
  add_status_command(app, globals);
  add_version_command(app, globals);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    const std::string message = dynamic_cast<const CLI::ConversionError*>(&e) != nullptr
                                    ? conversion_message(app, e.what())
                                : dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr ? extras_message(app, e.what())
                                                                                       : e.what();
    std::fprintf(stderr, "ploutos: error: %s\nRun `ploutos --help` (or `ploutos <command> --help`) for usage.\n",
                 message.c_str());
    return kExitUsage;
  }
  if (!globals.action) {
    std::cout << app.help();
    return kExitUsage;
  }

  setup_logging(LogOptions{globals.log_level, globals.log_file, globals.quiet});
  const char* env_file = std::getenv("PLOUTOS_ENV_FILE");
  load_env_file(env_file != nullptr && *env_file != '\0' ? env_file : ".env");
  register_secrets_from_environment();
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  spdlog::debug("ploutos {} ({}): {}", version(), git_revision(), command_line);
  return globals.action();
}

}  // namespace
}  // namespace ploutos::cli

int main(int argc, char** argv) {
  ploutos::rl::ensure_fast_blas_kernels(argv);
  ploutos::tune_allocator_for_numeric_work();
  try {
    return ploutos::cli::run(argc, argv);
  } catch (const ploutos::Error& e) {
    std::fprintf(stderr, "ploutos: error: %s\n", ploutos::redact(e.what()).c_str());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ploutos: internal error: %s\n", ploutos::redact(e.what()).c_str());
    return ploutos::kExitRuntime;
  }
}
