// PPO in LibTorch. The only translation unit (with runtime.cpp) that includes torch.
#include "ploutos/rl/ppo.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "actor_critic.hpp"
#include "adam.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/file_lock.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/progress.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/core/version.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/vec_env.hpp"
#include "ploutos/rl/runtime.hpp"
#include "worker_pool.hpp"

namespace ploutos::rl {
namespace {

constexpr int kFormatVersion = 1;
using Clock = std::chrono::steady_clock;

// SB3's RunningMeanStd (parallel update, epsilon count), in double precision.
struct RunningMeanStd {
  torch::Tensor mean, var;
  double count = 1e-4;
  explicit RunningMeanStd(std::int64_t dim = 1)
      : mean(torch::zeros({dim}, torch::kFloat64)), var(torch::ones({dim}, torch::kFloat64)) {}
  RunningMeanStd clone() const {
    RunningMeanStd copy;
    copy.mean = mean.clone();
    copy.var = var.clone();
    copy.count = count;
    return copy;
  }
  // Plain loops over the contiguous buffers: per rollout step these run on 16 x 1,173 values, where a
  // chain of tensor ops cost ~270 us a step (a sixth of a V6 rollout) and the loops ~20 us.
  void update(const torch::Tensor& batch) {
    const auto x = batch.to(torch::kFloat32).contiguous();
    const std::int64_t rows = x.size(0), dim = x.size(1);
    const float* data = x.data_ptr<float>();
    mean = mean.contiguous();
    var = var.contiguous();
    double* m = mean.data_ptr<double>();
    double* v = var.data_ptr<double>();
    std::vector<double> batch_mean(static_cast<std::size_t>(dim), 0.0), batch_var(static_cast<std::size_t>(dim), 0.0);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < dim; ++j) batch_mean[static_cast<std::size_t>(j)] += data[r * dim + j];
    }
    for (auto& bm : batch_mean) bm /= static_cast<double>(rows);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < dim; ++j) {
        const double d = data[r * dim + j] - batch_mean[static_cast<std::size_t>(j)];
        batch_var[static_cast<std::size_t>(j)] += d * d;
      }
    }
    const double batch_count = static_cast<double>(rows);
    const double total = count + batch_count;
    for (std::int64_t j = 0; j < dim; ++j) {
      const auto k = static_cast<std::size_t>(j);
      const double delta = batch_mean[k] - m[j];
      const double m2 = v[j] * count + batch_var[k] + delta * delta * (count * batch_count / total);
      m[j] += delta * (batch_count / total);
      v[j] = m2 / total;
    }
    count = total;
  }
  torch::Tensor normalize(const torch::Tensor& input, double clip) const {
    const auto x = input.to(torch::kFloat32).contiguous();
    auto out = torch::empty_like(x);
    frozen(clip).apply(x.data_ptr<float>(), out.data_ptr<float>(), x.numel());
    return out;
  }
  // The statistics as they are now, for a policy that decides with them from here on: a decision
  // then normalises its observation without a square root or an allocation.
  struct Frozen {
    std::vector<double> mean, inv_sd;
    double clip = 0;
    // out = clamp((in - mean) / sqrt(var + 1e-8), -clip, clip) over whole rows of mean.size() values.
    void apply(const float* in, float* out, std::int64_t values) const {
      const auto dim = static_cast<std::int64_t>(mean.size());
      for (std::int64_t i = 0; i < values; i += dim) {
        for (std::int64_t j = 0; j < dim; ++j) {
          const auto k = static_cast<std::size_t>(j);
          const double z = (in[i + j] - mean[k]) * inv_sd[k];
          out[i + j] = static_cast<float>(std::clamp(z, -clip, clip));
        }
      }
    }
  };
  Frozen frozen(double clip) const {
    const auto mc = mean.contiguous(), vc = var.contiguous();
    const double* m = mc.data_ptr<double>();
    const double* v = vc.data_ptr<double>();
    const auto dim = static_cast<std::size_t>(mc.numel());
    Frozen f{std::vector<double>(m, m + dim), std::vector<double>(dim), clip};
    for (std::size_t j = 0; j < dim; ++j) f.inv_sd[j] = 1.0 / std::sqrt(v[j] + 1e-8);
    return f;
  }
};

struct Distribution {
  torch::Tensor log_probs;                                      // [B, N, 3]
  torch::Tensor log_prob(const torch::Tensor& actions) const {  // actions [B, N] int64 -> [B]
    return log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1);
  }
  torch::Tensor entropy() const { return -(log_probs.exp() * log_probs).sum(-1).sum(-1); }
};

Distribution distribution(const torch::Tensor& logits) {
  return {torch::log_softmax(logits, -1)};
}

// The most likely of the 3 actions per ticker (the first on a tie, as torch::argmax).
void argmax_actions(const float* logits, std::size_t n_actions, std::int32_t* actions) {
  for (std::size_t i = 0; i < n_actions; ++i) {
    const float* z = logits + 3 * i;
    std::int32_t best = 0;
    if (z[1] > z[best]) best = 1;
    if (z[2] > z[best]) best = 2;
    actions[i] = best;
  }
}

struct Checkpoint {
  std::int64_t timesteps = 0;
  int update = 0;
  double best_eval = -std::numeric_limits<double>::infinity();
};

// The bars of the market a model has seen: its episodes' window, and the validation window whose
// evaluations chose NAME.best.pt (the last model never looked at its results).
struct SeenBars {
  std::size_t first = 0, split = 0, last = 0;
  bool validation = false;
};

nlohmann::ordered_json window_json(const env::MarketData& m, std::size_t first, std::size_t last) {
  return {{"first", format_instant(m.time[first])}, {"last", format_instant(m.time[last])}, {"bars", last - first + 1}};
}

std::string build_manifest(const TrainRequest& req, const env::MarketData& m, std::size_t obs_dim,
                           const Checkpoint& state, const UpdateMetrics* last, const SeenBars& seen,
                           bool chosen_on_validation = false) {
  nlohmann::ordered_json j;
  j["format_version"] = kFormatVersion;
  j["created_by"] = "ploutos train";
  j["ploutos_version"] = std::string(version());
  j["git_revision"] = std::string(git_revision());
  j["feature_set"] = req.config.features.feature_set;
  j["features"] = m.feature_names;
  j["tickers"] = m.tickers;
  j["obs_dim"] = obs_dim;
  j["observation_layout"] = {{"per_ticker_features", m.n_features},
                             {"order",
                              "features of ticker 0..N-1, then position value / equity per ticker, then cash / equity, "
                              "total return, drawdown"},
                             {"normalisation", "running mean/variance frozen at evaluation, clip ppo.clip_obs"}};
  j["action_space"] = {
      {"type", "MultiDiscrete"}, {"nvec", std::vector<int>(m.n_tickers, 3)}, {"meaning", {"HOLD", "BUY", "SELL"}}};
  j["config"] = nlohmann::ordered_json::parse(config::to_json(req.config));
  j["data_range"] = req.market.data_range;
  j["data_hash"] = req.market.data_hash;
  j["data_source"] = req.market.source;
  j["training_window"] = window_json(m, seen.first, seen.split);
  j["selection_window"] =
      chosen_on_validation && seen.validation ? window_json(m, seen.split, seen.last) : nlohmann::ordered_json(nullptr);
  j["seed"] = req.config.training.seed;
  j["timesteps"] = state.timesteps;
  j["updates"] = state.update;
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
  if (last != nullptr) {
    metrics = {{"timesteps", last->timesteps},
               {"episode_reward_mean", last->episode_reward_mean},
               {"episode_return_mean", last->episode_return_mean},
               {"policy_loss", last->policy_loss},
               {"value_loss", last->value_loss},
               {"entropy", last->entropy},
               {"approx_kl", last->approx_kl},
               {"clip_fraction", last->clip_fraction},
               {"explained_variance", last->explained_variance},
               {"best_eval_return", std::isfinite(state.best_eval) ? state.best_eval : 0.0}};
  }
  j["metrics"] = metrics;
  return json_text(j, 2);
}

// The episodes under way at a checkpoint, so that a resumed training continues them: the
// environments' state, and the rollout's own carry-over (which envs start an episode at the next
// step, the reward normaliser's running returns). `context` is what that state depends on.
struct EpisodesInFlight {
  std::string context;
  std::string env_state;
  torch::Tensor last_starts, returns_acc;
};

// The environments' state fits only environments built the same way: the same number, market and
// training window, and the same features, environment, costs and risk settings.
std::string episodes_context(const TrainRequest& req, std::int64_t n_envs, std::size_t obs_dim, const SeenBars& seen) {
  const auto config = nlohmann::ordered_json::parse(config::to_json(req.config));
  nlohmann::ordered_json j{{"n_envs", n_envs},
                           {"obs_dim", obs_dim},
                           {"data_hash", req.market.data_hash},
                           {"training_bars", {seen.first, seen.split}}};
  for (const char* section : {"features", "environment", "costs", "risk"}) j[section] = config.at(section);
  return json_text(j);
}

// "training.n_envs, environment" for two contexts: what a user changed since the checkpoint.
std::string context_differences(const std::string& saved, const std::string& now) {
  const auto a = nlohmann::json::parse(saved, nullptr, false), b = nlohmann::json::parse(now);
  std::string differences;
  for (const auto& [key, value] : b.items()) {
    if (a.is_object() && a.contains(key) && a[key] == value) continue;
    const std::string name = key == "n_envs" ? "training.n_envs" : key == "training_bars" ? "training window" : key;
    differences += (differences.empty() ? "" : ", ") + name;
  }
  return differences;
}

// CRC-32 over what a model file holds. LibTorch's zip reader does not check the zip's own CRCs, so
// without this a flipped bit in the weights would load and trade. Each item is preceded by its
// length, so that moving bytes from one item to the next changes the value.
class Checksum {
 public:
  Checksum& add(std::string_view bytes) {
    const auto size = static_cast<std::uint64_t>(bytes.size());
    crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(&size), sizeof size);
    crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
    return *this;
  }
  Checksum& add(const torch::Tensor& t) {
    if (!t.defined()) return add(std::string_view());
    const auto c = t.contiguous();
    return add(std::string_view(static_cast<const char*>(c.data_ptr()), c.nbytes()));
  }
  template <class Number>
  Checksum& add_number(Number value) {
    return add(std::string_view(reinterpret_cast<const char*>(&value), sizeof value));
  }
  std::int64_t value() const { return static_cast<std::int64_t>(crc_); }

 private:
  uLong crc_ = crc32_z(0, nullptr, 0);
};

// What a decision depends on: the manifest (architecture, normalisation settings), the weights and
// the observation statistics.
std::int64_t policy_checksum(const std::string& manifest, ActorCritic& policy, const RunningMeanStd& obs_rms) {
  Checksum sum;
  sum.add(manifest);
  for (const auto& p : policy->parameters()) sum.add(p);
  return sum.add(obs_rms.mean).add(obs_rms.var).value();
}

// The rest of what a resumed training continues from.
std::int64_t training_checksum(const Adam& optimizer, const RunningMeanStd& obs_rms, const RunningMeanStd& ret_rms,
                               const Checkpoint& state, const torch::Tensor& rng_state,
                               const EpisodesInFlight& episodes) {
  Checksum sum;
  sum.add_number(optimizer.steps());
  for (const auto& m : optimizer.moments()) sum.add(m);
  sum.add_number(obs_rms.count).add(ret_rms.mean).add(ret_rms.var).add_number(ret_rms.count);
  sum.add_number(state.timesteps).add_number(state.update).add_number(state.best_eval).add(rng_state);
  return sum.add(episodes.context).add(episodes.env_state).add(episodes.last_starts).add(episodes.returns_acc).value();
}

void save_model(const std::string& path, ActorCritic& policy, const Adam& optimizer, const RunningMeanStd& obs_rms,
                const RunningMeanStd& ret_rms, const std::string& manifest, const Checkpoint& state, at::Generator& rng,
                const EpisodesInFlight& episodes) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive policy_archive, optimizer_archive;
  policy->save(policy_archive);
  optimizer.save(optimizer_archive);
  archive.write("policy", policy_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("obs_rms_mean", obs_rms.mean);
  archive.write("obs_rms_var", obs_rms.var);
  archive.write("obs_rms_count", torch::tensor(obs_rms.count, torch::kFloat64));
  // The reward normaliser (ppo.normalize_reward) only matters to a resumed training.
  archive.write("ret_rms_mean", ret_rms.mean);
  archive.write("ret_rms_var", ret_rms.var);
  archive.write("ret_rms_count", torch::tensor(ret_rms.count, torch::kFloat64));
  archive.write("manifest", c10::IValue(manifest));
  archive.write("state_timesteps", torch::tensor(state.timesteps, torch::kInt64));
  archive.write("state_update", torch::tensor(static_cast<std::int64_t>(state.update), torch::kInt64));
  archive.write("state_best_eval", torch::tensor(state.best_eval, torch::kFloat64));
  torch::Tensor rng_state;
  {
    std::lock_guard<std::mutex> lock(rng.mutex());
    rng_state = rng.get_state();
  }
  archive.write("rng_state", rng_state);
  archive.write("episodes_context", c10::IValue(episodes.context));
  auto env_state = torch::empty({static_cast<std::int64_t>(episodes.env_state.size())}, torch::kUInt8);
  std::memcpy(env_state.data_ptr<std::uint8_t>(), episodes.env_state.data(), episodes.env_state.size());
  archive.write("episodes_env_state", env_state);
  archive.write("episodes_last_starts", episodes.last_starts);
  archive.write("episodes_returns_acc", episodes.returns_acc);
  archive.write("policy_crc32", torch::tensor(policy_checksum(manifest, policy, obs_rms), torch::kInt64));
  archive.write(
      "training_crc32",
      torch::tensor(training_checksum(optimizer, obs_rms, ret_rms, state, rng_state, episodes), torch::kInt64));
  // Through a stream: LibTorch names the records inside the zip after a file's name, so saving
  // to a path would make the bytes depend on it. Then temp file + rename, never half a model.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(path, bytes.view());
}

// The first line of what LibTorch or the JSON parser said: TorchScript's errors quote the damaged
// source over several lines, and an error message is one line.
std::string first_line(std::string_view what) {
  const auto end = what.find('\n');
  return std::string(what.substr(0, end));
}

// Runs `read` on a model file's contents. A damaged file (a flipped byte, a truncated copy, an edited
// manifest) makes LibTorch, its TorchScript reader or the JSON parser throw their own exceptions;
// they become one InputError naming the file.
template <class Read>
decltype(auto) reading_model(const std::string& path, Read&& read) {
  try {
    return read();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw InputError(path + ": damaged or not a Ploutos model file (" + first_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception& e) {
    throw InputError(path + ": damaged or not a Ploutos model file (" + first_line(e.what()) + ")");
  }
}

torch::serialize::InputArchive open_model(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError(path + ": is a directory, not a model file");
  if (!std::filesystem::is_regular_file(path))
    throw InputError(path + ": no such model file (`ploutos train --config NAME --out " + path + "` makes one)");
  return reading_model(path, [&] {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    return archive;
  });
}

// The manifest, checked to be a JSON object.
std::string manifest_of(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue value;
  if (!archive.try_read("manifest", value) || !value.isString())
    throw InputError(path + ": model file has no manifest");
  std::string manifest = value.toStringRef();
  const auto j = nlohmann::json::parse(manifest, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw InputError(path + ": damaged model file (its manifest is not JSON)");
  return manifest;
}

// Normaliser statistics must fit the observations: the hand-written passes read obs_dim values.
void check_normaliser(const RunningMeanStd& rms, std::int64_t obs_dim, const std::string& path) {
  if (rms.mean.numel() != obs_dim || rms.var.numel() != obs_dim || rms.mean.scalar_type() != torch::kFloat64 ||
      rms.var.scalar_type() != torch::kFloat64 || !rms.var.isfinite().all().item<bool>() ||
      (rms.var < 0).any().item<bool>() || !rms.mean.isfinite().all().item<bool>())
    throw InputError(path + ": damaged model file (obs_rms_mean / obs_rms_var: expected " + std::to_string(obs_dim) +
                     " finite float64 values each, variances >= 0)");
}

// Module::load gives a parameter whatever shape the file holds, and the hand-written passes trust
// the shapes the architecture gives: a damaged file must not get through with others.
void load_weights(ActorCritic& policy, torch::serialize::InputArchive& archive, const std::string& path) {
  torch::serialize::InputArchive policy_archive;
  archive.read("policy", policy_archive);
  std::vector<std::vector<std::int64_t>> shapes;
  for (const auto& p : policy->parameters()) shapes.push_back(p.sizes().vec());
  policy->load(policy_archive);
  const auto names = policy->named_parameters();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& p = names[i].value();
    if (p.sizes().vec() != shapes[i] || p.scalar_type() != torch::kFloat32 || !p.is_contiguous())
      throw InputError(path + ": damaged model file (policy." + names[i].key() + ": " + std::to_string(p.numel()) +
                       " values where the architecture in its manifest has " +
                       std::to_string(c10::multiply_integers(shapes[i])) + " contiguous float32)");
  }
}

// Files written before the checksums were added have none, and load as they did.
void verify_checksum(torch::serialize::InputArchive& archive, const char* record, std::int64_t computed,
                     const std::string& path, const char* what) {
  torch::Tensor saved;
  if (!archive.try_read(record, saved)) return;
  if (saved.numel() != 1 || saved.scalar_type() != torch::kInt64 || saved.item<std::int64_t>() != computed)
    throw InputError(path + ": damaged model file (the checksum of its " + what +
                     " does not match: the file changed after it was written)");
}

double evaluate(ActorCritic& policy, const RunningMeanStd& rms, double clip_obs, bool normalize,
                const std::shared_ptr<const env::MarketData>& market, const env::EnvConfig& config, WorkerPool& pool) {
  torch::NoGradGuard no_grad;
  const MlpView actor = actor_view(policy);
  MlpRunner runner(&pool);
  env::TradingEnv e(market, config);
  std::vector<float> obs(e.obs_dim()), normalized(e.obs_dim());
  e.reset(0, obs);
  std::vector<std::int32_t> actions(e.n_tickers());
  const auto frozen = rms.frozen(clip_obs);
  bool term = false, trunc = false;
  while (!term && !trunc) {
    const float* x = obs.data();
    if (normalize) {
      frozen.apply(obs.data(), normalized.data(), static_cast<std::int64_t>(obs.size()));
      x = normalized.data();
    }
    argmax_actions(runner.forward(actor, x, 1), actions.size(), actions.data());
    e.step(actions, obs, term, trunc);
  }
  return e.info().equity / config.initial_balance - 1.0;
}

class TorchPolicy final : public Policy {
 public:
  TorchPolicy(std::size_t obs_dim, std::size_t n_tickers, const config::PpoConfig& ppo, DecisionPrecision precision)
      : manifest_("{}"),
        obs_dim_(obs_dim),
        n_tickers_(n_tickers),
        policy_(static_cast<std::int64_t>(obs_dim), static_cast<std::int64_t>(n_tickers), ppo.net_arch, ppo.activation,
                ppo.ortho_init),
        frozen_(RunningMeanStd(static_cast<std::int64_t>(obs_dim)).frozen(ppo.clip_obs)),
        normalize_(ppo.normalize_observations) {
    policy_->eval();
    set_actor(precision);
  }
  TorchPolicy(const std::string& path, DecisionPrecision precision) {
    reading_model(path, [&] { load(path, precision); });
  }
  std::size_t obs_dim() const override { return obs_dim_; }
  std::size_t n_tickers() const override { return n_tickers_; }
  const std::string& manifest() const override { return manifest_; }
  DecisionPrecision precision() const override { return precision_; }
  std::unique_ptr<Policy> with_precision(DecisionPrecision precision) const override {
    return std::make_unique<TorchPolicy>(*this, precision);
  }
  // Shares `other`'s weights (LibTorch modules are shared handles) and statistics.
  TorchPolicy(const TorchPolicy& other, DecisionPrecision precision)
      : manifest_(other.manifest_),
        obs_dim_(other.obs_dim_),
        n_tickers_(other.n_tickers_),
        policy_(other.policy_),
        frozen_(other.frozen_),
        normalize_(other.normalize_) {
    set_actor(precision);
  }
  void act(std::span<const float> obs, std::span<std::int32_t> actions, bool deterministic) override {
    torch::NoGradGuard no_grad;
    const auto batch = static_cast<std::int64_t>(obs.size() / obs_dim_);
    const float* logits = logits_of(obs);
    if (deterministic) {
      argmax_actions(logits, actions.size(), actions.data());
      return;
    }
    const auto z = torch::from_blob(const_cast<float*>(logits), {batch * static_cast<std::int64_t>(n_tickers_), 3},
                                    torch::kFloat32);
    const auto a32 = torch::multinomial(torch::softmax(z, -1), 1).to(torch::kInt32).contiguous();
    std::memcpy(actions.data(), a32.data_ptr<std::int32_t>(), actions.size() * sizeof(std::int32_t));
  }
  void probabilities(std::span<const float> obs, std::span<float> probs) override {
    torch::NoGradGuard no_grad;
    const auto batch = static_cast<std::int64_t>(obs.size() / obs_dim_);
    const float* logits = logits_of(obs);
    const auto z = torch::from_blob(const_cast<float*>(logits), {batch * static_cast<std::int64_t>(n_tickers_), 3},
                                    torch::kFloat32);
    const auto p = torch::softmax(z, -1).contiguous();
    std::memcpy(probs.data(), p.data_ptr<float>(), probs.size() * sizeof(float));
  }

 private:
  void load(const std::string& path, DecisionPrecision precision) {
    auto archive = open_model(path);
    manifest_ = manifest_of(archive, path);
    const auto j = nlohmann::json::parse(manifest_);
    if (j.value("format_version", 0) != kFormatVersion) {
      throw InputError(path + ": model format " + std::to_string(j.value("format_version", 0)) + ", this build reads " +
                       std::to_string(kFormatVersion));
    }
    obs_dim_ = j.at("obs_dim").get<std::size_t>();
    // Read with their types here, so that what reads them later (compatibility checks, reports)
    // cannot meet a damaged field outside this guard.
    n_tickers_ = j.at("tickers").get<std::vector<std::string>>().size();
    (void)j.at("feature_set").get<std::string>();
    (void)j.at("features").get<std::vector<std::string>>();
    const auto& ppo = j.at("config").at("ppo");
    config::NetArch arch{ppo.at("net_arch").at("pi").get<std::vector<int>>(),
                         ppo.at("net_arch").at("vf").get<std::vector<int>>()};
    policy_ = ActorCritic(static_cast<std::int64_t>(obs_dim_), static_cast<std::int64_t>(n_tickers_), arch,
                          ppo.at("activation").get<std::string>(), false);
    load_weights(policy_, archive, path);
    policy_->eval();
    set_actor(precision);
    RunningMeanStd rms;
    archive.read("obs_rms_mean", rms.mean);
    archive.read("obs_rms_var", rms.var);
    check_normaliser(rms, static_cast<std::int64_t>(obs_dim_), path);
    verify_checksum(archive, "policy_crc32", policy_checksum(manifest_, policy_, rms), path, "weights");
    normalize_ = ppo.value("normalize_observations", true);
    frozen_ = rms.frozen(ppo.value("clip_obs", 10.0));
  }
  void set_actor(DecisionPrecision precision) {
    precision_ = precision;
    actor_ = actor_view(policy_);
    if (precision == DecisionPrecision::kInt8) int8_actor_ = quantize_int8(actor_);
  }
  // Observations [batch x obs_dim], normalised here with the frozen statistics -> logits
  // [batch x n_tickers x 3] at the policy's precision, valid until the next call.
  const float* logits_of(std::span<const float> obs) {
    const auto batch = static_cast<std::int64_t>(obs.size() / obs_dim_);
    const float* x = obs.data();
    if (normalize_) {
      normalized_.resize(obs.size());
      frozen_.apply(obs.data(), normalized_.data(), static_cast<std::int64_t>(obs.size()));
      x = normalized_.data();
    }
    const std::lock_guard<std::mutex> one_decision_at_a_time(decision_pool_mutex());
    if (precision_ == DecisionPrecision::kFloat32) return runner_.forward(actor_, x, batch);
    const std::size_t width = 3 * n_tickers_;
    logits_.resize(static_cast<std::size_t>(batch) * width);
    for (std::int64_t r = 0; r < batch; ++r) {
      const float* row = runner_.forward_row(int8_actor_, x + r * static_cast<std::int64_t>(obs_dim_));
      std::copy(row, row + width, logits_.begin() + static_cast<std::ptrdiff_t>(r * static_cast<std::int64_t>(width)));
    }
    return logits_.data();
  }

  std::string manifest_;
  std::size_t obs_dim_ = 0, n_tickers_ = 0;
  ActorCritic policy_{nullptr};
  MlpView actor_;
  DecisionPrecision precision_ = DecisionPrecision::kFloat32;
  Int8Mlp int8_actor_;
  std::vector<float> logits_, normalized_;
  // Decisions come back to back in a backtest: the process's decision pool, whose workers poll
  // for a millisecond before they sleep, so a decision does not wait for a thread to be woken.
  MlpRunner runner_{&decision_pool()};
  RunningMeanStd::Frozen frozen_;  // the model's observation statistics and clip_obs
  bool normalize_ = true;
};

}  // namespace

std::string read_manifest(const std::string& path) {
  auto archive = open_model(path);
  return manifest_of(archive, path);
}

bool verify_weights(const std::string& path) {
  const bool has_checksum = reading_model(path, [&] {
    auto archive = open_model(path);
    torch::Tensor saved;
    return archive.try_read("policy_crc32", saved);
  });
  if (has_checksum) TorchPolicy(path, DecisionPrecision::kFloat32);  // its loading checks the checksum
  return has_checksum;
}

std::unique_ptr<Policy> Policy::load(const std::string& path, DecisionPrecision precision) {
  return std::make_unique<TorchPolicy>(path, precision);
}

std::unique_ptr<Policy> Policy::untrained(std::size_t obs_dim, std::size_t n_tickers, const config::PpoConfig& ppo,
                                          DecisionPrecision precision) {
  return std::make_unique<TorchPolicy>(obs_dim, n_tickers, ppo, precision);
}

DecisionPrecision parse_decision_precision(const std::string& name, const std::string& field) {
  if (name == "float32") return DecisionPrecision::kFloat32;
  if (name == "int8") return DecisionPrecision::kInt8;
  throw InputError(field + ": '" + name + "' is not one of float32, int8");
}

const char* to_string(DecisionPrecision precision) {
  return precision == DecisionPrecision::kInt8 ? "int8" : "float32";
}

void check_compatible(const std::string& manifest_json, const std::string& feature_set,
                      const std::vector<std::string>& tickers, std::size_t obs_dim) {
  const auto j = nlohmann::json::parse(manifest_json);
  const auto model_set = j.value("feature_set", std::string());
  if (model_set != feature_set) {
    throw InputError("model was trained on feature set '" + model_set + "', the data here uses '" + feature_set + "'");
  }
  const auto model_tickers = j.value("tickers", std::vector<std::string>{});
  if (model_tickers != tickers) {
    std::string a, b;
    for (const auto& t : model_tickers) a += (a.empty() ? "" : ",") + t;
    for (const auto& t : tickers) b += (b.empty() ? "" : ",") + t;
    throw InputError("model was trained on tickers " + a + ", not " + b);
  }
  if (j.value("obs_dim", std::size_t{0}) != obs_dim) {
    throw InputError("model expects observations of " + std::to_string(j.value("obs_dim", 0)) + " values, not " +
                     std::to_string(obs_dim));
  }
}

double update_flops_per_sample(std::size_t obs_dim, std::size_t n_tickers, const config::NetArch& net_arch) {
  auto net = [&](const std::vector<int>& hidden, double out) {
    double forward = 0, first = 0, in = static_cast<double>(obs_dim);
    for (std::size_t l = 0; l <= hidden.size(); ++l) {
      const double width = l < hidden.size() ? hidden[l] : out;
      forward += 2 * in * width;
      if (l == 0) first = 2 * in * width;
      in = width;
    }
    return 3 * forward - first;  // forward + weight gradients + input gradients but the first layer's
  };
  return net(net_arch.pi, 3.0 * static_cast<double>(n_tickers)) + net(net_arch.vf, 1.0);
}

namespace {

// A resumed training continues the checkpoint's random streams, so its seed is the checkpoint's:
// the manifest must name the seed that reproduces the file.
std::optional<std::uint64_t> checkpoint_seed(const std::string& manifest_text) {
  const auto manifest = nlohmann::json::parse(manifest_text);
  const auto seed = manifest.find("seed");
  if (seed == manifest.end() || !seed->is_number_unsigned()) return std::nullopt;
  return seed->get<std::uint64_t>();
}

// `checkpoint`: the opened file of req.resume, read once for its seed and then for the state, and
// let go of before the training starts.
TrainResult train_from(const TrainRequest& req, std::optional<torch::serialize::InputArchive> checkpoint);

}  // namespace

TrainResult train(const TrainRequest& req) {
  warn_about_slow_blas_kernels();
  // Two trainings of one run (the same model name twice, in two terminals) would interleave their
  // metrics and overwrite each other's model: the second is refused while the first runs.
  std::optional<ExclusiveFileLock> run_lock;
  if (!req.metrics_dir.empty()) {
    ensure_writable_directory(req.metrics_dir);
    try {
      run_lock.emplace(std::filesystem::path(req.metrics_dir) / "training.lock", "a training of " + req.output);
    } catch (const IoError& e) {  // a filesystem without flock(2): train, unguarded, rather than not at all
      spdlog::warn("{}: two trainings of this run are not kept apart", e.what());
    }
  }
  if (req.resume.empty()) return train_from(req, std::nullopt);
  auto checkpoint = open_model(req.resume);
  const auto seed = checkpoint_seed(manifest_of(checkpoint, req.resume));
  if (!seed || *seed == req.config.training.seed) return train_from(req, std::move(checkpoint));
  spdlog::warn(
      "{} was trained with seed {}: the resumed training continues its random streams and keeps seed {} "
      "(training.seed / --seed {} applies to a new training)",
      req.resume, *seed, *seed, req.config.training.seed);
  TrainRequest resumed = req;
  resumed.config.training.seed = *seed;
  return train_from(resumed, std::move(checkpoint));
}

namespace {

TrainResult train_from(const TrainRequest& req, std::optional<torch::serialize::InputArchive> checkpoint) {
  const auto& cfg = req.config;
  const auto& ppo = cfg.ppo;
  const auto& tr = cfg.training;
  // Where the results go must take them: found out now, not when the first checkpoint is due.
  if (std::filesystem::is_directory(req.output))
    throw IoError(req.output + ": is a directory; --out names the model file (e.g. data/models/NAME.pt)");
  ensure_writable_directory(std::filesystem::path(req.output).parent_path());
  const std::int64_t total = req.total_timesteps > 0 ? req.total_timesteps : tr.total_timesteps;
  // Threads: LibTorch's and OpenBLAS's, and the parts of the data-parallel update. Rollout
  // inference runs on batches of n_envs observations, where one LibTorch thread is several times
  // faster than two (16 x 1,173 through the V6 nets: 2.2 ms vs 9.7 ms on this machine).
  const int threads =
      req.threads > 0 ? req.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (req.threads > 0) at::set_num_threads(req.threads);
  const int update_threads = at::get_num_threads();

  const auto market = req.market.market;
  const std::size_t first = std::max(market->first_bar, req.window_first);
  const std::size_t last = req.window_last > 0 ? std::min(market->last_bar, req.window_last) : market->last_bar;
  if (last <= first + 1) throw InputError("train: the training window holds fewer than two bars");
  const std::size_t split =
      req.validation_fraction > 0
          ? first + static_cast<std::size_t>(static_cast<double>(last - first) * (1.0 - req.validation_fraction))
          : last;
  env::EnvConfig env_config = env::env_config_from(cfg, env::Mode::kTrain);
  env_config.window_first = first;
  env_config.window_last = split;
  const bool have_validation = req.validation_fraction > 0 && last > split + 1;
  env::EnvConfig eval_config = env::env_config_from(cfg, env::Mode::kBacktest);
  eval_config.window_first = split;
  eval_config.window_last = last;
  eval_config.max_steps = std::numeric_limits<int>::max();
  const SeenBars seen{first, split, last, have_validation};

  const auto n_envs = static_cast<std::int64_t>(tr.n_envs);
  const auto n_steps = static_cast<std::int64_t>(ppo.n_steps);
  Checkpoint state;
  const auto obs_dim_probe = market->n_tickers * market->n_features + market->n_tickers + 3;
  const auto D = static_cast<std::int64_t>(obs_dim_probe);
  const auto N = static_cast<std::int64_t>(market->n_tickers);

  // The training's own random stream (actions, minibatch order), so trainings can run side by side
  // (walk-forward --jobs, autonomous search.n_jobs). LibTorch's initialisers draw from its process-wide
  // generator, so that one is seeded and used under the networks' lock, and the training continues
  // its stream: the same numbers as one process-wide stream seeded with training.seed.
  at::Generator rng;
  ActorCritic policy = [&] {
    const std::lock_guard lock(network_initialisation_mutex());
    torch::manual_seed(tr.seed);
    ActorCritic initialised(D, N, ppo.net_arch, ppo.activation, ppo.ortho_init);
    auto process_wide = at::detail::getDefaultCPUGenerator();
    const std::lock_guard<std::mutex> generator_lock(process_wide.mutex());
    // A copy through its state, not Generator::clone(): LibTorch 1.13's clone adopts a raw pointer
    // without a weak reference, so the copy is never freed (LeakSanitizer: one per training).
    rng = at::detail::createCPUGenerator();
    rng.set_state(process_wide.get_state());
    return initialised;
  }();
  WorkerPool pool(threads);
  Adam optimizer(policy->parameters(), ppo.learning_rate, 1e-5, pool);
  RunningMeanStd obs_rms(D);
  RunningMeanStd ret_rms(1);
  std::optional<EpisodesInFlight> saved_episodes;

  if (checkpoint)
    reading_model(req.resume, [&] {
      auto& archive = *checkpoint;
      const auto manifest = manifest_of(archive, req.resume);
      check_compatible(manifest, cfg.features.feature_set, market->tickers, static_cast<std::size_t>(D));
      load_weights(policy, archive, req.resume);
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer.load(optimizer_archive);
      archive.read("obs_rms_mean", obs_rms.mean);
      archive.read("obs_rms_var", obs_rms.var);
      check_normaliser(obs_rms, D, req.resume);
      auto read = [&](const char* key) {
        torch::Tensor t;  // a fresh tensor each time: reading into a used one would try to resize its storage
        archive.read(key, t);
        return t;
      };
      obs_rms.count = read("obs_rms_count").item<double>();
      // Model files before the reward normaliser was saved: it starts again, as it did then.
      if (torch::Tensor count; archive.try_read("ret_rms_count", count)) {
        archive.read("ret_rms_mean", ret_rms.mean);
        archive.read("ret_rms_var", ret_rms.var);
        ret_rms.count = count.item<double>();
      }
      state.timesteps = read("state_timesteps").item<std::int64_t>();
      const auto update = read("state_update").item<std::int64_t>();
      if (update < 0 || update > std::numeric_limits<int>::max())
        throw InputError(req.resume + ": damaged model file (state_update " + std::to_string(update) + ")");
      state.update = static_cast<int>(update);
      state.best_eval = read("state_best_eval").item<double>();
      // Model files before the episodes were saved: they restart, as they did then.
      if (c10::IValue context; archive.try_read("episodes_context", context) && context.isString()) {
        const auto env_state = read("episodes_env_state").contiguous();
        saved_episodes = EpisodesInFlight{context.toStringRef(),
                                          std::string(reinterpret_cast<const char*>(env_state.data_ptr<std::uint8_t>()),
                                                      static_cast<std::size_t>(env_state.numel())),
                                          read("episodes_last_starts"), read("episodes_returns_acc")};
      }
      const auto rng_state = read("rng_state");
      verify_checksum(archive, "policy_crc32", policy_checksum(manifest, policy, obs_rms), req.resume, "weights");
      verify_checksum(
          archive, "training_crc32",
          training_checksum(optimizer, obs_rms, ret_rms, state, rng_state, saved_episodes.value_or(EpisodesInFlight{})),
          req.resume, "training state");
      std::lock_guard<std::mutex> lock(rng.mutex());
      rng.set_state(rng_state);
      spdlog::info("resuming {} at {} timesteps (update {})", req.resume, state.timesteps, state.update);
      if (state.timesteps >= total)
        spdlog::warn(
            "{} already has {} timesteps, --timesteps {} asks for no more: nothing to train (--timesteps is "
            "the total to reach, not steps to add)",
            req.resume, state.timesteps, total);
    });
  checkpoint.reset();  // its copy of every tensor is no longer needed

  // Views of the parameters for the hand-written passes (after a resume has loaded them).
  const MlpView actor = actor_view(policy);
  const MlpView critic = critic_view(policy);
  // The rollout's steps (n_envs rows) split every layer between the pool's threads.
  MlpRunner runner(&pool);
  std::vector<MlpRunner> part_runners(static_cast<std::size_t>(pool.parts()));
  PpoGradients gradients(policy, std::min<std::int64_t>(ppo.batch_size, n_steps * n_envs), pool);
  PpoLossSettings loss_settings{ppo.clip_range, ppo.clip_range_vf, ppo.ent_coef, ppo.vf_coef, ppo.normalize_advantage};
  auto critic_values = [&](const torch::Tensor& obs) {
    const auto rows = obs.size(0);
    const auto x = obs.contiguous();
    return torch::from_blob(const_cast<float*>(runner.forward(critic, x.data_ptr<float>(), rows)), {rows},
                            torch::kFloat32)
        .clone();
  };

  // A fresh training starts its episodes from streams derived from (seed, 0); a resumed one continues
  // the checkpoint's, or where it cannot (an older file, changed settings) starts new ones from
  // (seed, update).
  env::VecEnv vec(market, env_config, static_cast<std::size_t>(n_envs),
                  derive_seed(tr.seed, "vecenv", static_cast<std::uint64_t>(state.update)), 1);
  const std::string context = episodes_context(req, n_envs, static_cast<std::size_t>(D), seen);

  auto obs_buf = torch::zeros({n_steps, n_envs, D});
  auto act_buf = torch::zeros({n_steps, n_envs, N}, torch::kInt64);
  auto logp_buf = torch::zeros({n_steps, n_envs});
  auto val_buf = torch::zeros({n_steps, n_envs});
  auto rew_buf = torch::zeros({n_steps, n_envs});
  auto start_buf = torch::zeros({n_steps, n_envs});
  auto last_starts = torch::ones({n_envs});
  auto returns_acc = torch::zeros({n_envs}, torch::kFloat64);
  std::vector<std::int32_t> actions(static_cast<std::size_t>(n_envs * N));
  auto episodes_now = [&] {
    return EpisodesInFlight{context, vec.save_state(), last_starts.clone(), returns_acc.clone()};
  };
  auto continue_episodes = [&](const EpisodesInFlight& episodes, const std::string& from) {
    if (episodes.last_starts.sizes() != last_starts.sizes() || episodes.returns_acc.sizes() != returns_acc.sizes())
      throw InputError(from + ": episodes_last_starts / episodes_returns_acc: not one value per env");
    vec.restore_state(episodes.env_state, from + ": episodes_env_state");
    last_starts = episodes.last_starts.clone();
    returns_acc = episodes.returns_acc.clone();
  };
  if (saved_episodes && saved_episodes->context == context) {
    continue_episodes(*saved_episodes, req.resume);
  } else if (saved_episodes) {
    spdlog::warn("{}: {} changed since the checkpoint: the episodes under way restart", req.resume,
                 context_differences(saved_episodes->context, context));
  } else if (!req.resume.empty()) {
    spdlog::info("{} holds no episodes under way (an older file): they restart", req.resume);
  }

  std::ofstream jsonl, csv;
  if (!req.metrics_dir.empty()) {
    const auto csv_path = std::filesystem::path(req.metrics_dir) / "metrics.csv";
    const bool new_csv = !std::filesystem::exists(csv_path) || req.resume.empty();
    jsonl.open(std::filesystem::path(req.metrics_dir) / "metrics.jsonl",
               req.resume.empty() ? std::ios::trunc : std::ios::app);
    csv.open(csv_path, new_csv ? std::ios::trunc : std::ios::app);
    if (!jsonl || !csv) throw IoError(req.metrics_dir + ": cannot open metrics.jsonl and metrics.csv for writing");
    if (new_csv) {
      csv << "timesteps,update,episode_reward_mean,episode_return_mean,episodes,policy_loss,value_loss,entropy,approx_"
             "kl,"
             "clip_fraction,explained_variance,learning_rate,fps,eval_return\n";
    }
  }

  TrainResult result;
  const std::int64_t batch = n_steps * n_envs;
  // Training stops after the rollout that reaches `total` (as SB3 does), so the bar counts to there.
  const std::int64_t planned = state.timesteps >= total
                                   ? state.timesteps
                                   : state.timesteps + (total - state.timesteps + batch - 1) / batch * batch;
  Progress progress("train", static_cast<std::uint64_t>(planned), ProgressOptions{"steps", !req.progress},
                    static_cast<std::uint64_t>(state.timesteps));
  // An iteration is two phases for the ETA: the rollout, then the update (with evaluation and
  // checkpoint); the update is ~95% of a V6 iteration while the step count stands still.
  RoundEstimator iterations(static_cast<double>(state.timesteps) / static_cast<double>(batch),
                            static_cast<double>(planned) / static_cast<double>(batch), 2);
  const std::string last_iteration = std::to_string(state.update + (planned - state.timesteps) / batch);
  std::int64_t iteration = 0;  // the one under way
  auto next_report = Clock::now();
  auto report = [&](double phase_fraction, auto&& describe_phase) {
    const auto now = Clock::now();
    if (now < next_report || (!progress.due() && !req.on_progress)) return;
    next_report = now + std::chrono::milliseconds(100);
    ProgressEstimate e = iterations.estimate(progress.elapsed_seconds(), phase_fraction);
    e.phase = "iteration " + std::to_string(iteration) + "/" + last_iteration + ": " + describe_phase();
    progress.update(static_cast<std::uint64_t>(state.timesteps), e);
    if (req.on_progress) req.on_progress(state.timesteps, e);
  };
  const int eval_every = std::max<int>(1, static_cast<int>(tr.eval_freq / std::max<std::int64_t>(1, batch)));
  const int checkpoint_every =
      std::max<int>(1, static_cast<int>(tr.checkpoint_freq / std::max<std::int64_t>(1, batch)));
  const std::string best_path = std::filesystem::path(req.output).replace_extension("").string() + ".best.pt";
  auto normalize_obs = [&](const torch::Tensor& x) {
    return ppo.normalize_observations ? obs_rms.normalize(x, ppo.clip_obs) : x.clone();
  };
  auto stop_requested = [&] {
    return (req.stop != nullptr && req.stop->load()) || (req.cancel != nullptr && req.cancel->load());
  };

  // What a rollout changes before its update: an interrupted one is undone, so the checkpoint is
  // the state after the last whole update (the periodic checkpoint's, bit for bit).
  struct RolloutStart {
    Checkpoint state;
    RunningMeanStd obs_rms, ret_rms;
    torch::Tensor rng_state;
    EpisodesInFlight episodes;
  };
  auto rollout_start = [&] {
    const std::lock_guard<std::mutex> lock(rng.mutex());
    return RolloutStart{state, obs_rms.clone(), ret_rms.clone(), rng.get_state(), episodes_now()};
  };
  auto undo_rollout = [&](const RolloutStart& start) {
    state = start.state;
    obs_rms = start.obs_rms;
    ret_rms = start.ret_rms;
    continue_episodes(start.episodes, "the rollout's start");
    const std::lock_guard<std::mutex> lock(rng.mutex());
    rng.set_state(start.rng_state);
  };

  while (state.timesteps < total && !stop_requested()) {
    const auto t0 = Clock::now();
    const RolloutStart before_rollout = rollout_start();
    iteration = state.update + 1;
    iterations.begin_phase(0, progress.elapsed_seconds());
    const double remaining = 1.0 - static_cast<double>(state.timesteps) / static_cast<double>(total);
    const double lr = ppo.lr_schedule == "linear" ? ppo.learning_rate * remaining : ppo.learning_rate;
    const double clip = ppo.clip_range_schedule == "linear" ? ppo.clip_range * remaining : ppo.clip_range;
    optimizer.set_learning_rate(lr);

    UpdateMetrics um;
    double ep_reward_sum = 0, ep_return_sum = 0;
    policy->eval();
    at::set_num_threads(1);
    bool interrupted = false;
    std::vector<torch::Tensor> bootstrap_obs;                         // normalised final observations of truncations
    std::vector<std::pair<std::int64_t, std::int64_t>> bootstrap_at;  // (step, env) they belong to
    {
      torch::NoGradGuard no_grad;
      for (std::int64_t s = 0; s < n_steps; ++s) {
        if (stop_requested()) {
          interrupted = true;
          break;
        }
        const auto raw = torch::from_blob(vec.observation_data(), {n_envs, D}, torch::kFloat32);  // no copy
        if (ppo.normalize_observations) obs_rms.update(raw);
        const auto obs = normalize_obs(raw);
        // The actor alone picks the actions; the critic's values are needed only after the rollout
        // (GAE), so they are computed there in large, GEMM-friendly batches.
        const auto logits = torch::from_blob(const_cast<float*>(runner.forward(actor, obs.data_ptr<float>(), n_envs)),
                                             {n_envs, N, 3}, torch::kFloat32);
        const auto dist = distribution(logits);
        const auto a = torch::multinomial(dist.log_probs.exp().view({-1, 3}), 1, false, rng).view({n_envs, N});
        const auto a32 = a.to(torch::kInt32).contiguous();
        std::memcpy(actions.data(), a32.data_ptr<std::int32_t>(), actions.size() * sizeof(std::int32_t));
        vec.step(actions);
        auto rewards = torch::from_blob(const_cast<float*>(vec.rewards().data()), {n_envs}, torch::kFloat32).clone();
        auto dones = torch::zeros({n_envs});
        for (std::int64_t i = 0; i < n_envs; ++i) {
          const bool term = vec.terminated()[static_cast<std::size_t>(i)],
                     trunc = vec.truncated()[static_cast<std::size_t>(i)];
          if (!(term || trunc)) continue;
          dones[i] = 1.0f;
          ++um.episodes;
          ep_reward_sum += vec.episode_reward(static_cast<std::size_t>(i));
          ep_return_sum += vec.final_equity(static_cast<std::size_t>(i)) / env_config.initial_balance - 1.0;
          if (trunc && !term) {  // a time limit is not a real end: bootstrap with the value of the final state
            const auto final_obs = torch::from_blob(
                const_cast<float*>(vec.final_observation(static_cast<std::size_t>(i)).data()), {1, D}, torch::kFloat32);
            bootstrap_obs.push_back(normalize_obs(final_obs));
            bootstrap_at.emplace_back(s, i);
          }
        }
        if (ppo.normalize_reward) {
          returns_acc = returns_acc * ppo.gamma + rewards.to(torch::kFloat64);
          ret_rms.update(returns_acc.view({-1, 1}));
          rewards = (rewards.to(torch::kFloat64) / torch::sqrt(ret_rms.var + 1e-8)).clamp(-10, 10).to(torch::kFloat32);
          returns_acc = returns_acc * (1 - dones.to(torch::kFloat64));
        }
        obs_buf[s] = obs;
        act_buf[s] = a;
        logp_buf[s] = dist.log_prob(a);
        rew_buf[s] = rewards;
        start_buf[s] = last_starts;
        last_starts = dones;
        state.timesteps += n_envs;
        report(static_cast<double>(s + 1) / static_cast<double>(n_steps),
               [&] { return "rollout " + std::to_string((s + 1) * 100 / n_steps) + "%"; });
      }
    }
    if (interrupted) {
      undo_rollout(before_rollout);
      break;
    }
    {
      // The critic over the whole rollout, in chunks of 8,192 observations (SB3 computes the same
      // values step by step; batching makes them GEMMs instead of matrix-vector products).
      torch::NoGradGuard no_grad;
      at::set_num_threads(update_threads);
      // Each thread of the pool takes a contiguous share of the rows.
      const std::int64_t total_rows = n_steps * n_envs;
      const float* flat = obs_buf.data_ptr<float>();
      float* values = val_buf.data_ptr<float>();
      constexpr std::int64_t kChunk = 8192;
      const int parts = pool.parts();
      const ScopedBlasThreads one_blas_thread_each(1);  // a BLAS thread per pool thread
      pool.run([&](int part) {
        const std::int64_t begin = total_rows * part / parts, end = total_rows * (part + 1) / parts;
        auto& part_runner = part_runners[static_cast<std::size_t>(part)];
        for (std::int64_t from = begin; from < end; from += kChunk) {
          const auto rows = std::min(kChunk, end - from);
          const float* v = part_runner.forward(critic, flat + from * D, rows);
          std::copy(v, v + rows, values + from);
        }
      });
      // Time-limit truncations: add gamma x V(final state) to that step's (possibly normalised) reward, as SB3.
      if (!bootstrap_obs.empty()) {
        const auto finals = critic_values(torch::cat(bootstrap_obs, 0));
        for (std::size_t j = 0; j < bootstrap_at.size(); ++j) {
          const auto [step, env_index] = bootstrap_at[j];
          rew_buf[step][env_index] += static_cast<float>(ppo.gamma) * finals[static_cast<std::int64_t>(j)];
        }
      }
    }
    const auto t1 = Clock::now();
    iterations.begin_phase(1, progress.elapsed_seconds());

    // GAE(lambda), SB3's recursion, in float as SB3 (a loop over plain buffers: 4,096 steps of
    // tensor ops on 16 values cost more than the arithmetic).
    torch::Tensor advantages = torch::zeros({n_steps, n_envs});
    {
      torch::NoGradGuard no_grad;
      const auto last_values =
          critic_values(normalize_obs(torch::from_blob(vec.observation_data(), {n_envs, D}, torch::kFloat32)));
      const auto last_starts_c = last_starts.contiguous();
      const float* rew = rew_buf.data_ptr<float>();
      const float* val = val_buf.data_ptr<float>();
      const float* starts = start_buf.data_ptr<float>();
      float* adv = advantages.data_ptr<float>();
      const auto gamma = static_cast<float>(ppo.gamma), gamma_lambda = static_cast<float>(ppo.gamma * ppo.gae_lambda);
      for (std::int64_t e = 0; e < n_envs; ++e) {
        float gae = 0;
        for (std::int64_t s = n_steps - 1; s >= 0; --s) {
          const float next_non_terminal =
              1.0f - (s == n_steps - 1 ? last_starts_c.data_ptr<float>()[e] : starts[(s + 1) * n_envs + e]);
          const float next_value = s == n_steps - 1 ? last_values.data_ptr<float>()[e] : val[(s + 1) * n_envs + e];
          const float delta = rew[s * n_envs + e] + gamma * next_value * next_non_terminal - val[s * n_envs + e];
          gae = delta + gamma_lambda * next_non_terminal * gae;
          adv[s * n_envs + e] = gae;
        }
      }
    }
    const auto returns = advantages + val_buf;
    const auto b_obs = obs_buf.view({batch, D});
    const auto b_act = act_buf.view({batch, N});
    const auto b_logp = logp_buf.view({batch});
    const auto b_adv = advantages.view({batch});
    const auto b_ret = returns.view({batch});
    const auto b_val = val_buf.view({batch});

    at::set_num_threads(update_threads);
    policy->train();
    const PassTimes passes_before = gradients.times();
    double optimizer_seconds = 0;
    Clock::duration paused{0};
    double pl_sum = 0, vl_sum = 0, ent_sum = 0, kl_sum = 0, cf_sum = 0;
    int minibatches = 0;
    bool keep_going = true;
    loss_settings.clip_range = clip;
    const std::int64_t minibatches_per_epoch = (batch + ppo.batch_size - 1) / ppo.batch_size;
    const double minibatches_planned = static_cast<double>(minibatches_per_epoch * ppo.n_epochs);
    for (int epoch = 0; epoch < ppo.n_epochs && keep_going; ++epoch) {
      const auto perm = torch::randperm(batch, rng, torch::kInt64);
      for (std::int64_t start = 0; start < batch; start += ppo.batch_size) {
        const auto idx = perm.slice(0, start, std::min(start + ppo.batch_size, batch));
        const PpoMinibatch mb{b_obs,  // each thread of the pool gathers its rows of idx
                              idx,
                              b_act.index_select(0, idx),
                              b_logp.index_select(0, idx),
                              b_adv.index_select(0, idx),
                              b_ret.index_select(0, idx),
                              b_val.index_select(0, idx)};
        // The next minibatch of this epoch, whose rows the threads copy while they wait for each other.
        const std::int64_t next_start = start + ppo.batch_size;
        const auto next_idx = next_start < batch
                                  ? perm.slice(0, next_start, std::min(next_start + ppo.batch_size, batch))
                                  : torch::Tensor();
        const PpoLossStats st = gradients.compute(mb, loss_settings, next_idx);
        kl_sum += st.approx_kl;
        cf_sum += st.clip_fraction;
        pl_sum += st.policy_loss;
        vl_sum += st.value_loss;
        ent_sum += st.entropy;
        ++minibatches;
        if (ppo.target_kl && st.approx_kl > 1.5 * *ppo.target_kl) {
          keep_going = false;  // SB3 stops before this minibatch's step
          break;
        }
        gradients.sum_gradients();
        const auto step_start = Clock::now();
        optimizer.step(ppo.max_grad_norm);
        optimizer_seconds += std::chrono::duration<double>(Clock::now() - step_start).count();
        report(minibatches / minibatches_planned,
               [&] { return "update epoch " + std::to_string(epoch + 1) + "/" + std::to_string(ppo.n_epochs); });
      }
      um.epochs_run = epoch + 1;
      if (req.between_epochs) {
        const auto pause_start = Clock::now();
        req.between_epochs();
        paused += Clock::now() - pause_start;
      }
    }
    gradients.discard_gathered_ahead();  // the next rollout overwrites obs_buf
    ++state.update;
    const auto t2 = Clock::now();

    const double denom = std::max(1, minibatches);
    um.timesteps = state.timesteps;
    um.update = state.update;
    um.policy_loss = pl_sum / denom;
    um.value_loss = vl_sum / denom;
    um.entropy = ent_sum / denom;
    um.approx_kl = kl_sum / denom;
    um.clip_fraction = cf_sum / denom;
    {
      torch::NoGradGuard no_grad;
      const double var_ret = b_ret.var().item<double>();
      um.explained_variance = var_ret > 0 ? 1 - (b_ret - b_val).var().item<double>() / var_ret : 0;
    }
    um.learning_rate = lr;
    um.episode_reward_mean = um.episodes ? ep_reward_sum / um.episodes : 0;
    um.episode_return_mean = um.episodes ? ep_return_sum / um.episodes : 0;
    um.rollout_seconds = std::chrono::duration<double>(t1 - t0).count();
    um.update_seconds = std::chrono::duration<double>(t2 - t1 - paused).count();
    um.fps = static_cast<double>(batch) / std::max(1e-9, um.rollout_seconds + um.update_seconds);
    um.update_gemm_seconds = gradients.times().gemm - passes_before.gemm;
    um.update_elementwise_seconds =
        gradients.times().elementwise - passes_before.elementwise + gradients.times().reduce - passes_before.reduce;
    um.update_loss_seconds = gradients.times().loss - passes_before.loss;
    um.update_optimizer_seconds = optimizer_seconds;
    um.update_gather_seconds = gradients.times().gather - passes_before.gather;
    um.update_wait_seconds = gradients.times().wait - passes_before.wait;
    um.eval_return = std::numeric_limits<double>::quiet_NaN();
    if (have_validation && state.update % eval_every == 0) {
      policy->eval();
      next_report = Clock::now();
      report(1.0, [] { return std::string("evaluation on the validation window"); });
      um.eval_return = evaluate(policy, obs_rms, ppo.clip_obs, ppo.normalize_observations, market, eval_config, pool);
      if (um.eval_return > state.best_eval) {
        state.best_eval = um.eval_return;
        save_model(best_path, policy, optimizer, obs_rms, ret_rms,
                   build_manifest(req, *market, static_cast<std::size_t>(D), state, &um, seen, true), state, rng,
                   episodes_now());
      }
    }
    result.history.push_back(um);
    if (jsonl.is_open()) {
      nlohmann::ordered_json j{{"timesteps", um.timesteps},
                               {"update", um.update},
                               {"episode_reward_mean", um.episode_reward_mean},
                               {"episode_return_mean", um.episode_return_mean},
                               {"episodes", um.episodes},
                               {"policy_loss", um.policy_loss},
                               {"value_loss", um.value_loss},
                               {"entropy", um.entropy},
                               {"approx_kl", um.approx_kl},
                               {"clip_fraction", um.clip_fraction},
                               {"explained_variance", um.explained_variance},
                               {"learning_rate", um.learning_rate},
                               {"fps", um.fps},
                               {"rollout_seconds", um.rollout_seconds},
                               {"update_seconds", um.update_seconds},
                               {"update_gemm_seconds", um.update_gemm_seconds},
                               {"update_elementwise_seconds", um.update_elementwise_seconds},
                               {"update_loss_seconds", um.update_loss_seconds},
                               {"update_optimizer_seconds", um.update_optimizer_seconds},
                               {"update_gather_seconds", um.update_gather_seconds},
                               {"update_wait_seconds", um.update_wait_seconds},
                               {"epochs_run", um.epochs_run},
                               {"eval_return", std::isnan(um.eval_return) ? nlohmann::ordered_json(nullptr)
                                                                          : nlohmann::ordered_json(um.eval_return)}};
      jsonl << json_text(j) << "\n" << std::flush;
      char line[512];
      std::snprintf(line, sizeof line, "%lld,%d,%.6g,%.6g,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.1f,%s\n",
                    static_cast<long long>(um.timesteps), um.update, um.episode_reward_mean, um.episode_return_mean,
                    um.episodes, um.policy_loss, um.value_loss, um.entropy, um.approx_kl, um.clip_fraction,
                    um.explained_variance, um.learning_rate, um.fps,
                    std::isnan(um.eval_return) ? "" : std::to_string(um.eval_return).c_str());
      csv << line << std::flush;
      if (!jsonl || !csv) {
        // A full disk: the next checkpoint will say so and stop; until then the training goes on.
        spdlog::warn("{}: writing metrics.jsonl / metrics.csv failed ({}); the training goes on without them",
                     req.metrics_dir, std::strerror(errno));
        jsonl.close();
        csv.close();
      }
    }
    if (req.on_update) req.on_update(um);
    if (state.update % checkpoint_every == 0 && state.timesteps < total) {
      save_model(req.output, policy, optimizer, obs_rms, ret_rms,
                 build_manifest(req, *market, static_cast<std::size_t>(D), state, &um, seen), state, rng,
                 episodes_now());
    }
    iterations.end_round(progress.elapsed_seconds());
    progress.update(static_cast<std::uint64_t>(state.timesteps), iterations.estimate(progress.elapsed_seconds(), 0.0));
  }
  at::set_num_threads(update_threads);
  progress.finish();
  result.interrupted = stop_requested() && state.timesteps < total;
  result.timesteps = state.timesteps;
  save_model(req.output, policy, optimizer, obs_rms, ret_rms,
             build_manifest(req, *market, static_cast<std::size_t>(D), state,
                            result.history.empty() ? nullptr : &result.history.back(), seen),
             state, rng, episodes_now());
  result.model_path = req.output;
  if (have_validation && std::isfinite(state.best_eval) && std::filesystem::exists(best_path)) {
    result.best_model_path = best_path;
    result.best_validation_return = state.best_eval;
    result.validation_first = format_instant(market->time[split]);
    result.validation_last = format_instant(market->time[last]);
  }
  return result;
}

}  // namespace
}  // namespace ploutos::rl
