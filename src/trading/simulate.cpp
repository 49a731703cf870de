#include "ploutos/trading/simulate.hpp"

#include <algorithm>
#include <map>

#include "ploutos/broker/sim_broker.hpp"
#include "ploutos/diagnose/suggestions.hpp"
#include "ploutos/trading/session.hpp"

namespace ploutos::trading {

backtest::StrategyResult simulate_trading(const std::shared_ptr<const env::MarketData>& market,
                                          const TraderConfig& config, const costs::CostParams& costs, std::size_t first,
                                          std::size_t last, const DecideFn& decide, const std::string& name,
                                          std::uint64_t seed) {
  const auto& m = *market;
  broker::SimOptions options;
  options.initial_cash = config.initial_balance;
  options.costs = costs;
  options.seed = seed;
  broker::SimBroker sim(std::make_shared<broker::SimBars>(sim_bars_from(m)), options, first);
  Journal journal(":memory:", false);
  backtest::StrategyResult r;
  r.name = name;
  // Record each step's decisions as the backtests do.
  Trader trader(sim, journal, config,
                [&](const env::MarketData& mk, std::size_t bar, std::span<const double> q, const env::PortfolioState& p,
                    std::span<std::int32_t> actions) {
                  decide(mk, bar, q, p, actions);
                  r.decision_bars.push_back(bar);
                  for (const auto a : actions) {
                    r.decisions.push_back(static_cast<std::int8_t>(a));
                    ++(a == env::kBuy ? r.buys : a == env::kSell ? r.sells : r.holds);
                  }
                });
  r.equity.push_back(sim.account().equity);
  std::vector<double> exposure;
  while (sim.bar() < last) {
    trader.run_cycle(m, sim.bar());
    sim.advance();
    trader.reconcile();
    const auto account = sim.account();
    r.equity.push_back(account.equity);
    exposure.push_back(account.equity > 0 ? std::clamp(1.0 - account.cash / account.equity, 0.0, 1.0) : 0.0);
  }
  // Fills, closed trades and costs from the simulator's executions.
  std::map<std::string, std::string> intent;
  for (const auto& o : journal.orders()) intent[o.client_order_id] = o.intent;
  std::vector<diagnose::FillEvent> events;
  double notional = 0;
  static const char* const kReasons[] = {"decision", "stop_loss", "take_profit"};
  for (const auto& f : sim.fills()) {
    const std::string& why = intent[f.client_order_id];
    const char* reason = why == "stop_loss" ? kReasons[1] : why == "take_profit" ? kReasons[2] : kReasons[0];
    r.fills.push_back(
        {f.bar, f.bar - 1, f.symbol, f.side == broker::Side::kBuy, f.quantity, f.price, f.fees, f.pnl, reason});
    r.costs += f.cost;
    notional += f.price * f.quantity;
    events.push_back({m.tickers[f.symbol], f.side == broker::Side::kBuy, f.quantity, f.price, f.fees, f.bar, reason});
  }
  std::vector<risk::ClosedTrade> trades;
  for (const auto& t : diagnose::round_trips(events)) trades.push_back({t.pnl, t.return_pct, t.bars_held});
  const double per_year = backtest::periods_per_year(m);
  r.metrics = risk::compute_metrics(r.equity, trades, notional, per_year, exposure);
  const std::size_t decisions = r.holds + r.buys + r.sells;
  r.activity = decisions > 0 ? static_cast<double>(r.buys + r.sells) / static_cast<double>(decisions) : 0.0;
  return r;
}

}  // namespace ploutos::trading
