#!/usr/bin/env bash
# Install what is missing, build Release into build/, then run the main job on the built-in defaults:
# the synthetic market, a short PPO training run (config/quickstart.yaml), the model's manifest.
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
echo
echo "Demo finished: data/models/quickstart.pt was trained on the synthetic market."
echo "Backtests (issue #6) and paper trading (issue #7) arrive with their issues; see README.md."
