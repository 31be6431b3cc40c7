// Loss modules: CrossEntropyLoss, NLLLoss, MSELoss, BCEWithLogitsLoss, wrapping the functions
// in autograd/ops.h (where the formulas live) with their options fixed at construction.
// Class weights and pos_weight are buffers, as in PyTorch: they appear in state_dict() under
// "weight" / "pos_weight" and move with to().
//
//   nn::CrossEntropyLoss ce({.ignore_index = 0, .label_smoothing = 0.1});
//   Tensor loss = ce(logits, target);  // logits (N, C) or (N, C, d…), target int64 (N) or (N, d…)
//
// Their forward takes two tensors; the one-tensor forward of Module throws.
#pragma once
#include "nn/module.h"

namespace heed::nn {

// Common base: the two-tensor call. Options are aggregates with defaults on every member, so
// designated initializers compile warning-free under -Wextra.
class Loss : public Module {
 public:
  using Module::forward;
  using Module::operator();
  explicit Loss(std::string type_name) : Module(std::move(type_name)) {}
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
};

struct CrossEntropyLossOptions {
  Tensor weight{};            // (C) per-class weights, or undefined
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  Reduction reduction = Reduction::Mean;
};

// logits (N, C) or (N, C, d…), target int64 class indices (N) or (N, d…) -> scalar, or (N, d…)
// with Reduction::None.
class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(CrossEntropyLossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& logits, const Tensor& target) override;
  std::string extra_repr() const override;
  const int64_t ignore_index;
  const double label_smoothing;
  const Reduction reduction;
  Tensor weight;  // buffer "weight" when given
};

struct NLLLossOptions {
  Tensor weight{};  // (C) or undefined
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};

// log_probs (N, C) or (N, C, d…), target as for CrossEntropyLoss.
class NLLLoss : public Loss {
 public:
  explicit NLLLoss(NLLLossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& log_probs, const Tensor& target) override;
  std::string extra_repr() const override;
  const int64_t ignore_index;
  const Reduction reduction;
  Tensor weight;  // buffer "weight" when given
};

// input and target of the same shape; mean (or sum) of (input − target)².
class MSELoss : public Loss {
 public:
  explicit MSELoss(Reduction reduction = Reduction::Mean);
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  const Reduction reduction;
};

struct BCEWithLogitsLossOptions {
  Tensor weight{};      // broadcast to the input's shape, or undefined
  Tensor pos_weight{};  // (C), weights the positive term per class, or undefined
  Reduction reduction = Reduction::Mean;
};

// logits and target (probabilities in [0, 1]) of the same shape.
class BCEWithLogitsLoss : public Loss {
 public:
  explicit BCEWithLogitsLoss(BCEWithLogitsLossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& logits, const Tensor& target) override;
  std::string extra_repr() const override;
  const Reduction reduction;
  Tensor weight, pos_weight;  // buffers when given
};

}  // namespace heed::nn
