#include "ploutos/agent/agent.hpp"

#include <nlohmann/json.hpp>

#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/rl/ppo.hpp"

namespace ploutos::agent {

std::unique_ptr<Agent> Agent::load(const std::string& model_path, rl::DecisionPrecision precision) {
  return std::make_unique<Agent>(rl::Policy::load(model_path, precision), model_path);
}

Agent::Agent(std::unique_ptr<rl::Policy> policy, const std::string& origin) : policy_(std::move(policy)) {
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(policy_->manifest());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(origin + ": the manifest is not JSON (" + e.what() + ")");
  }
  if (!manifest.contains("config")) throw InputError(origin + ": the manifest has no 'config'");
  config_ = config::load_config_text(json_text(manifest.at("config")), origin + " (manifest config)");
  obs_.resize(policy_->obs_dim());
}

Agent::~Agent() = default;

const std::string& Agent::manifest() const {
  return policy_->manifest();
}
std::size_t Agent::obs_dim() const {
  return policy_->obs_dim();
}

void Agent::check_compatible(const env::MarketData& m, const std::string& feature_set) const {
  rl::check_compatible(policy_->manifest(), feature_set, m.tickers, m.n_tickers * m.n_features + m.n_tickers + 3);
}

void Agent::act(std::span<const float> obs, std::span<std::int32_t> actions) {
  policy_->act(obs, actions);
  compare(obs, actions);
}

void Agent::compare_with_float32() {
  reference_ = policy_->with_precision(rl::DecisionPrecision::kFloat32);
  agreement_ = {};
}

void Agent::compare(std::span<const float> obs, std::span<const std::int32_t> actions) {
  if (!reference_) return;
  reference_actions_.resize(actions.size());
  reference_->act(obs, reference_actions_);
  for (std::size_t k = 0; k < actions.size(); ++k) agreement_.same += actions[k] == reference_actions_[k];
  agreement_.decisions += actions.size();
}

void Agent::sample(std::span<const float> obs, std::span<std::int32_t> actions, Rng& rng) {
  probs_.resize(actions.size() * 3);
  policy_->probabilities(obs, probs_);
  for (std::size_t k = 0; k < actions.size(); ++k) {
    const double u = rng.uniform();
    const double hold = probs_[3 * k], buy = probs_[3 * k + 1];
    actions[k] = u < hold ? env::kHold : u < hold + buy ? env::kBuy : env::kSell;
  }
}

void Agent::decide(const env::MarketData& market, std::size_t bar, std::span<const double> quantities,
                   const env::PortfolioState& portfolio, std::span<std::int32_t> actions) {
  env::write_observation(
      market, bar, [&](std::size_t k) { return quantities[k]; }, portfolio, obs_);
  policy_->act(obs_, actions);
  compare(obs_, actions);
}

}  // namespace ploutos::agent
