#include "adam.hpp"

#include <cmath>
#include <string>

#include "mlp_kernels.hpp"
#include "worker_pool.hpp"

namespace ploutos::rl {

Adam::Adam(std::vector<torch::Tensor> parameters, double learning_rate, double eps, WorkerPool& pool)
    : params_(std::move(parameters)), learning_rate_(learning_rate), eps_(eps), pool_(pool) {
  for (const auto& p : params_) {
    TORCH_CHECK(p.is_contiguous() && p.scalar_type() == torch::kFloat32, "Adam: contiguous float parameters only");
    exp_avg_.push_back(torch::zeros_like(p));
    exp_avg_sq_.push_back(torch::zeros_like(p));
  }
}

double Adam::step(double max_grad_norm) {
  const int parts = pool_.parts();
  // Each part takes the same share of every tensor; partial sums are added in part order, so the
  // norm depends on the number of threads only, never on their timing.
  std::vector<double> partial(static_cast<std::size_t>(parts), 0.0);
  pool_.run([&](int part) {
    double sum = 0;
    for (const auto& p : params_) {
      const std::int64_t n = p.numel();
      sum += kernels::sum_squares(p.grad().data_ptr<float>(), n * part / parts, n * (part + 1) / parts);
    }
    partial[static_cast<std::size_t>(part)] = sum;
  });
  double squares = 0;
  for (const double s : partial) squares += s;
  const double norm = std::sqrt(squares);
  double scale = 1.0;
  if (max_grad_norm >= 0) {
    const double coef = max_grad_norm / (norm + 1e-6);
    if (coef < 1.0) scale = coef;
  }

  ++step_;
  const double bias_correction1 = 1.0 - std::pow(beta1_, static_cast<double>(step_));
  const double bias_correction2 = 1.0 - std::pow(beta2_, static_cast<double>(step_));
  const kernels::AdamStep st{static_cast<float>(scale),
                             static_cast<float>(beta1_),
                             static_cast<float>(beta2_),
                             static_cast<float>(learning_rate_ / bias_correction1),
                             static_cast<float>(std::sqrt(bias_correction2)),
                             static_cast<float>(eps_)};
  pool_.run([&](int part) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const std::int64_t n = params_[i].numel();
      kernels::adam_update(params_[i].data_ptr<float>(), params_[i].grad().data_ptr<float>(),
                           exp_avg_[i].data_ptr<float>(), exp_avg_sq_[i].data_ptr<float>(), n * part / parts,
                           n * (part + 1) / parts, st);
    }
  });
  return norm;
}

void Adam::save(torch::serialize::OutputArchive& out) const {
  if (step_ == 0) return;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string k = std::string(1, 'p').append(std::to_string(i));  // (GCC 12 -Wrestrict on "p" + ...)
    out.write(k + "_step", torch::tensor(step_, torch::kInt64));
    out.write(k + "_exp_avg", exp_avg_[i]);
    out.write(k + "_exp_avg_sq", exp_avg_sq_[i]);
  }
}

void Adam::load(torch::serialize::InputArchive& in) {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string k = std::string(1, 'p').append(std::to_string(i));
    torch::Tensor step, exp_avg, exp_avg_sq;
    if (!in.try_read(k + "_step", step)) continue;
    in.read(k + "_exp_avg", exp_avg);
    in.read(k + "_exp_avg_sq", exp_avg_sq);
    TORCH_CHECK(exp_avg.sizes() == params_[i].sizes() && exp_avg_sq.sizes() == params_[i].sizes(),
                "optimizer state of parameter ", i, " has the wrong shape");
    // One step count for all parameters, saved with each: they must agree.
    TORCH_CHECK(i == 0 || step.item<std::int64_t>() == step_, "optimizer step count of parameter ", i,
                " differs from the others");
    step_ = step.item<std::int64_t>();
    exp_avg_[i].copy_(exp_avg);
    exp_avg_sq_[i].copy_(exp_avg_sq);
  }
}

std::vector<torch::Tensor> Adam::moments() const {
  std::vector<torch::Tensor> all;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    all.push_back(exp_avg_[i]);
    all.push_back(exp_avg_sq_[i]);
  }
  return all;
}

}  // namespace ploutos::rl
