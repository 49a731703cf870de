#pragma once
// PPO (SB3-equivalent) over the VecEnv, and the model file. This header stays free of LibTorch; the
// implementation is src/rl/ppo.cpp. Model file layout: docs/training.md.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ploutos/config/config.hpp"
#include "ploutos/core/progress.hpp"
#include "ploutos/env/load.hpp"
#include "ploutos/rl/decision_precision.hpp"

namespace ploutos::rl {

struct UpdateMetrics {
  std::int64_t timesteps = 0;
  int update = 0;
  double episode_reward_mean = 0;  // summed env reward of episodes finished in this update's rollout
  double episode_return_mean = 0;  // equity return of those episodes
  int episodes = 0;
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0, explained_variance = 0;
  double learning_rate = 0;
  double fps = 0;  // env-steps per second over the whole update (rollout + optimisation)
  double rollout_seconds = 0, update_seconds = 0;
  // Where the update's time went, on the calling thread (the others run the same share in parallel).
  double update_gemm_seconds = 0, update_elementwise_seconds = 0, update_loss_seconds = 0, update_optimizer_seconds = 0;
  double update_gather_seconds = 0;  // copying minibatch rows out of the rollout
  double update_wait_seconds = 0;    // the calling thread waiting for the slower ones
  int epochs_run = 0;                // fewer than n_epochs when target_kl stopped the update
  double eval_return = 0;            // validation return when evaluated this update (NaN otherwise)
};

struct TrainRequest {
  config::Config config;             // effective config (training.seed, ppo.*, ...)
  env::LoadedMarket market;          // training data; the last validation_fraction is held out
  std::string output;                // model file (atomic write); best model beside it as NAME.best.pt
  std::string resume;                // checkpoint to continue from
  std::int64_t total_timesteps = 0;  // 0: training.total_timesteps
  int threads = 0;                   // LibTorch intra-op threads; 0 keeps the default
  double validation_fraction = 0.2;
  // Bars training may use (0 = the market's first/last tradable bar); the validation share is the
  // end of this window. Walk-forward folds train on their window only.
  std::size_t window_first = 0, window_last = 0;
  std::string metrics_dir;  // metrics.jsonl and metrics.csv go here
  bool progress = true;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: checkpoint and return
  // Set when another training of the same study (walk-forward --jobs, autonomous search.n_jobs)
  // failed: this one stops as for `stop`, since its study will not use it.
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const UpdateMetrics&)> on_update;
  // At most every 0.1 s: how far this training is (its fraction of the steps planned, the update's
  // share of an iteration included), its ETA and phase, for a caller that shows its own progress.
  std::function<void(std::int64_t timesteps, const ProgressEstimate&)> on_progress;
  // Called after each epoch of an update; its time is left out of update_seconds. The benchmarks
  // measure the machine's GEMM rate here, so the update is compared with the rate of the same
  // minutes (a VM's neighbours move it by several per cent from one minute to the next).
  std::function<void()> between_epochs;
};

struct TrainResult {
  std::string model_path;
  std::int64_t timesteps = 0;
  bool interrupted = false;
  std::vector<UpdateMetrics> history;
  // The model with the best validation return so far (NAME.best.pt; this run's or, resumed, an
  // earlier one's), and the window it was judged on. Empty without validation.
  std::string best_model_path;
  double best_validation_return = 0;
  std::string validation_first, validation_last;  // bar times
};

TrainResult train(const TrainRequest& request);

// Floating-point operations the PPO update performs per sample and epoch with this network: forward
// through actor and critic, weight gradients, and input gradients of every layer but the first
// (the observations need none). Bias, activation and loss arithmetic is not counted.
double update_flops_per_sample(std::size_t obs_dim, std::size_t n_tickers, const config::NetArch& net_arch);

// The manifest of a model file as JSON text (format_version, feature_set, features, tickers,
// obs_dim, action_space, config, data_range, data_hash, seed, git_revision, metrics, ...).
std::string read_manifest(const std::string& path);

// Loads a model's weights and checks them against the checksum written with them (InputError when
// they differ). False for a file written before model files carried checksums: nothing to check.
bool verify_weights(const std::string& path);

// A trained policy for decisions: normalises the observation with the frozen statistics and picks
// the most likely action per ticker (or samples with `deterministic = false`).
class Policy {
 public:
  static std::unique_ptr<Policy> load(const std::string& path,
                                      DecisionPrecision precision = DecisionPrecision::kFloat32);
  // An untrained policy of the configured shape (benchmarks, tests).
  static std::unique_ptr<Policy> untrained(std::size_t obs_dim, std::size_t n_tickers, const config::PpoConfig& ppo,
                                           DecisionPrecision precision = DecisionPrecision::kFloat32);
  virtual ~Policy() = default;
  virtual std::size_t obs_dim() const = 0;
  virtual std::size_t n_tickers() const = 0;
  virtual const std::string& manifest() const = 0;
  virtual DecisionPrecision precision() const = 0;
  // The same weights and normaliser deciding at another precision, without reading the file again
  // (what an int8 policy is compared against).
  virtual std::unique_ptr<Policy> with_precision(DecisionPrecision precision) const = 0;
  // obs: [batch x obs_dim]; actions out: [batch x n_tickers]
  virtual void act(std::span<const float> obs, std::span<std::int32_t> actions, bool deterministic = true) = 0;
  // Action probabilities: [batch x n_tickers x 3] (HOLD, BUY, SELL), for sampling with a caller's RNG.
  virtual void probabilities(std::span<const float> obs, std::span<float> probs) = 0;
};

// Refuses a model whose feature set or tickers differ from what the caller has (InputError).
void check_compatible(const std::string& manifest_json, const std::string& feature_set,
                      const std::vector<std::string>& tickers, std::size_t obs_dim);

}  // namespace ploutos::rl
