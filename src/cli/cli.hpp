#pragma once
// Shared by the subcommand files: the global options and how a subcommand registers itself.
// Each command_*.cpp parses its options and calls the library; nothing else lives here.
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ploutos/config/config.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/rl/decision_precision.hpp"

namespace ploutos::env {
struct MarketData;
}

namespace ploutos::cli {

struct Globals {
  std::string config_name;  // --config as typed; empty: built-in defaults
  std::string log_level = "info";
  std::string log_file;
  bool json = false;
  bool quiet = false;
  std::uint64_t seed = 0;
  CLI::Option* seed_option = nullptr;

  // The subcommand's work, chosen during parsing and run after logging is set up.
  std::function<int()> action;

  std::optional<std::uint64_t> seed_override() const {
    return seed_option != nullptr && seed_option->count() > 0 ? std::optional(seed) : std::nullopt;
  }
};

// "A,B,,C" -> {"A", "B", "C"}.
std::vector<std::string> split_list(const std::string& text);

// While it lives, SIGINT and SIGTERM set `flag()` instead of killing the process: a long command
// finishes its step (a training update, a trading cycle), saves what it has and returns. The
// default handlers come back when it goes.
class StopOnSignals {
 public:
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
  const std::atomic<bool>* flag() const;
};

// --data, --interval and --tickers over the config's data section. Without --interval, `--data
// synthetic` means daily bars, the only ones the built-in market has.
void apply_data_options(config::Config& config, const std::string& data, const std::string& interval,
                        const std::string& tickers);

// The effective config: --config resolved and loaded (or the built-in defaults), with --seed applied
// and validated. `path_out` receives the file used, empty for defaults.
config::Config load_effective_config(const Globals& globals, std::string* path_out = nullptr);

// --decision-precision (float32 | int8, docs/decisions.md) on a command that decides with a model;
// `note` ends its help text.
void add_decision_precision_option(CLI::App& command, std::string& value, const std::string& note = "");
// The option's value parsed (InputError naming the option otherwise), with a warning when the
// decisions may differ from the float32 policy's.
rl::DecisionPrecision decision_precision_from(const std::string& value);

// Option checks whose message says what was expected ("--days: expected a whole number >= 1, got '-5'").
extern const CLI::Validator kPositive;     // >= 1
extern const CLI::Validator kNonNegative;  // >= 0

// The window of `--days N` (backtest, diagnose): the last N sessions (backtest::last_sessions), or
// the config's backtest.days when the option is unset (0). Warns when the market holds fewer.
std::pair<std::size_t, std::size_t> recent_window(const env::MarketData& market, int days_option, int config_days);

// Fetches the bars the data directory lacks for `tickers` over [start, end] through the source
// chain; one JSON object per ticker ({"ticker", "new_bars", ...} or {"ticker", "error"}).
nlohmann::ordered_json fetch_bars(const config::Config& config, const std::string& dir,
                                  const std::vector<std::string>& tickers, data::Timeframe timeframe, Day start,
                                  Day end, const std::vector<std::string>& source_order, bool quiet, bool print);

void add_version_command(CLI::App& app, Globals& globals);
void add_status_command(CLI::App& app, Globals& globals);
void add_config_command(CLI::App& app, Globals& globals);
void add_train_command(CLI::App& app, Globals& globals);
void add_autonomous_command(CLI::App& app, Globals& globals);
void add_backtest_command(CLI::App& app, Globals& globals);
void add_trade_command(CLI::App& app, Globals& globals);
void add_journal_command(CLI::App& app, Globals& globals);
void add_diagnose_command(CLI::App& app, Globals& globals);
void add_data_command(CLI::App& app, Globals& globals);
void add_features_command(CLI::App& app, Globals& globals);
void add_model_command(CLI::App& app, Globals& globals);

}  // namespace ploutos::cli
