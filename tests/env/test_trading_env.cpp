#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "market_fixture.hpp"
#include "ploutos/config/config.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"
#include "ploutos/data/panel.hpp"
#include "ploutos/data/synthetic.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/env/trading_env.hpp"
#include "ploutos/env/vec_env.hpp"
#include "ploutos/features/engine.hpp"

using namespace ploutos;
using namespace ploutos::env;
using ploutos::test::flat_market;
using ploutos::test::set_bar;

namespace {

std::shared_ptr<const MarketData> synthetic_market(std::size_t tickers = 3, int sessions = 1200) {
  data::SyntheticOptions o;
  o.tickers.clear();
  for (std::size_t k = 0; k < tickers; ++k) o.tickers.push_back(std::string(1, 'S').append(std::to_string(k)));
  o.sessions = sessions;
  const auto panel = data::build_panel(data::generate_synthetic(o));
  return std::make_shared<const MarketData>(build_market(panel, features::FeatureEngine("v2"), 10.0));
}

EnvConfig backtest_config() {
  EnvConfig c;
  c.mode = Mode::kBacktest;
  c.min_holding_period = 0;
  return c;
}

struct Runner {
  TradingEnv env;
  std::vector<float> obs;
  bool terminated = false, truncated = false;
  Runner(std::shared_ptr<const MarketData> m, EnvConfig c) : env(std::move(m), std::move(c)), obs(env.obs_dim()) {
    env.reset(1, obs);
  }
  float step(std::vector<std::int32_t> actions) { return env.step(actions, obs, terminated, truncated); }
};

}  // namespace

TEST(TradingEnv, ObservationLayoutIsFeaturesThenPortfolio) {
  auto m = std::make_shared<const MarketData>(flat_market(4, 50));
  Runner r(m, backtest_config());
  EXPECT_EQ(r.env.obs_dim(), 4u * 3 + 4 + 3);
  EXPECT_FLOAT_EQ(r.obs[0], 0.0f);       // feature 0 of ticker 0 at bar 0
  EXPECT_FLOAT_EQ(r.obs[12 + 4], 1.0f);  // cash / equity
  EXPECT_FLOAT_EQ(r.obs[12 + 5], 0.0f);  // total return
  EXPECT_FLOAT_EQ(r.obs[12 + 6], 0.0f);  // drawdown
  r.step({kHold, kHold, kHold, kHold});
  EXPECT_FLOAT_EQ(r.obs[0], 0.001f);  // bar 1
}

TEST(TradingEnv, HoldOnlyEpisodeLeavesCashAndEquityUnchanged) {
  auto market = synthetic_market();
  EnvConfig c;
  c.max_steps = 300;
  Runner r(market, c);
  int steps = 0;
  while (!r.terminated && !r.truncated) {
    EXPECT_EQ(r.step({kHold, kHold, kHold}), 0.0f);
    EXPECT_EQ(r.env.info().equity, c.initial_balance);
    EXPECT_EQ(r.env.cash(), c.initial_balance);
    ++steps;
  }
  EXPECT_EQ(steps, 300);
}

TEST(TradingEnv, RoundTripLosesExactlyTheModelledCosts) {
  for (const char* model : {"standard", "seed"}) {
    auto m = std::make_shared<const MarketData>(flat_market(1, 20, 100.0));
    EnvConfig c = backtest_config();
    c.costs.model = model;
    Runner r(m, c);
    r.step({kBuy});
    const double quantity = r.env.position_quantity(0);
    EXPECT_NEAR(quantity, 20000.0 / 102.0, 1e-9);
    r.step({kHold});
    r.step({kSell});
    EXPECT_EQ(r.env.position_quantity(0), 0.0);
    const costs::CostModel cost(c.costs);
    const costs::MarketContext ctx{0.01, 1e6, 1e6};
    const double expected =
        cost.fill(costs::Side::kBuy, 100, quantity, ctx).cost + cost.fill(costs::Side::kSell, 100, quantity, ctx).cost;
    EXPECT_NEAR(c.initial_balance - r.env.info().equity, expected, 1e-7) << model;
    EXPECT_GT(expected, 0.0);
  }
}

TEST(TradingEnv, DecisionsFillAtTheNextOpenUnlessSameBarIsAsked) {
  auto flat = flat_market(1, 10, 100.0);
  set_bar(flat, 0, 0, 100, 100, 100, 100);
  set_bar(flat, 1, 0, 110, 111, 109, 110);  // the next bar opens higher
  auto m = std::make_shared<const MarketData>(flat);
  EnvConfig c = backtest_config();
  c.costs.slippage_model = "none";
  c.costs.spread_bps = 0;
  c.costs.sec_fee = c.costs.finra_taf = 0;
  c.costs.impact_coefficient = 0;
  Runner next(m, c);
  next.step({kBuy});
  EXPECT_NEAR(next.env.cash(), 100000 - next.env.position_quantity(0) * 110, 1e-6);
  c.fill_at_close = true;
  Runner same(m, c);
  same.step({kBuy});
  EXPECT_NEAR(same.env.cash(), 100000 - same.env.position_quantity(0) * 100, 1e-6);
}

TEST(TradingEnv, SameSeedSameTrajectoryDifferentEnvsDifferentEpisodes) {
  auto market = synthetic_market(3, 1500);
  EnvConfig c;
  c.max_steps = 1000;
  auto run = [&](std::uint64_t seed) {
    VecEnv vec(market, c, 4, seed);
    Rng actions_rng(99);
    std::vector<std::int32_t> actions(4 * 3);
    std::vector<float> trace(vec.observations().begin(), vec.observations().end());
    for (int s = 0; s < 400; ++s) {
      for (auto& a : actions) a = static_cast<std::int32_t>(actions_rng.uniform_int(std::uint64_t{3}));
      vec.step(actions);
      trace.insert(trace.end(), vec.observations().begin(), vec.observations().end());
      trace.insert(trace.end(), vec.rewards().begin(), vec.rewards().end());
    }
    return trace;
  };
  const auto a = run(7), b = run(7), c2 = run(8);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.data(), c2.data(), a.size() * sizeof(float)), 0);
  VecEnv vec(market, c, 4, 7);
  std::set<std::size_t> starts;
  for (std::size_t i = 0; i < 4; ++i) starts.insert(vec.env(i).bar());
  EXPECT_GT(starts.size(), 1u);
}

TEST(TradingEnv, ThreadedVecEnvMatchesSingleThreaded) {
  auto market = synthetic_market(3, 1500);
  EnvConfig c;
  c.max_steps = 200;
  VecEnv one(market, c, 6, 3, 1), three(market, c, 6, 3, 3);
  Rng rng(4);
  std::vector<std::int32_t> actions(6 * 3);
  for (int s = 0; s < 500; ++s) {
    for (auto& a : actions) a = static_cast<std::int32_t>(rng.uniform_int(std::uint64_t{3}));
    one.step(actions);
    three.step(actions);
    ASSERT_EQ(std::memcmp(one.observations().data(), three.observations().data(), one.observations().size_bytes()), 0)
        << s;
    ASSERT_EQ(std::memcmp(one.rewards().data(), three.rewards().data(), one.rewards().size_bytes()), 0);
  }
}

// A checkpoint's episodes continue in a VecEnv built afresh (another seed, so nothing but the
// restored state can make them agree): every observation, reward, fill and trade as if unbroken.
// Kelly sizing, stops, latency draws, a daily trade limit and recorded fills put every part of the
// state to use.
TEST(TradingEnv, ARestoredVecEnvContinuesItsEpisodesExactly) {
  auto market = synthetic_market(3, 1500);
  EnvConfig c;
  c.max_steps = 300;
  c.min_holding_period = 0;
  c.sizing = EnvConfig::Sizing::kKelly;
  c.stop_loss_pct = 0.02;
  c.trailing_stop_pct = 0.03;
  c.costs.latency_sd = 0.0002;
  c.record_fills = true;
  c.seed_day_counter = true;  // days of 78 steps, so the daily trade limit carries across steps
  c.max_trades_per_day = 3;
  VecEnv original(market, c, 4, 11);
  Rng rng(5);
  std::vector<std::int32_t> actions(4 * 3);
  auto random_actions = [&] {
    for (auto& a : actions) a = static_cast<std::int32_t>(rng.uniform_int(std::uint64_t{3}));
  };
  for (int s = 0; s < 170; ++s) {
    random_actions();
    original.step(actions);
  }
  const std::string state = original.save_state();
  VecEnv restored(market, c, 4, 12);
  restored.restore_state(state, "test");
  EXPECT_EQ(restored.save_state(), state);
  int fills = 0, episodes_ended = 0;
  for (int s = 0; s < 400; ++s) {
    random_actions();
    original.step(actions);
    restored.step(actions);
    ASSERT_EQ(std::memcmp(original.observations().data(), restored.observations().data(),
                          original.observations().size_bytes()),
              0)
        << s;
    ASSERT_EQ(std::memcmp(original.rewards().data(), restored.rewards().data(), original.rewards().size_bytes()), 0)
        << s;
    for (std::size_t i = 0; i < 4; ++i) {
      ASSERT_EQ(original.terminated()[i], restored.terminated()[i]);
      ASSERT_EQ(original.truncated()[i], restored.truncated()[i]);
      episodes_ended += original.terminated()[i] || original.truncated()[i];
      if (original.terminated()[i] || original.truncated()[i]) {
        ASSERT_EQ(original.episode_reward(i), restored.episode_reward(i));
      }
      fills += original.env(i).info().fills;
    }
  }
  EXPECT_GT(fills, 50);
  EXPECT_GT(episodes_ended, 0);
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(original.env(i).fills().size(), restored.env(i).fills().size());
    for (std::size_t f = 0; f < original.env(i).fills().size(); ++f) {
      EXPECT_EQ(original.env(i).fills()[f].price, restored.env(i).fills()[f].price);
      EXPECT_STREQ(original.env(i).fills()[f].reason, restored.env(i).fills()[f].reason);
    }
    EXPECT_EQ(original.env(i).equity_curve(), restored.env(i).equity_curve());
  }
  EXPECT_EQ(restored.save_state(), original.save_state());
}

TEST(TradingEnv, AnEnvironmentStateThatDoesNotFitIsRefused) {
  auto market = synthetic_market(3, 1500);
  const EnvConfig c;
  const VecEnv four(market, c, 4, 1);
  const std::string state = four.save_state();
  VecEnv three(market, c, 3, 1);
  auto refusal = [&](std::string_view bytes) {
    try {
      three.restore_state(bytes, "x.pt: episodes_env_state");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal(state).find("x.pt: episodes_env_state: 4 envs of"), std::string::npos) << refusal(state);
  VecEnv other_four(market, c, 4, 2);
  EXPECT_NO_THROW(other_four.restore_state(state, "x"));
  EXPECT_THROW(other_four.restore_state(std::string_view(state).substr(0, state.size() - 1), "x"), InputError);
  EXPECT_THROW(other_four.restore_state(state + "?", "x"), InputError);
  EXPECT_NE(refusal("not a state at all").find("x.pt: episodes_env_state: "), std::string::npos);
  auto small = std::make_shared<const MarketData>(flat_market(3, 50, 100.0, market->n_features));
  VecEnv on_a_shorter_market(small, c, 4, 1);
  EXPECT_THROW(on_a_shorter_market.restore_state(state, "x"), InputError) << "bars beyond the market";
}

TEST(TradingEnv, ChangingBarsAfterTLeavesObservationsAndFillsUpToTUnchanged) {
  auto base = synthetic_market(3, 800);
  const std::size_t cut = base->first_bar + 150;
  MarketData changed = *base;
  Rng noise(5);
  for (std::size_t t = cut + 1; t < changed.n_bars; ++t) {
    for (std::size_t k = 0; k < changed.n_tickers; ++k) {
      const double f = noise.uniform(0.5, 2.0);
      const std::size_t i = changed.at(t, k);
      changed.open[i] *= f;
      changed.high[i] *= f * 1.1;
      changed.low[i] *= f * 0.9;
      changed.close[i] *= f;
      changed.volume[i] *= 3;
      changed.volatility[i] *= 4;
      changed.adv[i] *= 0.1;
    }
    for (std::size_t j = 0; j < changed.n_tickers * changed.n_features; ++j)
      changed.features[t * changed.n_tickers * changed.n_features + j] = 7.0f;
  }
  EnvConfig c = backtest_config();
  c.stop_loss_pct = 0.03;
  c.take_profit_pct = 0.05;
  Runner a(base, c), b(std::make_shared<const MarketData>(changed), c);
  Rng actions(11);
  while (a.env.bar() < cut) {
    std::vector<std::int32_t> act(3);
    for (auto& x : act) x = static_cast<std::int32_t>(actions.uniform_int(std::uint64_t{3}));
    const float ra = a.step(act), rb = b.step(act);
    ASSERT_EQ(ra, rb);
    ASSERT_EQ(a.obs, b.obs) << "observation at bar " << a.env.bar();
    ASSERT_EQ(a.env.cash(), b.env.cash());
    for (std::size_t k = 0; k < 3; ++k) ASSERT_EQ(a.env.position_quantity(k), b.env.position_quantity(k));
  }
  EXPECT_EQ(a.env.bar(), cut);
}

TEST(TradingEnv, StopGappedThroughFillsAtTheOpen) {
  auto flat = flat_market(1, 10, 100.0);
  set_bar(flat, 3, 0, 90, 92, 88, 91);  // gaps below a 5% stop
  auto m = std::make_shared<const MarketData>(flat);
  EnvConfig c = backtest_config();
  c.stop_loss_pct = 0.05;
  c.costs.slippage_model = "none";
  c.costs.spread_bps = 0;
  c.costs.sec_fee = c.costs.finra_taf = 0;
  c.costs.impact_coefficient = 0;
  Runner r(m, c);
  r.step({kBuy});  // fills at the open of bar 1 (100)
  const double q = r.env.position_quantity(0);
  r.step({kHold});  // bar 2
  r.step({kHold});  // bar 3: stop hit through a gap
  EXPECT_EQ(r.env.info().stop_exits, 1);
  EXPECT_EQ(r.env.position_quantity(0), 0.0);
  EXPECT_NEAR(r.env.cash(), 100000 - q * 100 + q * 90, 1e-6);
}

TEST(TradingEnv, RewardTermsFollowTheirFormulas) {
  EnvConfig c = backtest_config();
  c.costs.slippage_model = "none";
  c.costs.spread_bps = 0;
  c.costs.sec_fee = c.costs.finra_taf = 0;
  c.costs.impact_coefficient = 0;
  // Overtrading: three non-HOLD actions (invalid sells) cost 0.005 each, times the 1.5 scaling.
  {
    Runner r(std::make_shared<const MarketData>(flat_market(3, 10)), c);
    EXPECT_FLOAT_EQ(r.step({kSell, kSell, kSell}), static_cast<float>(1.5 * (-0.005 * 3)));
    EXPECT_EQ(r.env.info().invalid_actions, 3);
    EXPECT_FLOAT_EQ(r.step({kSell, kSell, kHold}), 0.0f);  // two actions are free
  }
  // Step return, good-return bonus and drawdown penalty on a held position.
  {
    auto flat = flat_market(1, 10, 100.0);
    for (std::size_t t = 2; t < 10; ++t) set_bar(flat, t, 0, 100, 100, 100, 100);
    set_bar(flat, 2, 0, 100, 120, 100, 120);  // +20% close on bar 2
    set_bar(flat, 3, 0, 120, 120, 30, 30);    // crash on bar 3
    Runner r(std::make_shared<const MarketData>(flat), c);
    r.step({kBuy});  // holds q shares from the open of bar 1
    const double q = r.env.position_quantity(0);
    const double e1 = r.env.info().equity;
    const float up = r.step({kHold});
    const double e2 = e1 + q * 20;
    const double ret2 = e2 / e1 - 1;
    EXPECT_NEAR(up, 1.5 * (100 * ret2 + 0.3), 1e-5);
    const float down = r.step({kHold});
    const double e3 = e2 - q * 90;
    const double dd = 1 - e3 / e2;
    ASSERT_GT(dd, 0.15);
    EXPECT_NEAR(down, std::max(-10.0, 1.5 * (100 * (e3 / e2 - 1) - dd * 3.0)), 1e-5);
    EXPECT_FLOAT_EQ(down, -10.0f);  // and that is clipped
  }
  // Win-rate bonus: more than 10 sells with a win rate above 60%.
  {
    auto rising = flat_market(1, 40, 100.0);
    for (std::size_t t = 0; t < 40; ++t) {
      const double p = 100 * std::pow(1.01, static_cast<double>(t));
      set_bar(rising, t, 0, p, p, p, p);
    }
    EnvConfig cw = c;
    cw.good_return_threshold = 1.0;  // keep the return bonus out of this case
    Runner r(std::make_shared<const MarketData>(rising), cw);
    for (int i = 0; i < 11; ++i) {
      r.step({kBuy});
      r.step({kSell});
    }
    const float flat_step = r.step({kHold});  // no position: step return 0
    EXPECT_FLOAT_EQ(flat_step, static_cast<float>(1.5 * 0.2));
  }
  // Per-trade terms only when enabled.
  {
    EnvConfig ct = c;
    ct.use_trade_rewards = true;
    Runner r(std::make_shared<const MarketData>(flat_market(1, 10)), ct);
    EXPECT_FLOAT_EQ(r.step({kSell}), static_cast<float>(1.5 * -0.01));
  }
}

TEST(TradingEnv, BankruptcyEndsTheEpisode) {
  auto flat = flat_market(1, 10, 100.0);
  for (std::size_t t = 2; t < 10; ++t) set_bar(flat, t, 0, 1, 1, 1, 1);
  EnvConfig c = backtest_config();
  c.buy_pct = 1.0;
  c.max_position_pct = 1.0;
  Runner r(std::make_shared<const MarketData>(flat), c);
  r.step({kBuy});
  r.step({kHold});
  EXPECT_TRUE(r.terminated);
}

TEST(TradingEnv, SizingCapsAndBreakers) {
  EnvConfig c = backtest_config();
  c.max_gross_exposure = 0.3;
  {
    Runner r(std::make_shared<const MarketData>(flat_market(2, 10, 100.0)), c);
    r.step({kBuy, kHold});
    const double first = r.env.position_quantity(0) * 100;
    r.step({kHold, kBuy});
    const double second = r.env.position_quantity(1) * 100;
    EXPECT_NEAR(first, 20000.0 / 1.02, 1e-6);
    EXPECT_LT(second, 0.3 * r.env.info().equity - first + 1e-6);  // the gross cap, not buy_pct
    EXPECT_GT(second, 0.0);
  }
  {
    EnvConfig cv = backtest_config();
    cv.sizing = EnvConfig::Sizing::kVolTarget;
    cv.vol_target = 0.02;
    auto flat = flat_market(1, 10, 100.0);  // daily volatility 0.01 -> 15.9% a year
    Runner r(std::make_shared<const MarketData>(flat), cv);
    r.step({kBuy});
    const double weight = 0.02 / (0.01 * std::sqrt(252.0));  // 12.6%, below the 25% position cap
    EXPECT_NEAR(r.env.position_quantity(0) * 100 * 1.02, 100000 * weight, 1e-6);
  }
  {
    EnvConfig cb = backtest_config();
    cb.breaker_max_drawdown = 0.1;
    auto flat = flat_market(2, 10, 100.0);
    for (std::size_t t = 2; t < 10; ++t) set_bar(flat, t, 0, 40, 40, 40, 40);  // ticker 0 collapses
    cb.buy_pct = 1.0;
    cb.max_position_pct = 1.0;
    cb.bankruptcy_fraction = 0.0;
    Runner r(std::make_shared<const MarketData>(flat), cb);
    r.step({kBuy, kHold});
    r.step({kHold, kHold});  // -60% on the position: the drawdown breaker trips
    r.step({kHold, kBuy});
    EXPECT_EQ(r.env.position_quantity(1), 0.0);
    EXPECT_EQ(r.env.info().invalid_actions, 1);
  }
}

TEST(TradingEnv, BuiltFromTheShippedConfigs) {
  const auto config = config::load_config_file(std::filesystem::path(PLOUTOS_SOURCE_DIR) / "config" /
                                               "training_config_v6_better_timing.yaml");
  const EnvConfig c = env_config_from(config, Mode::kTrain);
  EXPECT_EQ(c.max_steps, 2500);
  EXPECT_DOUBLE_EQ(c.reward_scaling, 1.5);
  EXPECT_EQ(c.costs.model, "seed");
  EXPECT_DOUBLE_EQ(c.costs.seed_impact_factor, 0.0001);
  EXPECT_FALSE(c.fill_at_close);
  EXPECT_EQ(c.breaker_max_drawdown, 0.0);
  auto seed_like = config;
  seed_like.environment.fill = "close";
  TradingEnv e(synthetic_market(), env_config_from(seed_like, Mode::kEval));
  EXPECT_TRUE(e.optimistic());
}
