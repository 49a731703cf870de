#include "cli.hpp"

namespace ploutos::cli {

void add_train_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::int64_t timesteps = 0;
    std::string out, resume;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("train", "Train a PPO agent (LibTorch) on the V6 environment; writes data/models/NAME.pt");
  cmd->add_option("--timesteps", o->timesteps, "Environment steps (default: training.total_timesteps)");
  cmd->add_option("--out", o->out, "Model file to write (default: training.output)");
  cmd->add_option("--resume", o->resume, "Continue exactly where this checkpoint stopped");
  cmd->add_option("--threads", o->threads, "Worker threads (1 gives byte-identical models for one seed)");
  cmd->footer(
      "Examples:\n"
      "  ploutos train --config v6_better_timing.yaml\n"
      "  ploutos train --config quickstart --timesteps 20000 --out data/models/quick.pt --seed 7");
  not_implemented(*cmd, globals, "ploutos train (PPO in LibTorch, issue #8)", o);
}

}  // namespace ploutos::cli
