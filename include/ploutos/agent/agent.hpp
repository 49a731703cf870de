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

namespace ploutos::rl {
class Policy;
}

namespace ploutos::agent {

class Agent {
 public:
  // InputError when the file is not a model or its manifest config does not validate.
  static std::unique_ptr<Agent> load(const std::string& model_path);
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

  // From an observation the environment built (backtests).
  void act(std::span<const float> obs, std::span<std::int32_t> actions);
  // The same, sampling from the policy's distribution with `rng` (reliability over seeds).
  void sample(std::span<const float> obs, std::span<std::int32_t> actions, Rng& rng);
  // For bar `bar` of `market` and a portfolio holding `quantities` shares (trading).
  void decide(const env::MarketData& market, std::size_t bar, std::span<const double> quantities,
              const env::PortfolioState& portfolio, std::span<std::int32_t> actions);

 private:
  std::unique_ptr<rl::Policy> policy_;
  config::Config config_;
  std::vector<float> obs_;
  std::vector<float> probs_;
};

}  // namespace ploutos::agent
