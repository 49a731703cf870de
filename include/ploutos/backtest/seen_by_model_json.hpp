#pragma once
// `seen_by_model` as JSON, one spelling for summary.json and diagnose.json; null when the model's
// manifest does not say what it trained on.
#include <nlohmann/json.hpp>

#include "ploutos/backtest/backtest.hpp"

namespace ploutos::backtest {

inline nlohmann::ordered_json seen_by_model_json(const SeenByModel& s) {
  if (!s.known) return nullptr;
  return {{"window_bars", s.window_bars},
          {"trained_bars", s.trained_bars},
          {"selection_bars", s.selection_bars},
          {"in_sample", s.trained_bars + s.selection_bars > 0},
          {"training_window", {{"first", s.training_first}, {"last", s.training_last}}},
          {"model_data_source", s.model_data_source},
          {"data_source", s.data_source}};
}

}  // namespace ploutos::backtest
