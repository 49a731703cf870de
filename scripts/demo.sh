#!/usr/bin/env bash
# Install what is missing, build Release into build/, then run the main job on the built-in defaults:
# the synthetic market, a short PPO training run (config/quickstart.yaml), the model's manifest, a
# backtest with reliability checks, the buy-timing diagnosis, a few days of offline paper trading and
# the journal's report.
source "$(dirname "$0")/common.sh"
ploutos_build
cd "$PLOUTOS_ROOT"
ploutos=build/ploutos
step() { echo; echo "\$ ploutos $*"; "$ploutos" "$@"; }
step --version
step version
step status
step config validate config/training_config_v6_better_timing.yaml config/training_config_v6_extended_50m.yaml \
  config/autonomous_config.yaml config/quickstart.yaml
step data synth --config quickstart --days 500 --out data/market
step data info --data data/market
step features list
step train --config quickstart --out data/models/quickstart.pt
step model info data/models/quickstart.pt
step backtest --model data/models/quickstart.pt --data synthetic --days 250 --reliability --out reports/demo_backtest
step diagnose --model data/models/quickstart.pt --data synthetic --days 250 --out reports/demo_diagnose
rm -f data/runs/demo_journal.sqlite data/runs/demo_journal.sqlite.sim.json
step trade --paper --broker sim --model data/models/quickstart.pt --data synthetic --journal data/runs/demo_journal.sqlite \
  --start-bars 20 --cycles 10
step journal data/runs/demo_journal.sqlite --out reports/demo_journal
echo
echo "Demo finished: data/models/quickstart.pt was trained on the synthetic market, backtested"
echo "(reports/demo_backtest/report.html), diagnosed (reports/demo_diagnose/diagnose.html) and paper-traded"
echo "for 10 simulated days (journal data/runs/demo_journal.sqlite, reports/demo_journal/journal.html)."
echo "See README.md for the rest."
