#include "actor_critic.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "ploutos/rl/runtime.hpp"
#include "worker_pool.hpp"

namespace ploutos::rl {
namespace {

torch::nn::Sequential make_mlp(std::int64_t in, const std::vector<int>& layers, const std::string& activation) {
  torch::nn::Sequential seq;
  std::int64_t width = in;
  for (const int out : layers) {
    seq->push_back(torch::nn::Linear(width, out));
    if (activation == "relu") {
      seq->push_back(torch::nn::ReLU());
    } else if (activation == "elu") {
      seq->push_back(torch::nn::ELU());
    } else if (activation == "leaky_relu") {
      seq->push_back(torch::nn::LeakyReLU());
    } else {
      seq->push_back(torch::nn::Tanh());
    }
    width = out;
  }
  if (layers.empty()) seq->push_back(torch::nn::Identity());
  return seq;
}

MlpView view_of(const torch::nn::Sequential& body, const torch::nn::Linear& head, kernels::Activation activation) {
  MlpView view;
  view.activation = activation;
  for (const auto& m : body->modules(false)) {
    if (const auto* linear = m->as<torch::nn::Linear>()) view.hidden.push_back({linear->weight, linear->bias});
  }
  view.head = {head->weight, head->bias};
  view.in = view.hidden.empty() ? view.head.weight.size(1) : view.hidden.front().weight.size(1);
  return view;
}

std::int64_t multiply_adds(const MlpView& net) {
  std::int64_t n = net.head.weight.numel();
  for (const auto& layer : net.hidden) n += layer.weight.numel();
  return n;
}

std::int64_t widest(const MlpView& net) {
  std::int64_t w = net.out();
  for (const auto& layer : net.hidden) w = std::max(w, layer.weight.size(0));
  return w;
}

// A [rows x cols] contiguous view of the start of a flat buffer.
torch::Tensor rows_of(const torch::Tensor& flat, std::int64_t rows, std::int64_t cols) {
  return flat.narrow(0, 0, rows * cols).view({rows, cols});
}

using Clock = std::chrono::steady_clock;

// Adds the time from construction to destruction to a counter (when there is one).
class ScopedTime {
 public:
  explicit ScopedTime(double* into) : into_(into), start_(into != nullptr ? Clock::now() : Clock::time_point()) {}
  ~ScopedTime() {
    if (into_ != nullptr) *into_ += std::chrono::duration<double>(Clock::now() - start_).count();
  }
  ScopedTime(const ScopedTime&) = delete;
  ScopedTime& operator=(const ScopedTime&) = delete;

 private:
  double* into_;
  Clock::time_point start_;
};

// out = in * W^T + bias (head) or act(in * W^T + bias) (hidden), in place into `out`.
void dense_forward(const DenseLayer& layer, const torch::Tensor& in, torch::Tensor& out, bool hidden,
                   kernels::Activation activation, PassTimes* times = nullptr) {
  {
    ScopedTime t(times != nullptr ? &times->gemm : nullptr);
    at::mm_out(out, in, layer.weight.t());
  }
  ScopedTime t(times != nullptr ? &times->elementwise : nullptr);
  const std::int64_t rows = out.size(0), cols = out.size(1);
  if (hidden) {
    kernels::bias_activation(out.data_ptr<float>(), layer.bias.data_ptr<float>(), rows, cols, activation);
  } else {  // a plain loop, not an ATen op: this runs on worker threads too
    float* o = out.data_ptr<float>();
    const float* b = layer.bias.data_ptr<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) o[r * cols + c] += b[c];
    }
  }
}

torch::Tensor& grad_of(const torch::Tensor& parameter) {
  auto& g = const_cast<torch::Tensor&>(parameter).mutable_grad();
  if (!g.defined()) g = torch::zeros_like(parameter);
  return g;
}

}  // namespace

std::recursive_mutex& network_initialisation_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

ActorCriticImpl::ActorCriticImpl(std::int64_t obs_dim, std::int64_t tickers, const config::NetArch& arch,
                                 const std::string& activation_name, bool ortho)
    : n_tickers(tickers), activation(kernels::parse_activation(activation_name)) {
  const std::lock_guard lock(network_initialisation_mutex());
  pi_body = register_module("pi_body", make_mlp(obs_dim, arch.pi, activation_name));
  vf_body = register_module("vf_body", make_mlp(obs_dim, arch.vf, activation_name));
  pi_head = register_module("pi_head", torch::nn::Linear(arch.pi.empty() ? obs_dim : arch.pi.back(), tickers * 3));
  vf_head = register_module("vf_head", torch::nn::Linear(arch.vf.empty() ? obs_dim : arch.vf.back(), 1));
  if (ortho) {
    // SB3: sqrt(2) for hidden layers, 0.01 for the action head, 1 for the value head; zero biases.
    torch::NoGradGuard no_grad;
    for (auto* body : {&pi_body, &vf_body}) {
      for (auto& m : (*body)->modules(false)) {
        if (auto* linear = m->as<torch::nn::Linear>()) {
          torch::nn::init::orthogonal_(linear->weight, std::sqrt(2.0));
          torch::nn::init::zeros_(linear->bias);
        }
      }
    }
    torch::nn::init::orthogonal_(pi_head->weight, 0.01);
    torch::nn::init::zeros_(pi_head->bias);
    torch::nn::init::orthogonal_(vf_head->weight, 1.0);
    torch::nn::init::zeros_(vf_head->bias);
  }
}

MlpView actor_view(const ActorCritic& net) {
  return view_of(net->pi_body, net->pi_head, net->activation);
}

MlpView critic_view(const ActorCritic& net) {
  return view_of(net->vf_body, net->vf_head, net->activation);
}

template <class Layer>
const float* MlpRunner::through_layers(std::size_t layers, std::int64_t buffer_size, std::int64_t work,
                                       const Layer& layer) {
  row_a_.resize(static_cast<std::size_t>(buffer_size));  // sized before the threads start
  row_b_.resize(static_cast<std::size_t>(buffer_size));
  const int parts = pool_ != nullptr && work >= split_multiply_adds_ ? pool_->parts() : 1;
  SpinBarrier barrier(parts);
  auto run_part = [&](int part) {
    const float* in = nullptr;  // the first layer reads the observations
    for (std::size_t l = 0; l < layers; ++l) {
      float* out = (l % 2 == 0 ? row_a_ : row_b_).data();
      layer(l, part, parts, in, out);
      if (parts > 1) barrier.arrive_and_wait();  // the next layer reads every row of this one
      in = out;
    }
  };
  if (parts > 1) {
    pool_->run(run_part);
  } else {
    run_part(0);
  }
  return ((layers - 1) % 2 == 0 ? row_a_ : row_b_).data();
}

const float* MlpRunner::forward_direct(const MlpView& net, const float* x, std::int64_t rows) {
  // Matrix-vector products straight from the weights (no GEMM packing of a thin matrix), every
  // weight loaded once for all the rows; each part computes its share of every layer's outputs.
  const std::size_t layers = net.hidden.size() + 1;
  return through_layers(layers, widest(net) * rows, multiply_adds(net) * rows,
                        [&](std::size_t l, int part, int parts, const float* in, float* out) {
                          const bool hidden = l < net.hidden.size();
                          const auto& layer = hidden ? net.hidden[l] : net.head;
                          const std::int64_t outputs = layer.weight.size(0), inputs = layer.weight.size(1);
                          const std::int64_t first = outputs * part / parts, last = outputs * (part + 1) / parts;
                          kernels::matvec_rows_batch(layer.weight.data_ptr<float>(), layer.bias.data_ptr<float>(),
                                                     in != nullptr ? in : x, rows, out, outputs, first, last, inputs);
                          if (!hidden) return;
                          for (std::int64_t r = 0; r < rows; ++r)
                            kernels::bias_activation(out + r * outputs + first, nullptr, 1, last - first,
                                                     net.activation);
                        });
}

const float* MlpRunner::forward_row(const Int8Mlp& net, const float* x) {
  std::int64_t widest_out = 0, widest_in = 0, work = 0;
  for (const auto& layer : net.layers) {
    widest_out = std::max(widest_out, layer.out);
    widest_in = std::max(widest_in, layer.padded_in);
    work += layer.out * layer.in;
  }
  quantized_.resize(static_cast<std::size_t>(pool_ != nullptr ? pool_->parts() : 1));
  for (auto& q : quantized_) q.resize(static_cast<std::size_t>(widest_in));
  return through_layers(
      net.layers.size(), widest_out, work, [&](std::size_t l, int part, int parts, const float* in, float* out) {
        const auto& layer = net.layers[l];
        const std::int64_t first = layer.out * part / parts;
        const std::int64_t last = layer.out * (part + 1) / parts;
        // Every part quantises the whole input for itself: the same bits in each,
        // and no second barrier a layer.
        std::int16_t* q = quantized_[static_cast<std::size_t>(part)].data();
        const float q_scale = kernels::quantize_int16(in != nullptr ? in : x, layer.in, layer.padded_in, q,
                                                      kernels::int16_activation_limit(layer.padded_in));
        kernels::matvec_rows_int8(layer.weight.data(), layer.row_scale.data(), layer.bias.data(), q, q_scale, out,
                                  first, last, layer.padded_in);
        if (l + 1 < net.layers.size()) kernels::bias_activation(out + first, nullptr, 1, last - first, net.activation);
      });
}

Int8Mlp quantize_int8(const MlpView& net) {
  torch::NoGradGuard no_grad;
  Int8Mlp q;
  q.activation = net.activation;
  q.in = net.in;
  auto add = [&q](const DenseLayer& dense) {
    Int8Layer layer;
    layer.out = dense.weight.size(0);
    layer.in = dense.weight.size(1);
    layer.padded_in =
        (layer.in + kernels::kInt8ColumnAlign - 1) / kernels::kInt8ColumnAlign * kernels::kInt8ColumnAlign;
    layer.weight.assign(static_cast<std::size_t>(layer.out * layer.padded_in), 0);
    layer.row_scale.assign(static_cast<std::size_t>(layer.out), 0.0f);
    const auto w = dense.weight.contiguous();
    const auto b = dense.bias.contiguous();
    const float* wp = w.data_ptr<float>();
    layer.bias.assign(b.data_ptr<float>(), b.data_ptr<float>() + layer.out);
    for (std::int64_t r = 0; r < layer.out; ++r) {
      const float* row = wp + r * layer.in;
      float largest = 0.0f;
      for (std::int64_t c = 0; c < layer.in; ++c) largest = std::max(largest, std::fabs(row[c]));
      if (largest == 0.0f) continue;  // an all-zero row stays zero, with scale 0
      const float scale = largest / 127.0f;
      layer.row_scale[static_cast<std::size_t>(r)] = scale;
      std::int8_t* out = layer.weight.data() + r * layer.padded_in;
      for (std::int64_t c = 0; c < layer.in; ++c)
        out[c] = static_cast<std::int8_t>(std::clamp(std::nearbyint(row[c] / scale), -127.0f, 127.0f));
    }
    q.layers.push_back(std::move(layer));
  };
  for (const auto& dense : net.hidden) add(dense);
  add(net.head);
  return q;
}

const float* MlpRunner::forward(const MlpView& net, const float* x, std::int64_t rows) {
  torch::NoGradGuard no_grad;
  if (rows <= kDirectRows) return forward_direct(net, x, rows);
  const std::int64_t w = widest(net);
  if (!buf_a_.defined() || buf_a_.numel() < rows * w) {
    buf_a_ = torch::empty({rows * w});
    buf_b_ = torch::empty({rows * w});
  }
  auto in = torch::from_blob(const_cast<float*>(x), {rows, net.in}, torch::kFloat32);
  for (std::size_t l = 0; l < net.hidden.size(); ++l) {
    auto dst = rows_of(l % 2 == 0 ? buf_a_ : buf_b_, rows, net.hidden[l].weight.size(0));
    dense_forward(net.hidden[l], in, dst, true, net.activation);
    in = dst;
  }
  if (!out_.defined() || out_.size(0) < rows || out_.size(1) != net.out()) out_ = torch::empty({rows, net.out()});
  auto out = out_.narrow(0, 0, rows);
  dense_forward(net.head, in, out, false, net.activation);
  return out.data_ptr<float>();
}

PpoLossStats autograd_ppo_loss(ActorCritic& net, const PpoMinibatch& mb, const PpoLossSettings& s,
                               torch::Tensor* loss_out) {
  const auto log_probs = torch::log_softmax(net->logits(mb.obs), -1);  // [B, N, 3]
  const auto values = net->forward_value(mb.obs);
  const auto logp = log_probs.gather(-1, mb.actions.unsqueeze(-1)).squeeze(-1).sum(-1);
  auto adv = mb.advantages;
  if (s.normalize_advantage && adv.size(0) > 1) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
  const auto log_ratio = logp - mb.old_log_prob;
  const auto ratio = log_ratio.exp();
  const auto policy_loss = -torch::min(adv * ratio, adv * ratio.clamp(1 - s.clip_range, 1 + s.clip_range)).mean();
  auto v_pred = values;
  if (s.clip_range_vf) v_pred = mb.old_values + (values - mb.old_values).clamp(-*s.clip_range_vf, *s.clip_range_vf);
  const auto value_loss = torch::mse_loss(mb.returns, v_pred);
  const auto entropy = (-(log_probs.exp() * log_probs).sum(-1).sum(-1)).mean();
  const auto loss = policy_loss - s.ent_coef * entropy + s.vf_coef * value_loss;
  PpoLossStats st;
  {
    torch::NoGradGuard no_grad;
    st.approx_kl = ((ratio - 1) - log_ratio).mean().item<double>();
    st.clip_fraction = ((ratio - 1).abs() > s.clip_range).to(torch::kFloat32).mean().item<double>();
  }
  st.loss = loss.item<double>();
  st.policy_loss = policy_loss.item<double>();
  st.value_loss = value_loss.item<double>();
  st.entropy = entropy.item<double>();
  if (loss_out != nullptr) *loss_out = loss;
  return st;
}

namespace {

// One MLP's parameter gradients, laid out as its MlpView.
struct GradView {
  std::vector<DenseLayer> hidden;
  DenseLayer head;
};

GradView grads_of(const MlpView& net) {
  GradView g;
  for (const auto& layer : net.hidden) g.hidden.push_back({grad_of(layer.weight), grad_of(layer.bias)});
  g.head = {grad_of(net.head.weight), grad_of(net.head.bias)};
  return g;
}

GradView zeros_like(const MlpView& net) {
  GradView g;
  for (const auto& layer : net.hidden)
    g.hidden.push_back({torch::zeros_like(layer.weight), torch::zeros_like(layer.bias)});
  g.head = {torch::zeros_like(net.head.weight), torch::zeros_like(net.head.bias)};
  return g;
}

template <class F>
void for_each_tensor(GradView& a, const GradView& b, F&& f) {
  for (std::size_t l = 0; l < a.hidden.size(); ++l) {
    f(a.hidden[l].weight, b.hidden[l].weight);
    f(a.hidden[l].bias, b.hidden[l].bias);
  }
  f(a.head.weight, b.head.weight);
  f(a.head.bias, b.head.bias);
}

struct LossSums {
  double surrogate = 0, value = 0, entropy = 0, kl = 0, clipped = 0;
};

}  // namespace

// One thread's share of a minibatch: its rows' activations, head gradients and parameter gradients.
struct PpoGradients::Part {
  struct NetPass {
    MlpView view;
    std::vector<torch::Tensor> acts;  // [max_rows, width] each hidden layer's output
    torch::Tensor out;                // [max_rows, out] head output
    torch::Tensor grad_out;           // [max_rows, out] d loss / d head output
    GradView grads;                   // part 0: the parameters' grad(); others: their own
  };
  NetPass actor, critic;
  torch::Tensor grad_a, grad_b;  // flat [max_rows * widest layer] ping-pong buffers
  torch::Tensor x_buf, obs;      // the part's observation rows (gathered into x_buf, or a view)
  torch::Tensor x_next;          // the next minibatch's rows, gathered ahead (compute's next_obs_index)
  std::int64_t first = 0, rows = 0;
  LossSums sums;
  PassTimes times;

  Part(const ActorCritic& net, std::int64_t max_rows, bool owns_parameter_grads) {
    actor.view = actor_view(net);
    critic.view = critic_view(net);
    std::int64_t w = 1;
    for (auto* pass : {&actor, &critic}) {
      for (const auto& layer : pass->view.hidden) pass->acts.push_back(torch::empty({max_rows, layer.weight.size(0)}));
      pass->out = torch::empty({max_rows, pass->view.out()});
      pass->grad_out = torch::empty({max_rows, pass->view.out()});
      pass->grads = owns_parameter_grads ? grads_of(pass->view) : zeros_like(pass->view);
      w = std::max(w, widest(pass->view));
    }
    grad_a = torch::empty({max_rows * w});
    grad_b = torch::empty({max_rows * w});
    x_buf = torch::empty({max_rows, actor.view.in});
    x_next = torch::empty({max_rows, actor.view.in});
  }

  // This part's observations: rows [first, first + rows) of the minibatch (already in x_buf when
  // `gathered`).
  void take_rows(const PpoMinibatch& mb, bool gathered) {
    if (!mb.obs_index.defined()) {
      obs = mb.obs.narrow(0, first, rows);
      return;
    }
    if (!gathered) {
      ScopedTime timer(&times.gather);
      gather_rows(mb.obs, mb.obs_index.data_ptr<std::int64_t>() + first, rows, x_buf.data_ptr<float>());
    }
    obs = x_buf.narrow(0, 0, rows);
  }

  static void gather_rows(const torch::Tensor& from, const std::int64_t* index, std::int64_t count, float* dst) {
    const std::int64_t dim = from.size(1);
    const float* src = from.data_ptr<float>();
    for (std::int64_t r = 0; r < count; ++r) std::copy_n(src + index[r] * dim, dim, dst + r * dim);
  }

  void forward_net(NetPass& pass, const torch::Tensor& x) {
    torch::Tensor in = x;
    for (std::size_t l = 0; l < pass.view.hidden.size(); ++l) {
      auto dst = pass.acts[l].narrow(0, 0, rows);
      dense_forward(pass.view.hidden[l], in, dst, true, pass.view.activation, &times);
      in = dst;
    }
    auto out = pass.out.narrow(0, 0, rows);
    dense_forward(pass.view.head, in, out, false, pass.view.activation, &times);
  }

  void backward_net(NetPass& pass, const torch::Tensor& x) {
    const auto& hidden = pass.view.hidden;
    auto& grads = pass.grads;
    const auto g_out = pass.grad_out.narrow(0, 0, rows);
    const std::size_t n = hidden.size();
    const torch::Tensor last_in = n == 0 ? x : pass.acts[n - 1].narrow(0, 0, rows);
    {
      ScopedTime t(&times.gemm);
      at::mm_out(grads.head.weight, g_out.t(), last_in);
    }
    {
      ScopedTime t(&times.elementwise);
      column_sums(g_out, grads.head.bias);
    }
    if (n == 0) return;
    // d loss / d (last hidden output), then down the layers, alternating between two buffers.
    auto g = rows_of(grad_a, rows, hidden[n - 1].weight.size(0));
    {
      ScopedTime t(&times.gemm);
      at::mm_out(g, g_out, pass.view.head.weight);
    }
    for (std::size_t l = n; l-- > 0;) {
      const auto& layer = hidden[l];
      const std::int64_t width = layer.weight.size(0);
      const auto act = pass.acts[l].narrow(0, 0, rows);
      {
        ScopedTime t(&times.elementwise);
        kernels::activation_backward(g.data_ptr<float>(), act.data_ptr<float>(), rows, width, pass.view.activation,
                                     grads.hidden[l].bias.data_ptr<float>());
      }
      ScopedTime t(&times.gemm);
      const torch::Tensor in = l == 0 ? x : pass.acts[l - 1].narrow(0, 0, rows);
      at::mm_out(grads.hidden[l].weight, g.t(), in);
      if (l == 0) break;  // the observations need no gradient
      auto next = rows_of(g.data_ptr<float>() == grad_a.data_ptr<float>() ? grad_b : grad_a, rows,
                          hidden[l - 1].weight.size(0));
      at::mm_out(next, g, layer.weight);
      g = next;
    }
  }

  // The loss over this part's rows (means over all `total_rows`) and its gradient at both heads.
  void loss(const PpoMinibatch& mb, const PpoLossSettings& s, std::int64_t tickers, double adv_mean, double adv_scale,
            std::int64_t total_rows) {
    ScopedTime timer(&times.loss);
    sums = {};
    const float* logits = actor.out.data_ptr<float>();
    const float* values = critic.out.data_ptr<float>();
    float* g_logits = actor.grad_out.data_ptr<float>();
    float* g_values = critic.grad_out.data_ptr<float>();
    const std::int64_t* actions = mb.actions.data_ptr<std::int64_t>() + first * tickers;
    const float* old_logp = mb.old_log_prob.data_ptr<float>() + first;
    const float* adv_raw = mb.advantages.data_ptr<float>() + first;
    const float* ret = mb.returns.data_ptr<float>() + first;
    const float* old_v = mb.old_values.data_ptr<float>() + first;
    const double inv_rows = 1.0 / static_cast<double>(total_rows);
    const double lo = 1 - s.clip_range, hi = 1 + s.clip_range;
    std::vector<double> p(static_cast<std::size_t>(tickers * 3)), lp(p.size()), h(static_cast<std::size_t>(tickers));
    for (std::int64_t b = 0; b < rows; ++b) {
      const float* z = logits + b * tickers * 3;
      const std::int64_t* chosen = actions + b * tickers;
      double logp = 0, entropy_b = 0;
      for (std::int64_t n = 0; n < tickers; ++n) {  // log-softmax and entropy per ticker
        const float* zn = z + n * 3;
        // The three exponentials give both the log-sum-exp and the probabilities.
        const double m = std::max({zn[0], zn[1], zn[2]});
        const double e[3] = {std::exp(zn[0] - m), std::exp(zn[1] - m), std::exp(zn[2] - m)};
        const double sum = e[0] + e[1] + e[2], log_sum = std::log(sum);
        double hn = 0;
        for (std::int64_t k = 0; k < 3; ++k) {
          const auto i = static_cast<std::size_t>(n * 3 + k);
          lp[i] = zn[k] - m - log_sum;
          p[i] = e[k] / sum;
          hn -= p[i] * lp[i];
        }
        h[static_cast<std::size_t>(n)] = hn;
        entropy_b += hn;
        logp += lp[static_cast<std::size_t>(n * 3 + chosen[n])];
      }
      const double a = (adv_raw[b] - adv_mean) * adv_scale;
      const double log_ratio = logp - old_logp[b];
      const double ratio = std::exp(log_ratio);
      const double unclipped = a * ratio, clipped_term = a * std::clamp(ratio, lo, hi);
      sums.surrogate += std::min(unclipped, clipped_term);
      // The min takes the unclipped term's gradient unless the clipped one is smaller (then the
      // clamp, outside its range, passes none); at a tie both halves add up to the same.
      const double g_logp = unclipped <= clipped_term ? -a * ratio * inv_rows : 0.0;
      float* g = g_logits + b * tickers * 3;
      for (std::int64_t n = 0; n < tickers; ++n) {
        for (std::int64_t k = 0; k < 3; ++k) {
          const auto i = static_cast<std::size_t>(n * 3 + k);
          // d(policy loss)/dz_k = g_logp (1[k chosen] - p_k); d(-ent_coef mean H)/dz_k = ent_coef/B p_k (log p_k + H)
          const double policy_part = g_logp * ((k == chosen[n] ? 1.0 : 0.0) - p[i]);
          const double entropy_part = s.ent_coef * inv_rows * p[i] * (lp[i] + h[static_cast<std::size_t>(n)]);
          g[i] = static_cast<float>(policy_part + entropy_part);
        }
      }
      sums.entropy += entropy_b;
      sums.kl += (ratio - 1) - log_ratio;
      if (std::abs(ratio - 1) > s.clip_range) sums.clipped += 1;

      const double v = values[b];
      double v_pred = v, pass = 1.0;
      if (s.clip_range_vf) {
        const double c = *s.clip_range_vf;
        v_pred = old_v[b] + std::clamp(v - old_v[b], -c, c);
        pass = std::abs(v - old_v[b]) <= c ? 1.0 : 0.0;
      }
      const double diff = ret[b] - v_pred;
      sums.value += diff * diff;
      g_values[b] = static_cast<float>(s.vf_coef * -2.0 * diff * inv_rows * pass);
    }
  }

  static void column_sums(const torch::Tensor& g, torch::Tensor& into) {
    const std::int64_t rows = g.size(0), cols = g.size(1);
    const float* src = g.data_ptr<float>();
    std::vector<double> acc(static_cast<std::size_t>(cols), 0.0);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) acc[static_cast<std::size_t>(c)] += src[r * cols + c];
    }
    float* dst = into.data_ptr<float>();
    for (std::int64_t c = 0; c < cols; ++c) dst[c] = static_cast<float>(acc[static_cast<std::size_t>(c)]);
  }
};

PpoGradients::PpoGradients(ActorCritic& net, std::int64_t max_rows, WorkerPool& pool)
    : net_(net), max_rows_(max_rows), pool_(pool) {
  const int n = pool.parts();
  const std::int64_t per_part = (max_rows + n - 1) / n;
  for (int p = 0; p < n; ++p) parts_.push_back(std::make_unique<Part>(net_, per_part, p == 0));
}

PpoGradients::~PpoGradients() = default;

const PassTimes& PpoGradients::times() const {
  return parts_.front()->times;
}

template <class Fn>
void PpoGradients::run_parts(const Fn& fn) {
  Clock::time_point own_done;
  pool_.run([&](int index) {
    fn(index);
    if (index == 0) own_done = Clock::now();
  });
  parts_.front()->times.wait += std::chrono::duration<double>(Clock::now() - own_done).count();
}

PpoLossStats PpoGradients::compute(const PpoMinibatch& mb, const PpoLossSettings& s,
                                   const torch::Tensor& next_obs_index) {
  torch::NoGradGuard no_grad;
  const std::int64_t rows = mb.obs_index.defined() ? mb.obs_index.size(0) : mb.obs.size(0);
  TORCH_CHECK(rows <= max_rows_ && rows > 0, "minibatch of ", rows, " rows, buffers for ", max_rows_);
  const PpoMinibatch c{mb.obs.contiguous(),        mb.obs_index.defined() ? mb.obs_index.contiguous() : torch::Tensor(),
                       mb.actions.contiguous(),    mb.old_log_prob.contiguous(),
                       mb.advantages.contiguous(), mb.returns.contiguous(),
                       mb.old_values.contiguous()};

  // Advantage normalisation as SB3, over the whole minibatch: (a - mean) / (unbiased std + 1e-8).
  double adv_mean = 0, adv_scale = 1;
  if (s.normalize_advantage && rows > 1) {
    const float* adv = c.advantages.data_ptr<float>();
    for (std::int64_t b = 0; b < rows; ++b) adv_mean += adv[b];
    adv_mean /= static_cast<double>(rows);
    double ss = 0;
    for (std::int64_t b = 0; b < rows; ++b) ss += (adv[b] - adv_mean) * (adv[b] - adv_mean);
    adv_scale = 1.0 / (std::sqrt(ss / static_cast<double>(rows - 1)) + 1e-8);
  }

  const auto n = static_cast<std::int64_t>(parts_.size());
  const std::int64_t tickers = net_->n_tickers;

  // The rows the last call gathered ahead, if they are this minibatch's: the same split over the
  // parts (same row count, same parts), so each part's rows are in its x_next.
  const bool gathered = c.obs_index.defined() && prefetched_index_.defined() &&
                        prefetched_from_ == c.obs.data_ptr<float>() && prefetched_index_.size(0) == rows &&
                        torch::equal(prefetched_index_, c.obs_index);
  if (gathered) {
    for (auto& part : parts_) std::swap(part->x_buf, part->x_next);
  }
  discard_gathered_ahead();

  // Part p's share of a minibatch of `total` rows starts at row share_first(total, p).
  const auto share_first = [n](std::int64_t total, std::int64_t p) { return total * p / n; };

  // The next minibatch's rows as chunks of whole parts' shares, taken by whichever thread is free.
  struct Chunk {
    int part;
    std::int64_t from;         // the chunk's first row in the next minibatch
    std::int64_t first, rows;  // within that part's share
  };
  std::vector<Chunk> ahead;
  torch::Tensor next_index;
  if (c.obs_index.defined() && next_obs_index.defined() && next_obs_index.size(0) > 0 &&
      next_obs_index.size(0) <= max_rows_) {
    next_index = next_obs_index.contiguous();
    const std::int64_t next_rows = next_index.size(0);
    constexpr std::int64_t kChunkRows = 128;  // ~600 KB of V6 observations
    for (std::int64_t p = 0; p < n; ++p) {
      const std::int64_t share = share_first(next_rows, p + 1) - share_first(next_rows, p);
      for (std::int64_t r = 0; r < share; r += kChunkRows) {
        ahead.push_back({static_cast<int>(p), share_first(next_rows, p) + r, r, std::min(kChunkRows, share - r)});
      }
    }
  }
  std::atomic<std::size_t> next_chunk{0};

  const ScopedBlasThreads blas(n > 1 ? 1 : 0);  // parts > 1: one BLAS thread each
  run_parts([&](int index) {
    torch::NoGradGuard part_no_grad;  // grad mode is per thread
    auto& part = *parts_[static_cast<std::size_t>(index)];
    part.first = share_first(rows, index);
    part.rows = share_first(rows, index + 1) - part.first;
    part.sums = {};
    if (part.rows == 0) {  // contributes nothing to the sum
      for (auto* pass : {&part.actor, &part.critic}) {
        for_each_tensor(pass->grads, pass->grads, [](torch::Tensor& t, const torch::Tensor&) {
          std::fill_n(t.data_ptr<float>(), t.numel(), 0.0f);
        });
      }
      return;
    }
    part.take_rows(c, gathered);
    part.forward_net(part.actor, part.obs);
    part.forward_net(part.critic, part.obs);
    part.loss(c, s, tickers, adv_mean, adv_scale, rows);
    part.backward_net(part.actor, part.obs);
    part.backward_net(part.critic, part.obs);
    if (ahead.empty()) return;
    ScopedTime timer(&part.times.gather);
    for (std::size_t k; (k = next_chunk.fetch_add(1, std::memory_order_relaxed)) < ahead.size();) {
      const Chunk& chunk = ahead[k];
      auto& into = *parts_[static_cast<std::size_t>(chunk.part)];
      Part::gather_rows(c.obs, next_index.data_ptr<std::int64_t>() + chunk.from, chunk.rows,
                        into.x_next.data_ptr<float>() + chunk.first * c.obs.size(1));
    }
  });
  if (!ahead.empty()) {
    prefetched_index_ = next_index.clone();  // the caller may reuse its tensor
    prefetched_from_ = c.obs.data_ptr<float>();
  }

  LossSums total;
  for (const auto& part : parts_) {
    total.surrogate += part->sums.surrogate;
    total.value += part->sums.value;
    total.entropy += part->sums.entropy;
    total.kl += part->sums.kl;
    total.clipped += part->sums.clipped;
  }
  const double inv_rows = 1.0 / static_cast<double>(rows);
  PpoLossStats st;
  st.policy_loss = -total.surrogate * inv_rows;
  st.value_loss = total.value * inv_rows;
  st.entropy = total.entropy * inv_rows;
  st.approx_kl = total.kl * inv_rows;
  st.clip_fraction = total.clipped * inv_rows;
  st.loss = st.policy_loss - s.ent_coef * st.entropy + s.vf_coef * st.value_loss;
  return st;
}

void PpoGradients::discard_gathered_ahead() {
  prefetched_index_ = torch::Tensor();
  prefetched_from_ = nullptr;
}

void PpoGradients::sum_gradients() {
  const auto n = static_cast<int>(parts_.size());
  if (n == 1) return;
  // Sum the parts into part 0 (the parameters' grad()), in part order; each thread sums a share of
  // every tensor, so the result does not depend on which thread does what.
  const auto start = Clock::now();
  pool_.run([&](int index) {
    auto& into = *parts_.front();
    for (int p = 1; p < n; ++p) {
      auto& from = *parts_[static_cast<std::size_t>(p)];
      for (auto [a, b] :
           {std::pair{&into.actor.grads, &from.actor.grads}, std::pair{&into.critic.grads, &from.critic.grads}}) {
        for_each_tensor(*a, *b, [&](torch::Tensor& dst, const torch::Tensor& src) {
          const std::int64_t size = dst.numel();
          kernels::add_into(dst.data_ptr<float>(), src.data_ptr<float>(), size * index / n, size * (index + 1) / n);
        });
      }
    }
  });
  parts_.front()->times.reduce += std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace ploutos::rl
