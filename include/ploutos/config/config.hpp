#pragma once
// Typed configuration. Defaults are the seed system's V6 "better timing" values (shared/seed-spec.md)
// except where docs/configuration.md says otherwise; config/*.yaml override them. Every key is
// listed once, in a section's describe(); docs/configuration.md explains them.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ploutos/config/schema.hpp"

namespace ploutos::config {

struct DataConfig : Section {
  std::vector<std::string> tickers = {"NVDA", "MSFT", "AAPL", "GOOGL", "AMZN", "META", "TSLA", "SPY",
                                      "QQQ",  "VOO",  "VTI",  "XLE",   "XLF",  "XLK",  "XLV"};
  std::string source = "synthetic";
  std::vector<std::string> source_order = {"alpaca", "yahoo", "polygon"};
  std::string dir = "data/market";
  std::string interval = "1d";
  std::string start;
  std::string end;
  std::string period = "5y";
  std::uint64_t synthetic_seed = 2024;
  std::vector<std::string> synthetic_universe;
  std::string quality_policy = "error";
  double http_timeout_seconds = 20.0;
  int http_max_retries = 4;
  double requests_per_minute = 120;

  template <class V>
  void describe(V& v) {
    v("tickers", tickers, "symbols of the universe, in observation order", check::tickers_valid);
    v("source", source,
      "where bars come from: synthetic (built-in market), cache (data dir only), csv, auto (cache then source_order), "
      "alpaca, yahoo, polygon",
      check::one_of({"synthetic", "cache", "csv", "auto", "alpaca", "yahoo", "polygon"}));
    v("source_order", source_order, "fallback chain used by source: auto", check::not_empty());
    v("dir", dir, "market-data directory (cache and CSV files)", check::not_empty());
    v("interval", interval, "bar size", check::one_of({"1d", "1h", "4h"}));
    v("start", start, "first day (YYYY-MM-DD); empty: end minus period", check::optional_date);
    v("end", end, "last day (YYYY-MM-DD); empty: today", check::optional_date);
    v("period", period, "look-back when start is empty (e.g. 90d, 6m, 5y)", check::period);
    v("synthetic_seed", synthetic_seed,
      "seed of the built-in synthetic market (separate from training.seed so every run sees the same market)");
    v("synthetic_universe", synthetic_universe,
      "tickers the synthetic market is generated for, together (empty: data.tickers); data.tickers are taken from "
      "it, so a model of some of them sees the same bars again (ploutos autonomous sets it)",
      [](const std::vector<std::string>& t) { return t.empty() ? std::string() : check::tickers_valid(t); });
    v("quality_policy", quality_policy, "error-level data problems on load: error (refuse) or warn (log and go on)",
      check::one_of({"error", "warn"}));
    v("http_timeout_seconds", http_timeout_seconds, "timeout of one market-data request", check::positive());
    v("http_max_retries", http_max_retries, "retries on 429/5xx/timeouts (exponential backoff, Retry-After honoured)",
      check::non_negative());
    v("requests_per_minute", requests_per_minute, "client-side rate limit of market-data requests", check::positive());
  }
};

struct FeaturesConfig : Section {
  std::string feature_set = "v2";
  double clip = 10.0;

  template <class V>
  void describe(V& v) {
    v("feature_set", feature_set, "v2 (scale-free, canonical) or seed_v2 (the seed's 85 columns, for comparison)",
      check::one_of({"v2", "seed_v2"}));
    v("clip", clip, "observation features are clipped to [-clip, clip]", check::positive());
  }
};

struct EnvironmentConfig : Section {
  double initial_balance = 100000.0;
  int max_steps = 2500;
  double buy_pct = 0.20;
  double max_position_pct = 0.25;
  int max_trades_per_day = 10;
  int min_holding_period = 2;
  double reward_scaling = 1.5;
  bool use_sharpe_penalty = true;
  bool use_drawdown_penalty = true;
  double reward_trade_success = 0.5;
  double penalty_overtrading = 0.005;
  double drawdown_penalty_factor = 3.0;
  std::string fill = "next_open";
  double drawdown_penalty_threshold = 0.15;
  double reward_good_return_bonus = 0.3;
  double good_return_threshold = 0.01;
  double reward_high_winrate_bonus = 0.2;
  double high_winrate_threshold = 0.6;
  double reward_clip = 10.0;
  bool use_trade_rewards = false;
  bool average_entry_price = true;
  bool cap_total_position = true;
  std::string day_counter = "calendar";
  double bankruptcy_fraction = 0.5;
  double max_drawdown_end = 0.0;
  int train_start_min = 100;

  template <class V>
  void describe(V& v) {
    v("initial_balance", initial_balance, "starting cash in USD", check::positive());
    v("max_steps", max_steps, "maximum bars per episode", check::at_least(1));
    v("buy_pct", buy_pct, "a BUY spends this fraction of cash", check::half_open(0, 1, "(0, 1]"));
    v("max_position_pct", max_position_pct, "cap of one position as a fraction of equity",
      check::half_open(0, 1, "(0, 1]"));
    v("max_trades_per_day", max_trades_per_day, "trades allowed per trading day", check::at_least(1));
    v("min_holding_period", min_holding_period, "bars between two trades of one ticker", check::non_negative());
    v("reward_scaling", reward_scaling, "multiplier applied to the summed reward terms", check::positive());
    v("use_sharpe_penalty", use_sharpe_penalty, "enable the Sharpe-based reward term");
    v("use_drawdown_penalty", use_drawdown_penalty, "enable the drawdown penalty term");
    v("reward_trade_success", reward_trade_success, "reward for a profitable sell", check::non_negative());
    v("penalty_overtrading", penalty_overtrading, "penalty per non-HOLD action beyond two in a step",
      check::non_negative());
    v("drawdown_penalty_factor", drawdown_penalty_factor, "penalty = drawdown x factor beyond 15% drawdown",
      check::non_negative());
    v("fill", fill, "next_open (decision at t fills at t+1 open) or close (the seed's optimistic same-bar fill)",
      check::one_of({"next_open", "close"}));
    v("drawdown_penalty_threshold", drawdown_penalty_threshold, "drawdown above which the penalty applies",
      check::closed_interval(0, 1, "[0, 1]"));
    v("reward_good_return_bonus", reward_good_return_bonus, "bonus when a step's return exceeds good_return_threshold",
      check::non_negative());
    v("good_return_threshold", good_return_threshold,
      "step return that earns the bonus (the seed's value was not recorded; 1%)", check::non_negative());
    v("reward_high_winrate_bonus", reward_high_winrate_bonus,
      "bonus per step once more than 10 sells won above high_winrate_threshold", check::non_negative());
    v("high_winrate_threshold", high_winrate_threshold, "win rate that earns the bonus",
      check::closed_interval(0, 1, "[0, 1]"));
    v("reward_clip", reward_clip, "reward clipped to [-reward_clip, reward_clip]", check::positive());
    v("use_trade_rewards", use_trade_rewards, "add the per-trade terms the seed computed but ignored (seed: false)");
    v("average_entry_price", average_entry_price,
      "a second BUY averages the entry price (false: the seed overwrote it)");
    v("cap_total_position", cap_total_position,
      "max_position_pct caps the whole position (false: the seed capped each BUY)");
    v("day_counter", day_counter, "calendar (NYSE sessions) or seed78 (the seed's 78-step day) for max_trades_per_day",
      check::one_of({"calendar", "seed78"}));
    v("bankruptcy_fraction", bankruptcy_fraction, "equity below this share of initial_balance ends the episode",
      check::closed_interval(0, 1, "[0, 1]"));
    v("max_drawdown_end", max_drawdown_end, "drawdown from the peak that ends the episode; 0 disables (the seed)",
      check::closed_interval(0, 1, "[0, 1]"));
    v("train_start_min", train_start_min, "train episodes start at a random offset in [train_start_min, max_steps / 2]",
      check::non_negative());
  }
};

struct CostsConfig : Section {
  std::string model = "standard";
  double commission = 0.0;
  double commission_per_share = 0.0;
  double commission_min = 0.0;
  double sec_fee = 0.0000221;
  double finra_taf = 0.000145;
  double spread_bps = 2.0;
  std::string slippage_model = "realistic";
  double slippage_bps = 5.0;
  double market_impact_factor = 0.0001;
  double impact_coefficient = 0.1;
  double min_slippage = 0.0005;
  double max_slippage = 0.005;
  double latency_sd = 0.0;

  template <class V>
  void describe(V& v) {
    v("model", model, "standard (half spread, slippage, square-root impact, fees) or seed (the seed's V6 pricing)",
      check::one_of({"seed", "standard"}));
    v("commission", commission, "commission as a fraction of notional", check::closed_interval(0, 0.1, "[0, 0.1]"));
    v("commission_per_share", commission_per_share, "commission in USD per share", check::non_negative());
    v("commission_min", commission_min, "minimum commission per order in USD", check::non_negative());
    v("sec_fee", sec_fee, "SEC fee as a fraction of sell notional", check::closed_interval(0, 0.01, "[0, 0.01]"));
    v("finra_taf", finra_taf, "FINRA trading activity fee as a fraction of notional",
      check::closed_interval(0, 0.01, "[0, 0.01]"));
    v("spread_bps", spread_bps, "full bid-ask spread in basis points (half is paid per side)",
      check::closed_interval(0, 1000, "[0, 1000]"));
    v("slippage_model", slippage_model, "realistic (volatility-scaled), fixed (slippage_bps) or none",
      check::one_of({"realistic", "fixed", "none"}));
    v("slippage_bps", slippage_bps, "slippage for slippage_model: fixed", check::closed_interval(0, 1000, "[0, 1000]"));
    v("market_impact_factor", market_impact_factor,
      "seed model: impact = factor * sqrt(order / bar volume), capped at max_slippage", check::non_negative());
    v("impact_coefficient", impact_coefficient, "standard model: impact = k * sigma * sqrt(order / average volume)",
      check::non_negative());
    v("min_slippage", min_slippage, "realistic slippage at zero volatility (fraction of price)",
      check::closed_interval(0, 0.1, "[0, 0.1]"));
    v("max_slippage", max_slippage, "realistic slippage at 5% bar volatility and above; also the seed's impact cap",
      check::closed_interval(0, 0.1, "[0, 0.1]"));
    v("latency_sd", latency_sd, "adverse price move from latency, |N(0, sd)| as a fraction (seed: 0.0002); seeded",
      check::closed_interval(0, 0.01, "[0, 0.01]"));
  }
};

struct RiskConfig : Section {
  std::string sizing = "fixed_fraction";
  double kelly_fraction = 0.5;
  double vol_target = 0.15;
  double max_gross_exposure = 1.0;
  double stop_loss_pct = 0.0;
  double take_profit_pct = 0.0;
  double trailing_stop_pct = 0.0;
  double max_drawdown = 0.25;
  double daily_loss_limit = 0.05;

  template <class V>
  void describe(V& v) {
    v("sizing", sizing, "fixed_fraction (environment.buy_pct), kelly (capped fractional Kelly) or vol_target",
      check::one_of({"fixed_fraction", "kelly", "vol_target"}));
    v("kelly_fraction", kelly_fraction, "fraction of the full Kelly bet", check::half_open(0, 1, "(0, 1]"));
    v("vol_target", vol_target, "annualised volatility target for sizing: vol_target", check::positive());
    v("max_gross_exposure", max_gross_exposure, "sum of |positions| / equity", check::half_open(0, 10, "(0, 10]"));
    v("stop_loss_pct", stop_loss_pct, "stop-loss distance from entry; 0 disables",
      check::closed_interval(0, 1, "[0, 1]"));
    v("take_profit_pct", take_profit_pct, "take-profit distance from entry; 0 disables", check::non_negative());
    v("trailing_stop_pct", trailing_stop_pct, "trailing stop distance from the high; 0 disables",
      check::closed_interval(0, 1, "[0, 1]"));
    v("max_drawdown", max_drawdown, "drawdown from peak equity after which no new position is opened; 0 disables",
      check::closed_interval(0, 1, "[0, 1]"));
    v("daily_loss_limit", daily_loss_limit,
      "loss within a day (fraction of the day's starting equity) that blocks new positions; 0 disables",
      check::closed_interval(0, 1, "[0, 1]"));
  }
};

struct PpoConfig : Section {
  double learning_rate = 1e-4;
  std::string lr_schedule = "constant";
  int n_steps = 4096;
  int batch_size = 8192;
  int n_epochs = 20;
  double gamma = 0.99;
  double gae_lambda = 0.95;
  double clip_range = 0.2;
  std::string clip_range_schedule = "constant";
  std::optional<double> clip_range_vf;
  bool normalize_advantage = true;
  double ent_coef = 0.10;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  std::optional<double> target_kl = 0.02;
  NetArch net_arch{{1024, 1024, 512, 256}, {1024, 1024, 512, 256}};
  std::string activation = "tanh";
  bool ortho_init = true;
  bool normalize_observations = true;
  double clip_obs = 10.0;
  bool normalize_reward = false;

  template <class V>
  void describe(V& v) {
    v("learning_rate", learning_rate, "Adam step size (initial value for lr_schedule: linear)",
      check::open_interval(0, 1, "(0, 1)"));
    v("lr_schedule", lr_schedule, "constant or linear (decays to 0 at the end of training)",
      check::one_of({"constant", "linear"}));
    v("n_steps", n_steps, "rollout steps per environment per update", check::at_least(1));
    v("batch_size", batch_size, "minibatch size", check::at_least(2));
    v("n_epochs", n_epochs, "optimisation epochs per update", check::at_least(1));
    v("gamma", gamma, "discount factor", check::half_open(0, 1, "(0, 1]"));
    v("gae_lambda", gae_lambda, "GAE lambda", check::closed_interval(0, 1, "[0, 1]"));
    v("clip_range", clip_range, "PPO ratio clipping", check::open_interval(0, 1, "(0, 1)"));
    v("clip_range_schedule", clip_range_schedule, "constant or linear", check::one_of({"constant", "linear"}));
    v("clip_range_vf", clip_range_vf, "value clipping (null disables, as SB3)", check::positive());
    v("normalize_advantage", normalize_advantage, "normalise advantages per minibatch");
    v("ent_coef", ent_coef, "entropy bonus coefficient", check::non_negative());
    v("vf_coef", vf_coef, "value loss coefficient", check::non_negative());
    v("max_grad_norm", max_grad_norm, "gradient-norm clipping", check::positive());
    v("target_kl", target_kl, "stop an update's epochs early above this approximate KL (null disables)",
      check::positive());
    v("net_arch", net_arch, "hidden layers: a list (same for actor and critic) or {pi: [...], vf: [...]}",
      check::net_arch_valid());
    v("activation", activation, "hidden activation", check::one_of({"tanh", "relu", "elu", "leaky_relu"}));
    v("ortho_init", ortho_init, "orthogonal initialisation as in SB3");
    v("normalize_observations", normalize_observations,
      "running mean/variance observation normaliser (saved in the model)");
    v("clip_obs", clip_obs, "clip normalised observations to [-clip_obs, clip_obs]", check::positive());
    v("normalize_reward", normalize_reward, "running reward normaliser");
  }
};

struct TrainingConfig : Section {
  std::int64_t total_timesteps = 15'000'000;
  int n_envs = 16;
  std::uint64_t seed = 42;
  int threads = 0;
  std::int64_t checkpoint_freq = 50'000;
  std::int64_t eval_freq = 10'000;
  int eval_episodes = 5;
  std::string output = "data/models/brain_tech.pt";
  std::string runs_dir = "data/runs";

  template <class V>
  void describe(V& v) {
    v("total_timesteps", total_timesteps, "environment steps to train for", check::at_least(1));
    v("n_envs", n_envs, "environments stepped in parallel", check::at_least(1));
    v("seed", seed, "master seed of every random stream (overridden by --seed)");
    v("threads", threads, "worker threads; 0 uses every core", check::non_negative());
    v("checkpoint_freq", checkpoint_freq, "steps between checkpoints", check::at_least(1));
    v("eval_freq", eval_freq, "steps between validation evaluations", check::at_least(1));
    v("eval_episodes", eval_episodes, "episodes per evaluation", check::at_least(1));
    v("output", output, "model file written by train", check::not_empty());
    v("runs_dir", runs_dir, "metrics (JSONL, CSV) and checkpoints per run", check::not_empty());
  }
};

struct BacktestConfig : Section {
  int days = 90;
  std::string benchmark = "SPY";
  std::string out_dir = "reports/backtest";

  template <class V>
  void describe(V& v) {
    v("days", days, "length of the evaluation window in sessions", check::at_least(1));
    v("benchmark", benchmark, "ticker of the market baseline", check::not_empty());
    v("out_dir", out_dir, "summary.json, equity.csv, trades.csv, report.html go here", check::not_empty());
  }
};

struct BrokerConfig : Section {
  std::string name = "etoro";
  bool paper = true;
  double timeout_seconds = 10.0;
  int max_retries = 5;
  int requests_per_minute = 200;

  template <class V>
  void describe(V& v) {
    v("name", name, "etoro (the seed's default), alpaca or sim; the BROKER variable and --broker override it",
      check::one_of({"etoro", "alpaca", "sim"}));
    v("paper", paper, "paper trading; live needs --live and a typed confirmation as well");
    v("timeout_seconds", timeout_seconds, "HTTP request timeout", check::positive());
    v("max_retries", max_retries,
      "retries on 429/5xx/timeouts with exponential backoff (an eToro open or close only if it surely never arrived)",
      check::non_negative());
    v("requests_per_minute", requests_per_minute, "client-side rate limit", check::at_least(1));
  }
};

struct TradingConfig : Section {
  std::string interval = "auto";
  std::string model = "data/models/brain_tech.pt";
  std::string journal = "data/journal.sqlite";
  std::string stops = "monitored";
  bool fetch = true;

  template <class V>
  void describe(V& v) {
    v("interval", interval,
      "decision interval: auto = the model's bar interval (the only one it can decide on); 1d decides after the "
      "close for the next open",
      check::one_of({"auto", "1d", "1h", "4h"}));
    v("model", model, "model file used by trade", check::not_empty());
    v("journal", journal, "crash-safe order journal (SQLite)", check::not_empty());
    v("stops", stops,
      "risk.stop_loss_pct/take_profit_pct: monitored (judged on each decision bar, exit at the next open) or "
      "bracket (legs sent with each buy where the broker supports them)",
      check::one_of({"monitored", "bracket"}));
    v("fetch", fetch, "real brokers: fetch the missing bars into data.dir before each cycle");
  }
};

struct RegimeConfig : Section {
  std::string reference_ticker = "SPY";
  int lookback_days = 90;
  template <class V>
  void describe(V& v) {
    v("reference_ticker", reference_ticker, "ticker whose trend defines the market regime", check::not_empty());
    v("lookback_days", lookback_days, "days of history for the regime", check::at_least(1));
  }
};

struct SelectionConfig : Section {
  int n_assets = 10;
  double min_volume = 1'000'000;
  bool market_scan = false;
  double min_market_cap = 1e9;
  int max_stocks = 500;
  template <class V>
  void describe(V& v) {
    v("n_assets", n_assets, "assets selected for training", check::at_least(1));
    v("min_volume", min_volume, "minimum average daily volume", check::non_negative());
    v("market_scan", market_scan, "scan the market instead of data.tickers");
    v("min_market_cap", min_market_cap, "minimum market cap in a scan", check::non_negative());
    v("max_stocks", max_stocks, "maximum stocks in a scan", check::at_least(1));
  }
};

struct SearchConfig : Section {
  bool enabled = false;
  int n_trials = 50;
  int n_jobs = 1;
  double timeout_seconds = 0;
  std::int64_t trial_timesteps = 0;
  template <class V>
  void describe(V& v) {
    v("enabled", enabled, "run the hyper-parameter search before training");
    v("n_trials", n_trials, "trials of the search", check::at_least(1));
    v("n_jobs", n_jobs,
      "trials trained side by side; above 1 each trains on one thread (1: one after the other, on --threads)",
      check::at_least(1));
    v("trial_timesteps", trial_timesteps,
      "environment steps each trial trains for; 0 means training.total_timesteps / n_trials", check::non_negative());
    v("timeout_seconds", timeout_seconds, "stop the search after this long; 0 means no limit", check::non_negative());
  }
};

struct ValidationConfig : Section {
  double min_sharpe = 1.5;
  int test_days = 90;
  int max_steps = 2000;
  template <class V>
  void describe(V& v) {
    v("min_sharpe", min_sharpe, "out-of-sample Sharpe a model needs to be accepted");
    v("test_days", test_days, "days of the acceptance test", check::at_least(1));
    v("max_steps", max_steps, "maximum steps of the acceptance test", check::at_least(1));
  }
};

// The seed's autonomous pipeline (autonomous_config.yaml): regime, selection, search, acceptance.
struct AutonomousConfig : Section {
  RegimeConfig regime;
  SelectionConfig selection;
  SearchConfig search;
  ValidationConfig validation;
  template <class V>
  void describe(V& v) {
    v("regime", regime, "market regime detection");
    v("selection", selection, "asset selection");
    v("search", search, "hyper-parameter search");
    v("validation", validation, "acceptance test before a model is used");
  }
};

struct Config : Section {
  std::string name = "default";
  std::string description;
  DataConfig data;
  FeaturesConfig features;
  EnvironmentConfig environment;
  CostsConfig costs;
  RiskConfig risk;
  PpoConfig ppo;
  TrainingConfig training;
  BacktestConfig backtest;
  BrokerConfig broker;
  TradingConfig trading;
  AutonomousConfig autonomous;

  template <class V>
  void describe(V& v) {
    v("name", name, "name of this configuration", check::not_empty());
    v("description", description, "free text");
    v("data", data, "market data");
    v("features", features, "feature engine");
    v("environment", environment, "V6 trading environment");
    v("costs", costs, "transaction-cost model (env, backtest and SimBroker)");
    v("risk", risk, "sizing, stops and breakers (env, backtest and trading)");
    v("ppo", ppo, "PPO hyper-parameters (SB3 meanings)");
    v("training", training, "training run");
    v("backtest", backtest, "evaluation");
    v("broker", broker, "broker connection");
    v("trading", trading, "live/paper loop");
    v("autonomous", autonomous, "the seed's autonomous pipeline");
  }
};

// Parses and validates YAML text. Throws ConfigError "<file>:<line>: <key.path>: <what was expected>".
Config load_config_text(std::string_view yaml, const std::string& file_name);
// Reads a file (IoError if unreadable) and parses it as above.
Config load_config_file(const std::filesystem::path& path);

// Checks that span several keys (batch_size vs. n_steps x n_envs, ...). Each message reads
// "<key.path>: <what was expected>"; empty when the config is consistent.
std::vector<std::string> cross_field_errors(const Config& config);
// All field checks and cross-field checks of a config built or changed in code (e.g. after --seed).
// Throws ConfigError naming `origin` and the key.
void validate(const Config& config, const std::string& origin);

// Effective config as YAML (with each key's help as a comment when `comments`) or JSON text.
std::string to_yaml(const Config& config, bool comments = false);
std::string to_json(const Config& config, int indent = 2);

// Resolves --config NAME: a path with a slash is used as given; a bare name is looked up in the
// config directories (PLOUTOS_CONFIG_DIR, ./config, <exe>/../config, the source tree's config/),
// also as training_config_NAME and with .yaml appended. Throws UsageError naming `option` (the
// command-line option that gave the name) and listing what was tried.
std::filesystem::path resolve_config_path(std::string_view name, std::string_view option = "--config");
// Those directories in that order, each once (a build directory inside the source tree reaches the
// same config/ by two routes).
std::vector<std::filesystem::path> config_search_dirs();

}  // namespace ploutos::config
