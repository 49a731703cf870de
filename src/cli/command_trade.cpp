#include "cli.hpp"

namespace ploutos::cli {

void add_trade_command(CLI::App& app, Globals& globals) {
  struct Options {
    std::string broker, model;
    bool paper = true, live = false, once = false, dry_run = false, yes_really_live = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "trade", "Paper (default) or live trading loop on the NYSE calendar with risk limits and an order journal");
  cmd->add_flag("--paper", o->paper, "Paper trading (the default)");
  cmd->add_option("--broker", o->broker, "etoro (default, or $BROKER), alpaca, or sim (offline)");
  cmd->add_option("--model", o->model, "Model file");
  cmd->add_flag("--once", o->once, "Run one decision cycle and exit");
  cmd->add_flag("--dry-run", o->dry_run, "Decide and journal, but send no orders");
  cmd->add_flag("--live", o->live, "Real money: asks for a typed confirmation");
  cmd->add_flag("--yes-really-live", o->yes_really_live, "Confirm --live without the prompt");
  cmd->footer(
      "Examples:\n"
      "  ploutos trade --paper --broker sim --model data/models/brain_tech.pt --once\n"
      "  ploutos trade --paper --broker alpaca --model data/models/brain_tech.pt");
  not_implemented(*cmd, globals, "ploutos trade (issue #7)", o);
}

}  // namespace ploutos::cli
