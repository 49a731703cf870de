#pragma once
// Stop-loss, take-profit and trailing stops evaluated on a bar's open/high/low, long positions.
// Rules (docs/environment.md):
//  - a gap through a level fills at the open, not at the level;
//  - a bar that touches both the stop and the target, neither gapped, is taken as the stop
//    (the conservative reading: the bar's path is unknown);
//  - the trailing stop trails the highest high seen since entry, before this bar.
#include <optional>

namespace ploutos::risk {

struct StopLevels {
  double stop_loss = 0;     // price; 0 = none
  double take_profit = 0;   // price; 0 = none
  double trailing_pct = 0;  // fraction below the highest high; 0 = none
};

struct StopState {
  double highest_high = 0;  // since entry, bars before the current one
};

enum class StopReason { kNone, kStopLoss, kTakeProfit, kTrailingStop };

struct StopFill {
  StopReason reason = StopReason::kNone;
  double price = 0;  // reference price of the exit (before costs)
};

// Checks one bar for a long position; updates the trailing state afterwards.
StopFill evaluate_long_stops(const StopLevels& levels, StopState& state, double open, double high, double low);

// Levels from percentages of the entry price (0 leaves a level off).
StopLevels levels_from_entry(double entry_price, double stop_loss_pct, double take_profit_pct, double trailing_pct);

}  // namespace ploutos::risk
