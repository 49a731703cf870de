#include <iostream>

#include "cli.hpp"
#include "ploutos/backtest/autonomous.hpp"

namespace ploutos::cli {

void add_autonomous_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::int64_t timesteps = 0, trial_timesteps = 0;
    int trials = 0, threads = 0, jobs = 0;
    std::string out, data, interval, tickers, report = "reports/autonomous";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "autonomous",
      "The seed's autonomous pipeline: regime, asset selection, hyper-parameter search, training, acceptance test");
  cmd->add_option("--data", o->data, "Data directory, folder of TICKER.csv, or `synthetic`");
  cmd->add_option("--interval", o->interval, "Override data.interval (1d, 1h, 4h)");
  cmd->add_option("--tickers", o->tickers, "Override the candidates, data.tickers (comma-separated)");
  cmd->add_option("--timesteps", o->timesteps, "Steps of the final training (default: training.total_timesteps)")
      ->check(kPositive);
  cmd->add_option("--trials", o->trials, "Trials of the search (default: autonomous.search.n_trials)")
      ->check(kPositive);
  cmd->add_option("--trial-timesteps", o->trial_timesteps,
                  "Steps each trial trains (default: autonomous.search.trial_timesteps, else timesteps / trials)")
      ->check(kPositive);
  cmd->add_option("--threads", o->threads,
                  "Threads of the final training, and of each trial when they run one at a time (default: "
                  "training.threads)")
      ->check(kNonNegative);
  cmd->add_option("--jobs", o->jobs,
                  "Trials trained side by side, each on one thread (default: autonomous.search.n_jobs); a trial's "
                  "score is then the one --jobs 1 --threads 1 gives")
      ->check(kPositive);
  cmd->add_option("--out", o->out,
                  "Where an accepted model goes (default: training.output); a rejected one goes beside it as "
                  "NAME.rejected.pt and never replaces it");
  cmd->add_option("--report", o->report, "autonomous.json and the trainings' metrics go here")->capture_default_str();
  cmd->footer(
      "The last autonomous.validation.test_days sessions are the acceptance test; nothing before it (selection,\n"
      "search, training) sees them. Each search trial trains before a validation window of as many sessions\n"
      "and is scored by its Sharpe there. The model is accepted when its test Sharpe after costs reaches\n"
      "validation.min_sharpe; otherwise the command exits 1. Ctrl-C stops it (exit 130); the same command\n"
      "continues the search, reusing every finished trial (report/trials/trial_N.json). docs/autonomous.md.\n"
      "Examples:\n"
      "  ploutos autonomous --config autonomous_config.yaml --data ../shared/data/daily --interval 1d\n"
      "  ploutos autonomous --config autonomous_config.yaml --data synthetic --tickers SYNA,SYNB,SYNC,SYND \\\n"
      "      --timesteps 20000 --trials 4 --json");
  cmd->callback([&globals, o] {
    globals.action = [&globals, o]() -> int {
      auto config = load_effective_config(globals);
      apply_data_options(config, o->data, o->interval, o->tickers);
      if (o->jobs > 0) config.autonomous.search.n_jobs = o->jobs;
      config::validate(config, "command line");
      backtest::AutonomousSpec spec;
      spec.data_dir = o->data;
      spec.timesteps = o->timesteps;
      spec.trial_timesteps = o->trial_timesteps;
      spec.trials = o->trials;
      spec.threads = o->threads > 0 ? o->threads : config.training.threads;
      spec.output = o->out;
      spec.report_dir = o->report;
      spec.progress = !globals.quiet && !globals.json;
      const auto result = [&] {
        const StopOnSignals signals;
        spec.stop = signals.flag();
        return backtest::run_autonomous(config, spec);
      }();
      std::cout << (globals.json ? backtest::autonomous_json(result) + "\n" : backtest::autonomous_text(result));
      if (!globals.json && !result.interrupted) std::cout << "report " << o->report << "/autonomous.json\n";
      if (result.interrupted) return 130;
      return result.accepted ? 0 : 1;
    };
  });
}

}  // namespace ploutos::cli
