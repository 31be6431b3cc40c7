// SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
// decay, step for step as torch.optim.SGD (torch 1.13, single-tensor path). With g the gradient,
// λ weight_decay, μ momentum, τ dampening, γ lr:
//   g ← g + λ·θ
//   b ← g                     on the first step with momentum
//   b ← μ·b + (1 − τ)·g       afterwards
//   g ← g + μ·b  (Nesterov)   or   g ← b
//   θ ← θ − γ·g
// Nesterov form as in Sutskever et al., "On the importance of initialization and momentum in
// deep learning", ICML 2013 (http://proceedings.mlr.press/v28/sutskever13.html).
// State: "momentum_buffer" (when momentum ≠ 0).
#pragma once
#include <vector>

#include "optim/optimizer.h"

namespace heed::optim {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;  // needs momentum > 0 and dampening = 0
};

class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  void add_param_group(std::vector<Tensor> params, SGDOptions options);
  const SGDOptions& defaults() const { return defaults_; }
  SGDOptions options(size_t group) const;  // the group's current options
  void step() override;

 protected:
  void check_options(const std::map<std::string, double>& options) const override;
  std::vector<std::string> allowed_buffers() const override { return {"momentum_buffer"}; }

 private:
  SGDOptions defaults_;
};

}  // namespace heed::optim
