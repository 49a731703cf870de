#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../env/market_fixture.hpp"
#include "../support/tiny_training.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/data/panel.hpp"
#include "ploutos/data/synthetic.hpp"
#include "ploutos/env/market.hpp"
#include "ploutos/features/engine.hpp"
#include "ploutos/rl/ppo.hpp"

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
  // Invested once, from the open of bar 11 to the close of bar 59, with 2% of the cash kept aside
  // for costs.
  const double market_move = std::pow(1.005, 49) - 1;
  for (const std::size_t i : {0, 1})
    EXPECT_NEAR(r.baselines[i].metrics.total_return, market_move / 1.02, 1e-12) << r.baselines[i].name;
  EXPECT_EQ(r.baselines[2].activity, 0.0);  // the random agent trades as often as the agent: never
  const auto busy = [](std::span<const float>, std::span<std::int32_t> a) { std::fill(a.begin(), a.end(), env::kBuy); };
  const auto a = backtest::run_backtest(market, env::EnvConfig{}, 10, 59, busy, 7);
  const auto b = backtest::run_backtest(market, env::EnvConfig{}, 10, 59, busy, 7);
  EXPECT_EQ(a.baselines.back().equity, b.baselines.back().equity);
  EXPECT_GT(a.agent.costs, 0.0);
}

// Buy-and-hold buys each ticker once, at the first bar it can trade, and never tops a position up
// when its weight drifts below 1/N: a holder's weights move with prices. A ticker that only becomes
// tradable later is bought then.
TEST(Backtest, BuyAndHoldBaselinesBuyEachTickerOnceAndLetTheWeightsDrift) {
  auto m = test::flat_market(3, 60, 100.0);
  m.tickers = {"SPY", "QQQ", "IPO"};
  for (std::size_t t = 0; t < 60; ++t) {
    const double up = 100 * std::pow(1.005, t), down = 100 * std::pow(0.995, t);
    test::set_bar(m, t, 0, up, up, up, up);
    test::set_bar(m, t, 1, down, down, down, down);
    m.tradable[m.at(t, 2)] = t >= 20;
  }
  const auto market = std::make_shared<const env::MarketData>(m);
  const auto hold = [](std::span<const float>, std::span<std::int32_t> a) {
    std::fill(a.begin(), a.end(), env::kHold);
  };
  const auto r = backtest::run_backtest(market, costs_off(), 10, 59, hold, 1);
  ASSERT_EQ(r.baselines[0].name, "buy_and_hold_equal_weight");
  const auto& equal = r.baselines[0].fills;
  ASSERT_EQ(equal.size(), 3u);
  for (const auto& f : equal) EXPECT_TRUE(f.buy);
  EXPECT_EQ(equal[0].ticker, 0u);
  EXPECT_EQ(equal[0].bar, 11u);
  EXPECT_EQ(equal[1].ticker, 1u);
  EXPECT_EQ(equal[1].bar, 11u);
  EXPECT_EQ(equal[2].ticker, 2u);
  EXPECT_EQ(equal[2].decision_bar, 20u);  // its first tradable bar; the fill is the next open
  EXPECT_EQ(equal[2].bar, 21u);
  // A third of the book in each, 2% of it kept aside for costs; the flat IPO earns nothing.
  const double spy = std::pow(1.005, 48), qqq = std::pow(0.995, 48);
  EXPECT_NEAR(r.baselines[0].metrics.total_return, ((spy - 1) + (qqq - 1)) / 3 / 1.02, 1e-9);
  ASSERT_EQ(r.baselines[1].name, "spy_buy_and_hold");
  ASSERT_EQ(r.baselines[1].fills.size(), 1u);
  EXPECT_NEAR(r.baselines[1].metrics.total_return, (spy - 1) / 1.02, 1e-9);
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

// A scripted agent (no model) buys SPY on the first day and sells on the tenth; the P&L after costs
// equals the hand computation: fills at the next opens, half the spread and fixed slippage on the
// price, commission, FINRA TAF and (sells) the SEC fee on the notional.
TEST(Backtest, ScriptedBuyDayOneSellDayTenMatchesTheHandComputedPnl) {
  auto m = test::flat_market(2, 40, 100.0);
  m.tickers = {"SPY", "QQQ"};
  for (std::size_t t = 0; t < 40; ++t) {
    const double o = 100 + t, c = 100.5 + t;  // opens 100, 101, 102, ...
    test::set_bar(m, t, 0, o, c + 0.5, o - 0.5, c);
  }
  const auto market = std::make_shared<const env::MarketData>(m);
  env::EnvConfig c;
  c.min_holding_period = 0;
  c.costs.spread_bps = 10;  // half: 5 bps
  c.costs.slippage_model = "fixed";
  c.costs.slippage_bps = 3;
  c.costs.impact_coefficient = 0;
  c.costs.commission = 0.001;
  const std::size_t first = 5;
  int step = 0;
  const auto run = backtest::run_strategy(market, c, first, 30, "scripted",
                                          [&step](std::span<const float>, std::span<std::int32_t> a) {
                                            a[0] = step == 0 ? env::kBuy : step == 9 ? env::kSell : env::kHold;
                                            a[1] = env::kHold;
                                            ++step;
                                          });
  ASSERT_EQ(run.fills.size(), 2u);
  // Decided on bar 5 (day 1), filled at bar 6's open; decided on bar 14 (day 10), filled at bar 15's open.
  const double open_buy = 106, open_sell = 115;
  const double amount = std::min(100000 * 0.20, 100000 * 0.25);
  const double q = amount / (open_buy * 1.02);
  const double buy_price = open_buy * (1 + 0.0005 + 0.0003);
  const double buy_fees = buy_price * q * (0.001 + 0.000145);
  const double sell_price = open_sell * (1 - 0.0005 - 0.0003);
  const double sell_fees = sell_price * q * (0.001 + 0.0000221 + 0.000145);
  const double pnl = sell_price * q - sell_fees - (buy_price * q + buy_fees);
  EXPECT_EQ(run.fills[0].bar, 6u);
  EXPECT_EQ(run.fills[1].bar, 15u);
  EXPECT_NEAR(run.fills[0].quantity, q, 1e-9);
  EXPECT_NEAR(run.fills[0].price, buy_price, 1e-9);
  EXPECT_NEAR(run.fills[1].price, sell_price, 1e-9);
  EXPECT_NEAR(run.fills[1].pnl, pnl, 1e-6);
  EXPECT_NEAR(run.equity.back() - 100000, pnl, 1e-6) << "flat at the end: equity moved by the trade's P&L only";
  EXPECT_EQ(run.metrics.trades, 1u);
}

// Look-ahead with a trained model: rewriting every bar after `cut` (prices, volumes, features)
// changes none of the agent's decisions or fills up to `cut`.
TEST(Backtest, ChangingBarsAfterADecisionNeverChangesIt) {
  auto make = [](bool scramble_after, std::size_t cut) {
    auto m = test::flat_market(2, 300, 100.0);
    m.tickers = {"SPY", "QQQ"};
    for (std::size_t k = 0; k < 2; ++k) {
      Rng rng(31 + k), other(77 + k);  // one stream per ticker: the tail never shifts the head
      double p = 100;
      for (std::size_t t = 0; t < 300; ++t) {
        Rng& r = scramble_after && t > cut ? other : rng;
        const double c = p * (1 + 0.02 * r.normal());
        test::set_bar(m, t, k, p, std::max(p, c) * 1.003, std::min(p, c) * 0.997, c);
        for (std::size_t f = 0; f < 3; ++f) m.features[m.at(t, k) * 3 + f] = static_cast<float>(r.normal());
        p = c;
      }
    }
    env::LoadedMarket out;
    out.market = std::make_shared<const env::MarketData>(m);
    out.data_hash = "test";
    return out;
  };
  const std::size_t cut = 200;
  const auto base = make(false, cut), changed = make(true, cut);
  auto req = test::tiny_training(base, {"SPY", "QQQ"}, "lookahead", 256);
  req.config.environment.max_steps = 100;
  rl::train(req);
  auto agent = agent::Agent::load(req.output);
  std::filesystem::remove(req.output);
  auto decide = [&](std::span<const float> obs, std::span<std::int32_t> a) { agent->act(obs, a); };
  env::EnvConfig e;
  e.min_holding_period = 0;
  const auto a = backtest::run_strategy(base.market, e, 50, 299, "a", decide);
  const auto b = backtest::run_strategy(changed.market, e, 50, 299, "b", decide);
  std::size_t checked = 0;
  for (std::size_t step = 0; step < a.decision_bars.size() && a.decision_bars[step] <= cut; ++step, ++checked) {
    for (std::size_t k = 0; k < 2; ++k)
      ASSERT_EQ(a.decisions[step * 2 + k], b.decisions[step * 2 + k]) << "decision at bar " << a.decision_bars[step];
  }
  EXPECT_EQ(checked, cut - 50 + 1);
  for (std::size_t i = 0; i < a.fills.size() && a.fills[i].bar <= cut; ++i) {
    ASSERT_LT(i, b.fills.size());
    EXPECT_EQ(a.fills[i].bar, b.fills[i].bar);
    EXPECT_EQ(a.fills[i].price, b.fills[i].price);
    EXPECT_EQ(a.fills[i].quantity, b.fills[i].quantity);
  }
  // And the scrambled tail does change later decisions (the test can fail).
  EXPECT_NE(a.decisions, b.decisions);
}

// A model's manifest says which bars it saw; a backtest over them is flagged in-sample, one after
// them is not. Bars of the 200-bar market: training 0..149 (validation_fraction 0.25), validation
// 149..199, whose evaluations chose NAME.best.pt.
TEST(Backtest, AWindowTheModelTrainedOrWasChosenOnIsFlaggedInSample) {
  env::LoadedMarket market;
  market.market = rising(200);
  market.data_hash = "test";
  market.source = "hand-built";
  auto req = test::tiny_training(market, {"SPY", "QQQ"}, "seen", 256);
  req.validation_fraction = 0.25;
  req.config.training.eval_freq = 128;  // every iteration: a best model is written
  const auto trained = rl::train(req);
  const std::string best = std::filesystem::path(req.output).replace_extension("").string() + ".best.pt";
  EXPECT_EQ(trained.best_model_path, best);
  EXPECT_EQ(trained.validation_first, format_instant(market.market->time[149]));
  EXPECT_EQ(trained.validation_last, format_instant(market.market->time[199]));
  double best_eval = -1e9;
  for (const auto& u : trained.history) best_eval = std::max(best_eval, u.eval_return);
  EXPECT_EQ(trained.best_validation_return, best_eval);
  const auto last_manifest = rl::read_manifest(req.output), best_manifest = rl::read_manifest(best);
  const auto& m = *market.market;
  const auto manifest = nlohmann::json::parse(last_manifest);
  EXPECT_EQ(manifest["training_window"]["first"], format_instant(m.time[0]));
  EXPECT_EQ(manifest["training_window"]["last"], format_instant(m.time[149]));
  EXPECT_EQ(manifest["training_window"]["bars"], 150);
  EXPECT_TRUE(manifest["selection_window"].is_null()) << "the last model never looked at validation results";
  EXPECT_EQ(nlohmann::json::parse(best_manifest)["selection_window"]["last"], format_instant(m.time[199]));

  // Deciding from the training window's last bar on earns nothing the training earned.
  const auto after = backtest::seen_by_model(last_manifest, m, "hand-built", 149, 199);
  EXPECT_TRUE(after.known);
  EXPECT_EQ(after.window_bars, 50u);
  EXPECT_EQ(after.trained_bars, 0u);
  EXPECT_EQ(after.selection_bars, 0u);
  EXPECT_EQ(backtest::seen_by_model_warning(after), "");

  const auto overlapping = backtest::seen_by_model(last_manifest, m, "hand-built", 99, 199);
  EXPECT_EQ(overlapping.trained_bars, 50u);
  const auto warning = backtest::seen_by_model_warning(overlapping);
  EXPECT_EQ(warning.rfind("IN-SAMPLE: 50 of the 100 bars are in the model's training window (2020-01-02 .. ", 0), 0u)
      << warning;
  EXPECT_EQ(warning.find("same dates"), std::string::npos) << "the same source";
  EXPECT_NE(backtest::seen_by_model_warning(backtest::seen_by_model(last_manifest, m, "other", 99, 199))
                .find("the model trained on hand-built, this reads other"),
            std::string::npos);

  const auto chosen = backtest::seen_by_model(best_manifest, m, "hand-built", 149, 199);
  EXPECT_EQ(chosen.trained_bars, 0u);
  EXPECT_EQ(chosen.selection_bars, 50u);
  EXPECT_NE(backtest::seen_by_model_warning(chosen).find("50 of the 50 bars chose this model"), std::string::npos);

  auto old = nlohmann::json::parse(last_manifest);  // models from before the windows were recorded
  old.erase("training_window");
  old.erase("selection_window");
  const auto unknown = backtest::seen_by_model(old.dump(), m, "hand-built", 99, 199);
  EXPECT_FALSE(unknown.known);
  EXPECT_EQ(backtest::seen_by_model_warning(unknown), "");
  std::filesystem::remove(req.output);
  std::filesystem::remove(best);
}

TEST(Backtest, TheDaysWindowCountsSessionsNotBars) {
  auto daily = test::flat_market(1, 30);
  daily.first_bar = 5;
  EXPECT_EQ(backtest::last_sessions(daily, 10), (std::pair<std::size_t, std::size_t>{19, 29}));
  EXPECT_EQ(backtest::last_sessions(daily, 100), (std::pair<std::size_t, std::size_t>{5, 29})) << "all there is";
  // Three sessions of seven hourly bars: --days 1 is the last session's bars, decided from the
  // close of the session before.
  auto hourly = test::flat_market(1, 21);
  for (std::size_t t = 0; t < 21; ++t)
    hourly.new_york_day[t] = Day{std::chrono::year{2024} / 3 / 4} + std::chrono::days{static_cast<int>(t / 7)};
  EXPECT_EQ(backtest::last_sessions(hourly, 1), (std::pair<std::size_t, std::size_t>{13, 20}));
  EXPECT_EQ(backtest::last_sessions(hourly, 2), (std::pair<std::size_t, std::size_t>{6, 20}));
  EXPECT_EQ(backtest::last_sessions(hourly, 3), (std::pair<std::size_t, std::size_t>{0, 20}));
}

TEST(Backtest, FourHourBarsAnnualiseAtTwoBarsASession) {
  // Each synthetic session as its two regular-session 4h bars. Annualising once took every
  // intraday market as hourly (7 bars a session): a 4h Sharpe 1.9x too high, and --days 10 was 10 bars.
  data::SyntheticOptions o;
  o.tickers = {"AAA", "BBB"};
  o.sessions = 400;
  std::vector<data::BarSeries> four_hour;
  for (const auto& daily : data::generate_synthetic(o)) {
    data::BarSeries s;
    s.ticker = daily.ticker;
    s.timeframe = data::Timeframe::k4h;
    for (std::size_t i = 0; i < daily.size(); ++i) {
      const double mid = 0.5 * (daily.open[i] + daily.close[i]);
      s.push_back({daily.time[i] + std::chrono::hours{15}, daily.open[i], daily.high[i], daily.low[i], mid,
                   daily.volume[i] / 2});
      s.push_back({daily.time[i] + std::chrono::hours{18}, mid, daily.high[i], daily.low[i], daily.close[i],
                   daily.volume[i] / 2});
    }
    four_hour.push_back(std::move(s));
  }
  const auto market = std::make_shared<const env::MarketData>(
      env::build_market(data::build_panel(four_hour), features::FeatureEngine("v2"), 10.0));
  EXPECT_EQ(market->bars_per_session, 2);
  EXPECT_EQ(backtest::periods_per_year(*market), 504.0);
  const auto [first, last] = backtest::last_sessions(*market, 10);
  EXPECT_EQ(last - first, 20u);
  const auto buy = [](std::span<const float>, std::span<std::int32_t> a) { std::fill(a.begin(), a.end(), env::kBuy); };
  const auto r = backtest::run_backtest(market, env::EnvConfig{}, first, last, buy, 1);
  const auto& equity = r.agent.equity;
  ASSERT_EQ(equity.size(), 21u);
  const double years = 20.0 / 504.0;
  EXPECT_NEAR(r.agent.metrics.annual_return, std::pow(equity.back() / equity.front(), 1 / years) - 1, 1e-9);
}
