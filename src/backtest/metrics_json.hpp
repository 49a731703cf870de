#pragma once
// Walk-forward summaries as JSON, beside the metrics (module-private header).
#include <nlohmann/json.hpp>
#include <vector>

#include "ploutos/backtest/walk_forward.hpp"
#include "ploutos/risk/metrics_json.hpp"

namespace ploutos::backtest {

using risk::metrics_to_json;

inline nlohmann::ordered_json summary_to_json(const Summary& s) {
  return {{"mean", s.mean}, {"std", s.std}};
}

}  // namespace ploutos::backtest
