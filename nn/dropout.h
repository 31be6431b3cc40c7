// nn::Dropout: during training, zeroes each element with probability p and scales the rest by
// 1/(1 − p) (Srivastava et al., 2014); in eval mode it returns its input unchanged (the same
// handle). Masks come from the default generator, so manual_seed(s) reproduces them.
//   x (any shape) -> same shape
#pragma once
#include "nn/module.h"

namespace heed::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override { return dropout(x, p, is_training()); }
  std::string extra_repr() const override { return fmt::format("p={}", p); }
  const double p;
};

}  // namespace heed::nn
