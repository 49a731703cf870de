#include "ploutos/diagnose/suggestions.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace ploutos::diagnose {
namespace {

std::string number(double x, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::vector<RoundTrip> round_trips(const std::vector<FillEvent>& fills) {
  struct Open {
    bool active = false;
    double quantity = 0, cost = 0;  // shares held and their remaining cost basis (fees included)
    double bought = 0, entry_notional = 0, sold = 0, exit_notional = 0, basis_closed = 0;
    std::size_t first_bar = 0;
    RoundTrip trip;
  };
  std::map<std::string, Open> open;
  std::vector<RoundTrip> out;
  for (const auto& f : fills) {
    auto& o = open[f.symbol];
    if (f.buy) {
      if (!o.active) {
        o = Open{};
        o.active = true;
        o.first_bar = f.bar;
        o.trip.symbol = f.symbol;
      }
      o.quantity += f.quantity;
      o.cost += f.price * f.quantity + f.fees;
      o.bought += f.quantity;
      o.entry_notional += f.price * f.quantity;
      o.trip.fees += f.fees;
      continue;
    }
    if (!o.active) continue;  // a sell without a position: nothing to close
    const double q = std::min(f.quantity, o.quantity);
    const double basis = o.quantity > 0 ? o.cost * q / o.quantity : 0;
    o.cost -= basis;
    o.quantity -= q;
    o.sold += q;
    o.exit_notional += f.price * q;
    o.basis_closed += basis;
    o.trip.pnl += f.price * q - f.fees - basis;
    o.trip.fees += f.fees;
    if (o.quantity > 1e-9 * std::max(1.0, o.bought)) continue;  // partial sells accumulate until flat
    RoundTrip r = o.trip;
    r.entry_price = o.entry_notional / o.bought;
    r.exit_price = o.exit_notional / o.sold;
    r.quantity = o.sold;
    r.return_pct = o.basis_closed > 0 ? r.pnl / o.basis_closed : 0;
    r.bars_held = f.bar - o.first_bar;
    r.exit_reason = f.reason.empty() ? "decision" : f.reason;
    out.push_back(r);
    o.active = false;
  }
  return out;
}

std::vector<Suggestion> losing_trade_suggestions(const std::vector<RoundTrip>& trips, const CurrentSettings& now) {
  std::vector<Suggestion> out;
  if (trips.size() < 5) return out;
  std::vector<double> loss_returns;
  double win_sum = 0, loss_sum = 0, fees = 0, gross_gain = 0;
  std::size_t wins = 0, quick_losers = 0, stop_exits = 0, target_exits = 0;
  for (const auto& t : trips) {
    fees += t.fees;
    if (t.pnl > 0) {
      ++wins;
      win_sum += t.pnl;
    } else {
      loss_sum -= t.pnl;
      loss_returns.push_back(-t.return_pct);
      if (t.bars_held <= 2) ++quick_losers;
    }
    gross_gain += std::max(0.0, t.pnl + t.fees);
    if (t.exit_reason == "stop_loss") ++stop_exits;
    if (t.exit_reason == "take_profit") ++target_exits;
  }
  const std::size_t losses = trips.size() - wins;
  const double avg_win = wins ? win_sum / static_cast<double>(wins) : 0;
  const double avg_loss = losses ? loss_sum / static_cast<double>(losses) : 0;
  if (losses > 0 && avg_loss > avg_win && now.stop_loss_pct <= 0) {
    const double stop = std::clamp(median(loss_returns), 0.01, 0.2);
    out.push_back({"risk.stop_loss_pct", number(stop, 3),
                   "average loss " + number(avg_loss, 2) + " USD exceeds average win " + number(avg_win, 2) +
                       " USD and no stop-loss is set; median losing trade lost " +
                       number(100 * median(loss_returns), 1) + "%"});
  }
  if (now.stop_loss_pct > 0 && stop_exits > 2 * std::max<std::size_t>(target_exits, 1)) {
    out.push_back({"risk.stop_loss_pct", number(now.stop_loss_pct * 1.5, 3),
                   std::to_string(stop_exits) + " stop-loss exits against " + std::to_string(target_exits) +
                       " take-profit exits: the stop may sit inside normal noise"});
  }
  if (quick_losers >= 3 && quick_losers * 2 > losses) {  // "1 of 1" is no evidence
    out.push_back({"environment.min_holding_period", std::to_string(std::max(now.min_holding_period * 2, 4)),
                   std::to_string(quick_losers) + " of " + std::to_string(losses) +
                       " losing trades were closed within two bars of entry"});
  }
  if (gross_gain > 0 && fees > gross_gain / 3) {
    out.push_back({"environment.max_trades_per_day", std::to_string(std::max(1, now.max_trades_per_day / 2)),
                   "fees of " + number(fees, 2) + " USD ate more than a third of the " + number(gross_gain, 2) +
                       " USD gross gains"});
  }
  if (wins * 10 < trips.size() * 4) {
    out.push_back({"(analysis)", "ploutos diagnose",
                   "win rate " + number(100.0 * static_cast<double>(wins) / static_cast<double>(trips.size()), 0) +
                       "% over " + std::to_string(trips.size()) +
                       " round trips: check buy timing (buy-low share) before trading this model further"});
  }
  return out;
}

}  // namespace ploutos::diagnose
