#include "ploutos/env/vec_env.hpp"

#include <atomic>
#include <barrier>
#include <functional>
#include <thread>

#include "ploutos/core/byte_stream.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::env {

// Workers wait at a barrier for a step, each steps its slice, and meet again at the barrier.
struct VecEnv::Pool {
  Pool(VecEnv& vec, int threads) : sync(threads), owner(vec) {
    const std::size_t n = vec.size();
    for (int w = 1; w < threads; ++w) {
      const std::size_t first = n * static_cast<std::size_t>(w) / static_cast<std::size_t>(threads);
      const std::size_t last = n * static_cast<std::size_t>(w + 1) / static_cast<std::size_t>(threads);
      workers.emplace_back([this, first, last] {
        while (true) {
          sync.arrive_and_wait();  // a step (or shutdown) is ready
          if (stop) return;
          this->owner.step_range(first, last, actions);
          sync.arrive_and_wait();  // done
        }
      });
    }
    main_last = n / static_cast<std::size_t>(threads);
  }
  ~Pool() {
    stop = true;
    sync.arrive_and_wait();
    for (auto& t : workers) t.join();
  }
  void run(std::span<const std::int32_t> a) {
    actions = a;
    sync.arrive_and_wait();
    owner.step_range(0, main_last, actions);
    sync.arrive_and_wait();
  }

  std::barrier<> sync;
  VecEnv& owner;
  std::vector<std::thread> workers;
  std::span<const std::int32_t> actions;
  std::size_t main_last = 0;
  std::atomic<bool> stop{false};
};

VecEnv::VecEnv(const std::shared_ptr<const MarketData>& market, const EnvConfig& config, std::size_t n_envs,
               std::uint64_t seed, int threads) {
  for (std::size_t i = 0; i < n_envs; ++i) {
    envs_.push_back(std::make_unique<TradingEnv>(market, config));
  }
  obs_dim_ = envs_.empty() ? 0 : envs_.front()->obs_dim();
  n_tickers_ = market->n_tickers;
  obs_.assign(n_envs * obs_dim_, 0.0f);
  final_obs_.assign(n_envs * obs_dim_, 0.0f);
  rewards_.assign(n_envs, 0.0f);
  terminated_.assign(n_envs, 0);
  truncated_.assign(n_envs, 0);
  final_equity_.assign(n_envs, 0.0);
  reward_sum_.assign(n_envs, 0.0);
  final_reward_sum_.assign(n_envs, 0.0);
  for (std::size_t i = 0; i < n_envs; ++i) {
    envs_[i]->reset(derive_seed(seed, "env", i), std::span<float>(obs_.data() + i * obs_dim_, obs_dim_));
  }
  const int usable = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), n_envs));
  if (usable > 1) pool_ = std::make_unique<Pool>(*this, usable);
}

VecEnv::~VecEnv() = default;

void VecEnv::reset() {
  std::fill(reward_sum_.begin(), reward_sum_.end(), 0.0);
  for (std::size_t i = 0; i < envs_.size(); ++i)
    envs_[i]->reset(std::span<float>(obs_.data() + i * obs_dim_, obs_dim_));
}

void VecEnv::step_range(std::size_t first, std::size_t last, std::span<const std::int32_t> actions) {
  for (std::size_t i = first; i < last; ++i) {
    const std::span<float> obs(obs_.data() + i * obs_dim_, obs_dim_);
    bool term = false, trunc = false;
    rewards_[i] = envs_[i]->step(actions.subspan(i * n_tickers_, n_tickers_), obs, term, trunc);
    terminated_[i] = term;
    truncated_[i] = trunc;
    reward_sum_[i] += rewards_[i];
    if (term || trunc) {
      final_equity_[i] = envs_[i]->info().equity;
      final_reward_sum_[i] = reward_sum_[i];
      reward_sum_[i] = 0;
      std::copy(obs.begin(), obs.end(), final_obs_.begin() + static_cast<std::ptrdiff_t>(i * obs_dim_));
      envs_[i]->reset(obs);
    }
  }
}

void VecEnv::step(std::span<const std::int32_t> actions) {
  if (pool_) {
    pool_->run(actions);
  } else {
    step_range(0, envs_.size(), actions);
  }
}

namespace {
constexpr std::string_view kStateMagic = "ploutos vecenv state";
constexpr std::uint32_t kStateVersion = 1;
}  // namespace

std::string VecEnv::save_state() const {
  ByteWriter out;
  out.put(kStateMagic);
  out.put(kStateVersion);
  out.put<std::uint64_t>(envs_.size());
  out.put<std::uint64_t>(obs_dim_);
  out.put(obs_);
  out.put(reward_sum_);
  for (const auto& e : envs_) e->save_state(out);
  return out.bytes();
}

void VecEnv::restore_state(std::string_view bytes, const std::string& what) {
  ByteReader in(bytes, what);
  if (in.get_string() != kStateMagic) in.fail("not an environment state");
  if (const auto version = in.get<std::uint32_t>(); version != kStateVersion)
    in.fail("state version " + std::to_string(version) + ", this build reads " + std::to_string(kStateVersion));
  const auto n = in.get<std::uint64_t>(), dim = in.get<std::uint64_t>();
  if (n != envs_.size() || dim != obs_dim_) {
    in.fail(std::to_string(n) + " envs of " + std::to_string(dim) + " observations, this one has " +
            std::to_string(envs_.size()) + " of " + std::to_string(obs_dim_));
  }
  in.get(obs_, obs_.size());
  in.get(reward_sum_, reward_sum_.size());
  if (obs_.size() != envs_.size() * obs_dim_ || reward_sum_.size() != envs_.size()) in.fail("short observations");
  for (auto& e : envs_) e->restore_state(in);
  in.expect_end();
}

std::span<const float> VecEnv::final_observation(std::size_t env) const {
  return std::span<const float>(final_obs_.data() + env * obs_dim_, obs_dim_);
}

}  // namespace ploutos::env
