#pragma once
// How a trained policy computes its decisions (docs/decisions.md). Torch-free and small, so the
// agent, backtest and CLI can name it without the rest of the rl header.
#include <string>

namespace ploutos::rl {

// - float32: the trained weights as they are. The default, and what training evaluated.
// - int8: weights quantised to int8 per output row and each layer's input to int16, summed exactly
//   in int32. A quarter of the memory traffic a decision (~3x faster on the V6 network here), but
//   a decision can differ from float32's where two actions are nearly tied.
enum class DecisionPrecision { kFloat32, kInt8 };

// "float32" or "int8"; InputError naming `field` otherwise.
DecisionPrecision parse_decision_precision(const std::string& name, const std::string& field = "decision precision");
const char* to_string(DecisionPrecision precision);

}  // namespace ploutos::rl
