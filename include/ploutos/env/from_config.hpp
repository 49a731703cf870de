#pragma once
// Typed config -> environment and cost parameters. The one place where config keys meet the
// environment, so training, backtests and trading read them identically.
#include "ploutos/config/config.hpp"
#include "ploutos/costs/cost_model.hpp"
#include "ploutos/env/trading_env.hpp"

namespace ploutos::env {

costs::CostParams cost_params_from(const config::CostsConfig& costs);
EnvConfig env_config_from(const config::Config& config, Mode mode);

}  // namespace ploutos::env
