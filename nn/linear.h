// nn::Linear: y = x·Wᵀ + b, the fully connected layer (torch.nn.Linear).
//   x (…, in) -> y (…, out); weight (out, in); bias (out), or none.
// Initialised as PyTorch does: weight by kaiming_uniform_(a = √5), i.e. U(−1/√in, 1/√in), and
// bias U(−1/√in, 1/√in), drawn in that order from the default generator.
#pragma once
#include "nn/module.h"

namespace heed::nn {

// The functional form: x (…, in), weight (out, in), bias (out) or undefined -> (…, out).
// matmul reads weight.t() as a transposed view (OpenBLAS's transpose flag), so nothing is copied.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;  // (…, in) -> (…, out)
  std::string extra_repr() const override;
  void reset_parameters();  // draws fresh weights as the constructor does

  const int64_t in_features, out_features;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out); undefined when built with bias = false
};

}  // namespace heed::nn
