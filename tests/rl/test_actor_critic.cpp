// The hand-written passes of src/rl/actor_critic.cpp against LibTorch autograd: the same loss, the
// same gradient for every parameter, the same forward outputs, for every activation and option.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <optional>

#include "rl/actor_critic.hpp"
#include "rl/adam.hpp"
#include "rl/worker_pool.hpp"

using namespace ploutos;
using namespace ploutos::rl;

namespace {

constexpr std::int64_t kObs = 13, kTickers = 4, kRows = 96;

ActorCritic make_net(const std::string& activation, const std::vector<int>& layers,
                     const std::optional<std::vector<int>>& critic_layers = std::nullopt) {
  torch::manual_seed(11);
  ActorCritic net(kObs, kTickers, config::NetArch{layers, critic_layers.value_or(layers)}, activation, true);
  torch::NoGradGuard no_grad;
  // Orthogonal init zeroes the biases and shrinks the action head; spread everything so that each
  // part of the gradient is far from zero.
  for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.3);
  return net;
}

PpoMinibatch make_minibatch(ActorCritic& net, std::int64_t rows = kRows) {
  torch::NoGradGuard no_grad;
  PpoMinibatch mb;
  mb.obs = torch::randn({rows, kObs});
  mb.actions = torch::randint(0, 3, {rows, kTickers}, torch::kInt64);
  const auto log_probs = torch::log_softmax(net->logits(mb.obs), -1);
  const auto logp = log_probs.gather(-1, mb.actions.unsqueeze(-1)).squeeze(-1).sum(-1);
  mb.old_log_prob = logp + 0.3 * torch::randn({rows});  // ratios inside and outside the clip range
  mb.advantages = torch::randn({rows}) * 2 + 0.5;
  mb.returns = torch::randn({rows});
  mb.old_values = net->forward_value(mb.obs) + 0.3 * torch::randn({rows});
  return mb;
}

struct Case {
  std::string activation;
  std::vector<int> layers;
  bool clip_vf;
  bool normalize_advantage;
  int parts = 1;                                                 // threads of the data-parallel passes
  std::optional<std::vector<int>> critic_layers = std::nullopt;  // else the actor's
};

void expect_same_gradients(const Case& c) {
  SCOPED_TRACE(c.activation + " layers " + std::to_string(c.layers.size()) + (c.clip_vf ? " clip_vf" : "") +
               (c.normalize_advantage ? " norm_adv" : "") + " parts " + std::to_string(c.parts));
  auto net = make_net(c.activation, c.layers, c.critic_layers);
  const auto mb = make_minibatch(net);
  PpoLossSettings s;
  s.clip_range = 0.2;
  if (c.clip_vf) s.clip_range_vf = 0.2;
  s.ent_coef = 0.05;
  s.vf_coef = 0.5;
  s.normalize_advantage = c.normalize_advantage;

  torch::Tensor loss;
  const auto ref = autograd_ppo_loss(net, mb, s, &loss);
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  loss.backward();
  std::vector<torch::Tensor> expected;
  for (const auto& p : net->parameters()) expected.push_back(p.grad().clone());

  WorkerPool pool(c.parts);
  PpoGradients manual(net, kRows, pool);
  const auto got = manual.compute(mb, s);
  manual.sum_gradients();

  // Both branches of the clipped objective are exercised, else the test proves less than it says.
  ASSERT_GT(ref.clip_fraction, 0.1);
  ASSERT_LT(ref.clip_fraction, 0.9);
  if (c.clip_vf) {
    const auto moved = (net->forward_value(mb.obs) - mb.old_values).abs().gt(0.2).to(torch::kFloat32).mean();
    ASSERT_GT(moved.item<double>(), 0.1);
  }
  EXPECT_NEAR(got.loss, ref.loss, 1e-5 * (1 + std::abs(ref.loss)));
  EXPECT_NEAR(got.policy_loss, ref.policy_loss, 1e-5 * (1 + std::abs(ref.policy_loss)));
  EXPECT_NEAR(got.value_loss, ref.value_loss, 1e-5 * (1 + std::abs(ref.value_loss)));
  EXPECT_NEAR(got.entropy, ref.entropy, 1e-5 * (1 + std::abs(ref.entropy)));
  EXPECT_NEAR(got.approx_kl, ref.approx_kl, 1e-5);
  EXPECT_NEAR(got.clip_fraction, ref.clip_fraction, 1e-6);  // the reference averages in float

  const auto params = net->named_parameters();
  ASSERT_EQ(params.size(), expected.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& name = params[i].key();
    const auto g = params[i].value().grad();
    const double scale = expected[i].abs().max().item<double>();
    ASSERT_GT(scale, 1e-6) << name << ": the reference gradient is zero";
    const double diff = (g - expected[i]).abs().max().item<double>();
    EXPECT_LE(diff, 2e-4 * scale + 1e-7) << name << ": max |manual - autograd| " << diff << " of " << scale;
  }
}

}  // namespace

TEST(ActorCritic, HandWrittenGradientsEqualAutogradForEveryActivation) {
  for (const auto* act : {"tanh", "relu", "elu", "leaky_relu"}) expect_same_gradients({act, {16, 8}, false, true});
}

TEST(ActorCritic, HandWrittenGradientsEqualAutogradWithValueClippingAndRawAdvantages) {
  expect_same_gradients({"tanh", {16, 8}, true, true});
  expect_same_gradients({"tanh", {16, 8}, false, false});
  expect_same_gradients({"relu", {12}, true, false});
}

TEST(ActorCritic, HandWrittenGradientsEqualAutogradWithoutHiddenLayers) {
  expect_same_gradients({"tanh", {}, false, true});
}

// net_arch may give the actor and the critic different shapes (SB3's dict form), one of them
// without hidden layers.
TEST(ActorCritic, HandWrittenGradientsEqualAutogradForDifferentActorAndCriticShapes) {
  expect_same_gradients({"tanh", {16, 8}, false, true, 1, std::vector<int>{12}});
  expect_same_gradients({"relu", {10}, true, true, 2, std::vector<int>{7, 5, 3}});
  expect_same_gradients({"tanh", {16, 8}, false, true, 2, std::vector<int>{}});
  expect_same_gradients({"elu", {}, false, true, 3, std::vector<int>{9}});
}

TEST(ActorCritic, DataParallelPartsSumToTheSameGradients) {
  expect_same_gradients({"tanh", {16, 8}, false, true, 2});
  expect_same_gradients({"elu", {16, 8}, true, true, 3});
}

TEST(ActorCritic, DataParallelGradientsAreTheSameOnEveryRun) {
  auto net = make_net("tanh", {16, 8});
  const auto mb = make_minibatch(net);
  WorkerPool pool(2);
  PpoGradients manual(net, kRows, pool);
  std::vector<torch::Tensor> first;
  for (int run = 0; run < 5; ++run) {
    manual.compute(mb, PpoLossSettings{});
    manual.sum_gradients();
    for (std::size_t i = 0; i < net->parameters().size(); ++i) {
      const auto g = net->parameters()[i].grad();
      if (run == 0) {
        first.push_back(g.clone());
      } else {
        EXPECT_TRUE(torch::equal(g, first[i])) << "parameter " << i << " run " << run;
      }
    }
  }
}

TEST(ActorCritic, GatheringRowsByIndexGivesTheSameGradientsAsAGatheredMinibatch) {
  auto net = make_net("tanh", {16, 8});
  const auto mb = make_minibatch(net);
  // The minibatch's rows scattered through a larger buffer, found again by index.
  const auto index = torch::randperm(3 * kRows, torch::kInt64).slice(0, 0, kRows);
  auto whole = torch::randn({3 * kRows, kObs});
  whole.index_copy_(0, index, mb.obs);
  PpoMinibatch by_index = mb;
  by_index.obs = whole;
  by_index.obs_index = index;
  WorkerPool pool(2);
  PpoGradients manual(net, kRows, pool);
  const auto direct = manual.compute(mb, PpoLossSettings{});
  manual.sum_gradients();
  std::vector<torch::Tensor> expected;
  for (const auto& p : net->parameters()) expected.push_back(p.grad().clone());
  const auto gathered = manual.compute(by_index, PpoLossSettings{});
  manual.sum_gradients();
  EXPECT_EQ(direct.loss, gathered.loss);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::equal(net->parameters()[i].grad(), expected[i])) << "parameter " << i;
  }
}

// Rows gathered ahead while a thread waits are the next call's rows only when that call asks for
// exactly them; any other minibatch is gathered afresh.
TEST(ActorCritic, RowsGatheredAheadGiveTheSameGradientsAsRowsGatheredInThePass) {
  auto net = make_net("tanh", {16, 8});
  constexpr std::int64_t kMany = 700;  // several chunks of rows a thread
  const auto mb = make_minibatch(net, kMany);
  auto whole = torch::randn({4 * kMany, kObs});
  const auto perm = torch::randperm(4 * kMany, torch::kInt64);
  const auto batch_at = [&](std::int64_t k) {
    PpoMinibatch b = mb;
    b.obs = whole;
    b.obs_index = perm.slice(0, k * kMany, (k + 1) * kMany);
    return b;
  };
  const auto grads = [&] {
    std::vector<torch::Tensor> g;
    for (const auto& p : net->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  for (const int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    WorkerPool pool(threads);
    PpoGradients fresh(net, kMany, pool), ahead(net, kMany, pool);
    // Minibatch 0 gathers ahead for 1; then 1 (uses them) gathers ahead for 2, but 3 comes instead
    // and gathers ahead for 2 again; then the observations change (a new rollout), the rows gathered
    // ahead are discarded, and 2 is asked.
    const std::vector<std::pair<std::int64_t, std::int64_t>> calls{{0, 1}, {1, 2}, {3, 2}, {2, -1}};
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const auto [k, next] = calls[i];
      SCOPED_TRACE(k);
      if (i == 3) whole.mul_(1.5);
      fresh.compute(batch_at(k), PpoLossSettings{});
      fresh.sum_gradients();
      const auto expected = grads();
      if (i == 3) ahead.discard_gathered_ahead();
      ahead.compute(batch_at(k), PpoLossSettings{}, next >= 0 ? batch_at(next).obs_index : torch::Tensor());
      ahead.sum_gradients();
      const auto got = grads();
      for (std::size_t p = 0; p < got.size(); ++p) EXPECT_TRUE(torch::equal(got[p], expected[p])) << "parameter " << p;
    }
  }
}

// rl::Adam (one pass, clipping folded in) against torch::optim::Adam after clip_grad_norm_.
TEST(ActorCritic, FusedAdamStepsAsLibTorchsAdamWithClipping) {
  for (const int parts : {1, 2}) {
    SCOPED_TRACE(parts);
    torch::manual_seed(5);
    std::vector<torch::Tensor> ours, theirs;
    for (const auto& shape : std::vector<std::vector<std::int64_t>>{{33, 17}, {17}, {5, 40}}) {
      ours.push_back(torch::randn(shape));
      theirs.push_back(ours.back().clone().set_requires_grad(true));
    }
    WorkerPool pool(parts);
    Adam adam(ours, 3e-3, 1e-5, pool);
    torch::optim::Adam reference(theirs, torch::optim::AdamOptions(3e-3).eps(1e-5));
    for (int step = 0; step < 6; ++step) {
      // Large gradients on even steps (clipped), small ones on odd steps (not clipped).
      const double size = step % 2 == 0 ? 5.0 : 0.01;
      for (std::size_t i = 0; i < ours.size(); ++i) {
        const auto g = torch::randn_like(ours[i]) * size;
        ours[i].mutable_grad() = g.clone();
        theirs[i].mutable_grad() = g.clone();
      }
      const double norm = adam.step(0.5);
      const double expected_norm = torch::nn::utils::clip_grad_norm_(theirs, 0.5);
      EXPECT_NEAR(norm, expected_norm, 1e-5 * expected_norm);
      reference.step();
    }
    EXPECT_EQ(adam.steps(), 6);
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const double diff = (ours[i] - theirs[i].detach()).abs().max().item<double>();
      EXPECT_LE(diff, 1e-6) << "parameter " << i;
    }
    // The parameters moved: the comparison above is not between two untouched copies.
    EXPECT_GT((ours[0] - ours[0].clone().zero_()).abs().max().item<double>(), 0.0);
  }
}

TEST(ActorCritic, RunnerMatchesLibTorchForOneRowAndForMany) {
  for (const auto* act : {"tanh", "relu", "elu", "leaky_relu"}) {
    SCOPED_TRACE(act);
    auto net = make_net(act, {32, 16});
    torch::NoGradGuard no_grad;
    const auto obs = torch::randn({7, kObs});
    const auto expected_logits = net->logits(obs).reshape({7, kTickers * 3});
    const auto expected_values = net->forward_value(obs);
    const MlpView actor = actor_view(net), critic = critic_view(net);
    MlpRunner runner;
    const auto many = torch::from_blob(const_cast<float*>(runner.forward(actor, obs.data_ptr<float>(), 7)),
                                       {7, kTickers * 3}, torch::kFloat32)
                          .clone();
    EXPECT_LE((many - expected_logits).abs().max().item<double>(), 1e-5);
    WorkerPool pool(3);
    MlpRunner pooled(&pool, 0);  // split however small the network
    for (std::int64_t r = 0; r < 7; ++r) {
      const auto row = obs[r].contiguous();
      const auto one = torch::from_blob(const_cast<float*>(runner.forward(actor, row.data_ptr<float>(), 1)),
                                        {kTickers * 3}, torch::kFloat32);
      EXPECT_LE((one - expected_logits[r]).abs().max().item<double>(), 1e-5) << "row " << r;
      // Split between threads, a decision's rows come out bit for bit as on one thread.
      const auto split = torch::from_blob(const_cast<float*>(pooled.forward(actor, row.data_ptr<float>(), 1)),
                                          {kTickers * 3}, torch::kFloat32);
      EXPECT_TRUE(torch::equal(split, one)) << "row " << r;
      // Up to kDirectRows rows, a row of a batch (a rollout step) has the bits it has alone (a
      // decision), on one thread or split between three.
      EXPECT_TRUE(torch::equal(many[r], one)) << "row " << r;
      const float v = *runner.forward(critic, row.data_ptr<float>(), 1);
      EXPECT_NEAR(v, expected_values[r].item<float>(), 1e-5);
    }
    const auto split_many = torch::from_blob(const_cast<float*>(pooled.forward(actor, obs.data_ptr<float>(), 7)),
                                             {7, kTickers * 3}, torch::kFloat32);
    EXPECT_TRUE(torch::equal(split_many, many));
    // Past kDirectRows the runner multiplies matrices (GEMM): close to LibTorch, not bit for bit.
    const std::int64_t gemm_rows = MlpRunner::kDirectRows + 5;
    const auto tall = torch::randn({gemm_rows, kObs});
    const auto tall_logits =
        torch::from_blob(const_cast<float*>(runner.forward(actor, tall.data_ptr<float>(), gemm_rows)),
                         {gemm_rows, kTickers * 3}, torch::kFloat32);
    EXPECT_LE((tall_logits - net->logits(tall).reshape({gemm_rows, kTickers * 3})).abs().max().item<double>(), 1e-5);
  }
}

TEST(ActorCritic, Int8ActorIsCloseToFloat32AndTheSameOnAnyThreadCount) {
  for (const auto* act : {"tanh", "relu"}) {
    SCOPED_TRACE(act);
    auto net = make_net(act, {64, 48});
    torch::NoGradGuard no_grad;
    const auto obs = torch::randn({20, kObs});
    const auto expected = net->logits(obs).reshape({20, kTickers * 3});
    const MlpView actor = actor_view(net);
    const Int8Mlp int8 = quantize_int8(actor);
    ASSERT_EQ(int8.layers.size(), 3u);
    EXPECT_EQ(int8.layers[0].padded_in % kernels::kInt8ColumnAlign, 0);
    MlpRunner one;
    WorkerPool pool(3);
    MlpRunner three(&pool, 0);
    double worst = 0, spread = 0;
    for (std::int64_t r = 0; r < 20; ++r) {
      const auto row = obs[r].contiguous();
      const auto a = torch::from_blob(const_cast<float*>(one.forward_row(int8, row.data_ptr<float>())), {kTickers * 3},
                                      torch::kFloat32)
                         .clone();
      const auto b = torch::from_blob(const_cast<float*>(three.forward_row(int8, row.data_ptr<float>())),
                                      {kTickers * 3}, torch::kFloat32);
      EXPECT_TRUE(torch::equal(a, b)) << "row " << r;
      worst = std::max(worst, (a - expected[r]).abs().max().item<double>());
      spread = std::max(spread, expected[r].abs().max().item<double>());
    }
    // Eight-bit weights: within a few per cent of the logits' size, and not equal to float32
    // (the comparison is between two different computations).
    EXPECT_LE(worst, 0.03 * spread);
    EXPECT_GT(worst, 0.0);
  }
}
