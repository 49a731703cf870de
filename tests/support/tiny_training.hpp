#pragma once
// A training request for a tiny PPO run (16-unit nets, 2 envs x 64 steps, one thread, no validation,
// no progress line): seconds at most, for tests that need a real trained model.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ploutos/rl/ppo.hpp"

namespace ploutos::test {

inline rl::TrainRequest tiny_training(const env::LoadedMarket& market, std::vector<std::string> tickers,
                                      const std::string& name, std::int64_t timesteps) {
  config::Config c;
  c.data.tickers = std::move(tickers);
  c.environment.train_start_min = 0;
  c.ppo.net_arch = {{16}, {16}};
  c.ppo.n_steps = 64;
  c.ppo.batch_size = 64;
  c.ppo.n_epochs = 2;
  c.training.n_envs = 2;
  rl::TrainRequest req;
  req.config = c;
  req.market = market;
  req.output = (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".pt")).string();
  req.total_timesteps = timesteps;
  req.threads = 1;
  req.validation_fraction = 0;
  req.progress = false;
  return req;
}

}  // namespace ploutos::test
