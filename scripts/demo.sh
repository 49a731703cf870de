#!/usr/bin/env bash
# Install what is missing, build Release into build/, then run the main job on the built-in defaults.
# What runs grows with the project: today the CLI, configs and the NYSE calendar.
source "$(dirname "$0")/common.sh"
ploutos_build
cd "$PLOUTOS_ROOT"
ploutos=build/ploutos
step() { echo; echo "\$ ploutos $*"; "$ploutos" "$@"; }
step --version
step version
step status
step status --at 2025-01-09T15:00:00Z --json
step config list
step config show --config quickstart
step config validate config/training_config_v6_better_timing.yaml config/training_config_v6_extended_50m.yaml \
  config/autonomous_config.yaml config/quickstart.yaml
echo
echo "Demo finished. Training, backtests and trading arrive with their issues; see README.md."
