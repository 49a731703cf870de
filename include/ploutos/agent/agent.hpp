#pragma once
// The Agent: a model file (policy, normaliser statistics, manifest) turned into decisions for
// given bars. Backtests, diagnose and the trader all decide through it, and the trader builds its
// observation with the environment's own writer, so live decisions see what training saw.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ploutos/config/config.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/env/market.hpp"
#include "ploutos/env/trading_env.hpp"
#include "ploutos/rl/decision_precision.hpp"

namespace ploutos::rl {
class Policy;
}

namespace ploutos::agent {

// An agent's deterministic decisions compared with its float32 policy's on the same observations
// (Agent::compare_with_float32): ticker decisions compared, and how many were the same.
struct DecisionAgreement {
  std::uint64_t decisions = 0, same = 0;
};

class Agent {
 public:
  // InputError when the file is not a model or its manifest config does not validate.
  static std::unique_ptr<Agent> load(const std::string& model_path,
                                     rl::DecisionPrecision precision = rl::DecisionPrecision::kFloat32);
  explicit Agent(std::unique_ptr<rl::Policy> policy, const std::string& origin = "model");
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // The config the model was trained with (from its manifest).
  const config::Config& config() const { return config_; }
  const std::string& manifest() const;
  std::size_t obs_dim() const;
  // Refuses (InputError) a market whose feature set, tickers or observation size differ.
  void check_compatible(const env::MarketData& market, const std::string& feature_set) const;

  // From now on, also decide every observation of act() and decide() with the model's float32
  // policy and count where the two agree: what an int8 agent (DecisionPrecision::kInt8) changes.
  void compare_with_float32();
  // Counted since compare_with_float32(); all zeros before it.
  const DecisionAgreement& agreement() const { return agreement_; }

  // From an observation the environment built (backtests).
  void act(std::span<const float> obs, std::span<std::int32_t> actions);
  // The same, sampling from the policy's distribution with `rng` (reliability over seeds).
  void sample(std::span<const float> obs, std::span<std::int32_t> actions, Rng& rng);
  // For bar `bar` of `market` and a portfolio holding `quantities` shares (trading).
  void decide(const env::MarketData& market, std::size_t bar, std::span<const double> quantities,
              const env::PortfolioState& portfolio, std::span<std::int32_t> actions);

 private:
  void compare(std::span<const float> obs, std::span<const std::int32_t> actions);

  std::unique_ptr<rl::Policy> policy_;
  std::unique_ptr<rl::Policy> reference_;  // float32, with compare_with_float32()
  DecisionAgreement agreement_;
  std::vector<std::int32_t> reference_actions_;
  config::Config config_;
  std::vector<float> obs_;
  std::vector<float> probs_;
};

}  // namespace ploutos::agent
