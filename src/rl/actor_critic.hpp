#pragma once
// The actor-critic network and the PPO loss, private to the rl module (it includes LibTorch; no
// header outside src/rl does). LibTorch holds the parameters, initialises them and saves them; the
// passes that run them are written here by hand: every forward pass (rollout, update, evaluation,
// decisions) and the update's backward pass. Autograd builds a graph of ~40 tensors a minibatch,
// allocates each (pages faulted in, then handed back), and runs tanh and its derivative as
// separate ATen passes; those cost a quarter of the V6 update. Here the activations live in
// buffers allocated once, bias and activation are one pass after each GEMM, and the derivative is
// one pass before the next (docs/training.md, "Speed"). `autograd_ppo_loss` keeps LibTorch's
// version as the reference the hand-written gradients are tested against.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mlp_kernels.hpp"
#include "ploutos/config/config.hpp"

namespace ploutos::rl {

// LibTorch's layers initialise from its process-wide generator. Every network is built under this
// lock (the constructor takes it), so a training that seeds the generator, builds its network and
// takes the generator's state, all under the lock, gets the same weights and stream whatever else
// builds networks meanwhile (a model loaded for a backtest beside a training, say).
std::recursive_mutex& network_initialisation_mutex();

// Separate actor and critic MLPs (SB3's meaning of net_arch), a categorical head of 3 actions
// (HOLD, BUY, SELL) per ticker.
struct ActorCriticImpl : torch::nn::Module {
  ActorCriticImpl(std::int64_t obs_dim, std::int64_t tickers, const config::NetArch& arch,
                  const std::string& activation, bool ortho);
  // LibTorch's own forward passes (autograd): the reference for the hand-written ones.
  torch::Tensor logits(const torch::Tensor& obs) { return pi_head(pi_body->forward(obs)).view({-1, n_tickers, 3}); }
  torch::Tensor forward_value(const torch::Tensor& obs) { return vf_head(vf_body->forward(obs)).squeeze(-1); }

  std::int64_t n_tickers;
  kernels::Activation activation;
  torch::nn::Sequential pi_body{nullptr}, vf_body{nullptr};
  torch::nn::Linear pi_head{nullptr}, vf_head{nullptr};
};
TORCH_MODULE(ActorCritic);

// One MLP as the hand-written passes see it: hidden layers, then a linear head.
struct DenseLayer {
  torch::Tensor weight;  // [out, in], LibTorch's layout
  torch::Tensor bias;    // [out]
};
struct MlpView {
  std::vector<DenseLayer> hidden;
  DenseLayer head;
  kernels::Activation activation = kernels::Activation::kTanh;
  std::int64_t in = 0;
  std::int64_t out() const { return head.weight.size(0); }
};
MlpView actor_view(const ActorCritic& net);
MlpView critic_view(const ActorCritic& net);

// The actor for eight-bit decisions (DecisionPrecision::kInt8): each layer's weights as int8 with
// one scale per output row (largest |w| of the row / 127), rows zero-padded to
// kernels::kInt8ColumnAlign columns. A quarter of float32's bytes: the V6 actor is 2.9 MB instead
// of 11.7 MB, so each core's share of it stays in that core's L2 from one decision to the next.
struct Int8Layer {
  std::vector<std::int8_t> weight;  // [out x padded_in]
  std::vector<float> row_scale, bias;
  std::int64_t out = 0, in = 0, padded_in = 0;
};
struct Int8Mlp {
  std::vector<Int8Layer> layers;  // the hidden layers, then the head
  kernels::Activation activation = kernels::Activation::kTanh;
  std::int64_t in = 0;
};
Int8Mlp quantize_int8(const MlpView& net);

// Forward passes without gradients, through buffers kept between calls. Up to kDirectRows rows (a
// decision, a rollout step) run matrix-vector products whose rounding does not depend on anything
// else: a row has the same bits alone, in a batch, and on any number of threads. More rows (the
// critic over a whole rollout) run GEMMs.
class MlpRunner {
 public:
  static constexpr std::int64_t kDirectRows = 32;
  // With a pool, a pass of up to kDirectRows rows splits every layer's outputs between the pool's
  // threads (it reads all the weights once: the time is memory bandwidth and multiply-adds, and
  // each core brings its own) once it has split_multiply_adds multiply-adds or more; a smaller one
  // (quickstart's 64 x 64 network) runs on the calling thread, because handing it over and a
  // barrier a layer would cost more than the products. The bits are the same either way.
  static constexpr std::int64_t kSplitMultiplyAdds = std::int64_t{1} << 18;
  explicit MlpRunner(class WorkerPool* pool = nullptr, std::int64_t split_multiply_adds = kSplitMultiplyAdds)
      : pool_(pool), split_multiply_adds_(split_multiply_adds) {}
  // x: [rows x net.in], row-major. Returns the head's output [rows x net.out()], valid until the
  // next call.
  const float* forward(const MlpView& net, const float* x, std::int64_t rows);
  // One row through the eight-bit actor: each layer's input is quantised to int16 (one scale for
  // the vector), the products summed exactly in int32, then scaled, biased and activated in float.
  // The same bits on any number of threads.
  const float* forward_row(const Int8Mlp& net, const float* x);

 private:
  const float* forward_direct(const MlpView& net, const float* x, std::int64_t rows);
  // Runs `layers` layers of `work` multiply-adds in all, each layer's outputs split between the
  // pool's parts with a barrier between layers; layer(l, part, parts, in, out) computes its part of
  // layer l (`in` is null for the first layer) into buffers of buffer_size floats. Returns the last
  // layer's output.
  template <class Layer>
  const float* through_layers(std::size_t layers, std::int64_t buffer_size, std::int64_t work, const Layer& layer);
  WorkerPool* pool_;
  std::int64_t split_multiply_adds_;
  std::vector<float> row_a_, row_b_;
  std::vector<std::vector<std::int16_t>> quantized_;  // a quantised input per part
  torch::Tensor buf_a_, buf_b_, out_;
};

struct PpoMinibatch {
  // [B, obs_dim] float (normalised); or, with obs_index, the whole rollout [N, obs_dim] of which
  // row obs_index[b] is the minibatch's row b (each thread then gathers its own rows).
  torch::Tensor obs;
  torch::Tensor obs_index;     // [B] int64, optional
  torch::Tensor actions;       // [B, tickers] int64
  torch::Tensor old_log_prob;  // [B]
  torch::Tensor advantages;    // [B] (normalised here when the settings say so)
  torch::Tensor returns;       // [B]
  torch::Tensor old_values;    // [B]
};

struct PpoLossSettings {
  double clip_range = 0.2;
  std::optional<double> clip_range_vf;
  double ent_coef = 0.0;
  double vf_coef = 0.5;
  bool normalize_advantage = true;
};

struct PpoLossStats {
  double loss = 0, policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;
};

// SB3's PPO loss through LibTorch autograd. `loss_out`, when given, receives the loss tensor (call
// backward() on it for the reference gradients).
PpoLossStats autograd_ppo_loss(ActorCritic& net, const PpoMinibatch& mb, const PpoLossSettings& settings,
                               torch::Tensor* loss_out = nullptr);

// Where an update's time goes (seconds on the calling thread, accumulated since construction).
struct PassTimes {
  double gemm = 0;         // matrix products, forward and backward
  double elementwise = 0;  // bias + activation, activation derivative, bias gradients
  double loss = 0;         // log-softmax, ratios, clipping, the loss's gradient
  double reduce = 0;       // summing the parts' gradients
  double gather = 0;       // copying the minibatch's observation rows out of the rollout
  double wait = 0;         // the calling thread (part 0), done with its rows, waiting for the others
};

// The same loss, differentiated by hand, data-parallel: the minibatch is cut into `parts` row
// ranges, each run by its own thread through single-threaded BLAS (the GEMMs keep their rate, and
// every element-wise pass runs on all cores without a hand-over per GEMM); the parts' gradients are
// then summed in a fixed order, so the result does not depend on timing.
class PpoGradients {
 public:
  // One part per thread of the pool.
  PpoGradients(ActorCritic& net, std::int64_t max_rows, class WorkerPool& pool);
  ~PpoGradients();
  // Each part runs both networks forward, the loss and both networks backward over its rows, in
  // one pass: the threads meet once a minibatch instead of twice (a meeting costs the wait for the
  // slowest). Returns the loss's statistics over the whole minibatch. The parameters' grad() then
  // holds part 0's share only; when the statistics stop the update (target_kl) it is never used.
  //
  // `next_obs_index`, optional (with mb.obs_index): the rows of mb.obs that the next call will
  // gather. A thread done with its rows copies them while it would otherwise wait for the slowest
  // (the threads share the copying in chunks, so it does not matter which one is late); the next
  // call uses them when its mb.obs (same tensor, unchanged since) and mb.obs_index are those, and
  // gathers its own otherwise. The rows are copies either way: the gradients are the same bits.
  PpoLossStats compute(const PpoMinibatch& mb, const PpoLossSettings& settings,
                       const torch::Tensor& next_obs_index = {});
  // Forgets rows gathered ahead: call it before mb.obs's contents change (a new rollout).
  void discard_gathered_ahead();
  // Overwrites every parameter's grad() with d loss / d parameter: the sum of the parts.
  void sum_gradients();
  const PassTimes& times() const;  // the calling thread's (part 0's)

 private:
  struct Part;
  // Runs fn(part) on every part through the pool, adding part 0's wait for the others to its times.
  template <class Fn>
  void run_parts(const Fn& fn);
  ActorCritic net_;
  std::int64_t max_rows_;
  // What the last call gathered ahead for the next: the source's data and the row indices.
  const float* prefetched_from_ = nullptr;
  torch::Tensor prefetched_index_;
  std::vector<std::unique_ptr<Part>> parts_;
  WorkerPool& pool_;
};

}  // namespace ploutos::rl
