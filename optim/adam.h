// Adam and AdamW, step for step as torch.optim.Adam / AdamW (torch 1.13, single-tensor path).
// With g the gradient, γ lr, β1 β2 betas, ε eps, λ weight_decay, t the parameter's step count:
//   Adam:   g ← g + λ·θ                    (L2 penalty in the gradient)
//   AdamW:  θ ← θ·(1 − γ·λ)                (decoupled weight decay)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   v̂ ← max(v̂, v)                          (amsgrad only; then v̂ replaces v below)
//   θ ← θ − (γ / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization", https://arxiv.org/abs/1412.6980
// AMSGrad: Reddi et al., "On the Convergence of Adam and Beyond", https://openreview.net/forum?id=ryQu7f-RZ
// AdamW: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", https://arxiv.org/abs/1711.05101
// State: "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (v̂, amsgrad only).
#pragma once
#include <vector>

#include "optim/optimizer.h"

namespace heed::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

// AdamOptions with PyTorch's AdamW default weight decay.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

namespace detail {
// Adam and AdamW share everything except where weight decay enters.
class AdamFamily : public Optimizer {
 public:
  void step() override;

 protected:
  AdamFamily(std::string name, bool decoupled_weight_decay)
      : Optimizer(std::move(name)), decoupled_weight_decay_(decoupled_weight_decay) {}
  void check_options(const std::map<std::string, double>& options) const override;
  std::vector<std::string> required_buffers() const override { return {"exp_avg", "exp_avg_sq"}; }
  std::vector<std::string> allowed_buffers() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

 private:
  bool decoupled_weight_decay_;
};
}  // namespace detail

class Adam : public detail::AdamFamily {
 public:
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  void add_param_group(std::vector<Tensor> params, AdamOptions options);
  const AdamOptions& defaults() const { return defaults_; }
  AdamOptions options(size_t group) const;  // the group's current options

 private:
  AdamOptions defaults_;
};

class AdamW : public detail::AdamFamily {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  void add_param_group(std::vector<Tensor> params, AdamWOptions options);
  const AdamWOptions& defaults() const { return defaults_; }
  AdamWOptions options(size_t group) const;

 private:
  AdamWOptions defaults_;
};

}  // namespace heed::optim
