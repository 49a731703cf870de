#pragma once
// Adam with SB3's gradient-norm clipping, one pass a parameter over all threads: LibTorch's Adam
// and clip_grad_norm_ walk the 6 M V6 parameters some ten times a step (15 ms of a 0.9 s
// minibatch); this walks them twice (the norm, then the step). Same update rule as
// torch::optim::Adam without weight decay or amsgrad; model files keep LibTorch's state layout.
// Private to the rl module (includes LibTorch).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace ploutos::rl {

class WorkerPool;

class Adam {
 public:
  Adam(std::vector<torch::Tensor> parameters, double learning_rate, double eps, WorkerPool& pool);
  void set_learning_rate(double learning_rate) { learning_rate_ = learning_rate; }
  // Scales the gradients to a global L2 norm of at most max_grad_norm (SB3's clip_grad_norm_; a
  // negative value skips clipping), then steps every parameter. Returns the norm before clipping.
  double step(double max_grad_norm);
  std::int64_t steps() const { return step_; }

  // Per parameter i: p<i>_step, p<i>_exp_avg, p<i>_exp_avg_sq (nothing before the first step).
  void save(torch::serialize::OutputArchive& out) const;
  void load(torch::serialize::InputArchive& in);
  // The moment estimates, first then second per parameter (what save writes), for a model file's checksum.
  std::vector<torch::Tensor> moments() const;

 private:
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_;
  double learning_rate_, eps_;
  double beta1_ = 0.9, beta2_ = 0.999;
  std::int64_t step_ = 0;
  WorkerPool& pool_;
};

}  // namespace ploutos::rl
