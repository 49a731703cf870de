#pragma once
// The seed's self-improvement step, made concrete: look at the losing round trips and propose config
// changes to try (never applied automatically). Used by diagnose, after backtests, and by the trader
// after each trading day on its journal.
#include <cstddef>
#include <string>
#include <vector>

namespace ploutos::diagnose {

struct FillEvent {
  std::string symbol;
  bool buy = true;
  double quantity = 0;
  double price = 0;  // per share, after costs
  double fees = 0;
  std::size_t bar = 0;  // any increasing clock: bar index or cycle number
  std::string reason;   // decision | stop_loss | take_profit | ...
};

// A position from flat to flat, against its average cost (fees included).
struct RoundTrip {
  std::string symbol;
  double entry_price = 0, exit_price = 0, quantity = 0;
  double pnl = 0;  // after costs, USD
  double return_pct = 0;
  double fees = 0;
  std::size_t bars_held = 0;
  std::string exit_reason;
};
std::vector<RoundTrip> round_trips(const std::vector<FillEvent>& fills);

struct CurrentSettings {
  double stop_loss_pct = 0;
  double take_profit_pct = 0;
  int min_holding_period = 0;
  int max_trades_per_day = 0;
};

struct Suggestion {
  std::string key;    // config key, e.g. risk.stop_loss_pct
  std::string value;  // value to try
  std::string why;    // the evidence, with numbers
};

// Rules (docs/diagnose.md): losses larger than wins without a stop -> a stop at the median loss;
// stops hit more often than targets -> a wider stop; many losers closed within two bars -> a longer
// holding period; fees above a third of the gross gains -> fewer trades. Needs at least 5 round trips.
std::vector<Suggestion> losing_trade_suggestions(const std::vector<RoundTrip>& trips, const CurrentSettings& now);

}  // namespace ploutos::diagnose
