#pragma once
// N environments stepped as a batch. Observations go into one contiguous float32 buffer
// [N x obs_dim] that the RL module wraps without copying; each env has its own seeded stream
// (derive_seed(seed, "env", i)); finished episodes reset automatically (SB3 VecEnv semantics: the
// returned observation is the new episode's first, the final one is kept in final_observation).
// With threads > 1 a persistent pool steps disjoint slices of envs.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ploutos/env/trading_env.hpp"

namespace ploutos::env {

class VecEnv {
 public:
  VecEnv(const std::shared_ptr<const MarketData>& market, const EnvConfig& config, std::size_t n_envs,
         std::uint64_t seed, int threads = 1);
  ~VecEnv();
  VecEnv(const VecEnv&) = delete;
  VecEnv& operator=(const VecEnv&) = delete;

  std::size_t size() const { return envs_.size(); }
  std::size_t obs_dim() const { return obs_dim_; }
  std::size_t n_tickers() const { return n_tickers_; }

  void reset();
  // actions: [N x n_tickers]
  void step(std::span<const std::int32_t> actions);

  std::span<const float> observations() const { return obs_; }
  float* observation_data() { return obs_.data(); }
  std::span<const float> rewards() const { return rewards_; }
  std::span<const std::uint8_t> terminated() const { return terminated_; }
  std::span<const std::uint8_t> truncated() const { return truncated_; }
  std::span<const float> final_observation(std::size_t env) const;
  // For envs whose episode ended in the last step: its final equity and summed reward.
  double final_equity(std::size_t env) const { return final_equity_[env]; }
  double episode_reward(std::size_t env) const { return final_reward_sum_[env]; }
  const TradingEnv& env(std::size_t i) const { return *envs_[i]; }

  // Every env's episode and the observations it shows, as bytes for a checkpoint; restore_state
  // continues them in a VecEnv built from the same market and config. `what` names the record in
  // errors (a state that does not fit throws InputError).
  std::string save_state() const;
  void restore_state(std::string_view bytes, const std::string& what);

 private:
  void step_range(std::size_t first, std::size_t last, std::span<const std::int32_t> actions);
  struct Pool;

  std::vector<std::unique_ptr<TradingEnv>> envs_;
  std::size_t obs_dim_ = 0, n_tickers_ = 0;
  std::vector<float> obs_, final_obs_, rewards_;
  std::vector<std::uint8_t> terminated_, truncated_;
  std::vector<double> final_equity_, reward_sum_, final_reward_sum_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace ploutos::env
