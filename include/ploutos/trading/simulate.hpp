#pragma once
// A backtest through the live path: the Trader (risk overlay, sizing, stops, kill switch, order
// ids), the SimBroker and an in-memory journal, one cycle per bar over [first, last]. Used by
// `ploutos backtest --engine broker` and by the test that holds the environment and the trader to
// the same fills.
#include <memory>
#include <string>

#include "ploutos/backtest/backtest.hpp"
#include "ploutos/trading/trader.hpp"

namespace ploutos::trading {

backtest::StrategyResult simulate_trading(const std::shared_ptr<const env::MarketData>& market,
                                          const TraderConfig& config, const costs::CostParams& costs, std::size_t first,
                                          std::size_t last, const DecideFn& decide, const std::string& name = "agent",
                                          std::uint64_t seed = 1);

}  // namespace ploutos::trading
