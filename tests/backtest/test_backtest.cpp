#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../env/market_fixture.hpp"
#include "ploutos/backtest/backtest.hpp"

using namespace ploutos;

namespace {
// Two tickers rising 0.5% a bar (open to close), opening where they closed.
std::shared_ptr<const env::MarketData> rising(std::size_t bars) {
  auto m = test::flat_market(2, bars, 100.0);
  m.tickers = {"SPY", "QQQ"};
  double p = 100;
  for (std::size_t t = 0; t < bars; ++t) {
    for (std::size_t k = 0; k < 2; ++k) test::set_bar(m, t, k, p, p * 1.005, p, p * 1.005);
    p *= 1.005;
  }
  return std::make_shared<const env::MarketData>(m);
}
env::EnvConfig costs_off() {
  env::EnvConfig c;
  c.costs.slippage_model = "none";
  c.costs.spread_bps = 0;
  c.costs.sec_fee = c.costs.finra_taf = 0;
  c.costs.impact_coefficient = 0;
  c.min_holding_period = 0;
  return c;
}
}  // namespace

TEST(Backtest, BuyAndHoldBaselinesEarnTheMarketAndTheRandomAgentIsSeeded) {
  const auto market = rising(60);
  const auto hold = [](std::span<const float>, std::span<std::int32_t> a) {
    std::fill(a.begin(), a.end(), env::kHold);
  };
  const auto r = backtest::run_backtest(market, costs_off(), 10, 59, hold, 1);
  EXPECT_EQ(r.agent.metrics.total_return, 0.0);
  ASSERT_EQ(r.baselines.size(), 3u);  // equal weight, SPY, random
  // Invested from the open of bar 11 to the close of bar 59: the first buy keeps 2% of cash aside
  // for costs, later buys top the position up towards its cap.
  const double market_move = std::pow(1.005, 49) - 1;
  for (const std::size_t i : {0, 1}) {
    EXPECT_GT(r.baselines[i].metrics.total_return, market_move / 1.02) << r.baselines[i].name;
    EXPECT_LE(r.baselines[i].metrics.total_return, market_move + 1e-12) << r.baselines[i].name;
  }
  EXPECT_EQ(r.baselines[2].activity, 0.0);  // the random agent trades as often as the agent: never
  const auto busy = [](std::span<const float>, std::span<std::int32_t> a) { std::fill(a.begin(), a.end(), env::kBuy); };
  const auto a = backtest::run_backtest(market, env::EnvConfig{}, 10, 59, busy, 7);
  const auto b = backtest::run_backtest(market, env::EnvConfig{}, 10, 59, busy, 7);
  EXPECT_EQ(a.baselines.back().equity, b.baselines.back().equity);
  EXPECT_GT(a.agent.costs, 0.0);
}

TEST(Backtest, OutputsHoldTheSummaryKeysAndEveryFill) {
  const auto market = rising(40);
  const auto trader = [n = 0](std::span<const float>, std::span<std::int32_t> a) mutable {
    std::fill(a.begin(), a.end(), (n++ % 4 == 0) ? env::kBuy : (n % 4 == 2 ? env::kSell : env::kHold));
  };
  const auto r = backtest::run_backtest(market, env::EnvConfig{}, 5, 39, trader, 3);
  const auto j = nlohmann::json::parse(backtest::summary_json(r));
  for (const char* key : {"total_return", "annual_return", "volatility", "sharpe", "sortino", "calmar", "max_drawdown",
                          "win_rate", "profit_factor", "turnover", "trades", "costs", "baselines"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_TRUE(j["baselines"].contains("buy_and_hold_equal_weight"));
  EXPECT_TRUE(j["baselines"]["spy_buy_and_hold"].contains("sharpe"));
  const auto dir = std::filesystem::temp_directory_path() / ("ploutos_bt_" + std::to_string(::getpid()));
  backtest::write_outputs(r, dir.string());
  std::ifstream trades(dir / "trades.csv");
  std::size_t lines = 0;
  for (std::string line; std::getline(trades, line);) ++lines;
  EXPECT_EQ(lines, r.agent.fills.size() + 1);
  EXPECT_GT(r.agent.fills.size(), 4u);
  std::ifstream equity(dir / "equity.csv");
  std::string header;
  std::getline(equity, header);
  EXPECT_EQ(header, "date,agent,buy_and_hold_equal_weight,spy_buy_and_hold,random_same_frequency");
  // One self-contained page: equity, drawdown, P&L and one price chart per ticker, nothing fetched.
  std::ifstream page(dir / "report.html");
  const std::string html((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  std::size_t svgs = 0;
  for (auto pos = html.find("<svg"); pos != std::string::npos; pos = html.find("<svg", pos + 1)) ++svgs;
  EXPECT_EQ(svgs, 3u + r.tickers.size());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("l-5,9 l10,0 z"), std::string::npos) << "buy markers";
  EXPECT_NE(html.find("l-5,-9 l10,0 z"), std::string::npos) << "sell markers";
  std::filesystem::remove_all(dir);
}
