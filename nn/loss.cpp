// Loss modules (see loss.h). The math is in autograd/ops/loss.cpp.
#include "nn/loss.h"

namespace heed::nn {
namespace {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None: return "none";
    case Reduction::Sum: return "sum";
    case Reduction::Mean: return "mean";
  }
  return "?";
}

// Class weights must be floating (they scale a floating loss).
Tensor checked_weight(const Tensor& t, const char* layer, const char* name) {
  HEED_CHECK(t.is_floating_point(), "{}: {} must be floating, got {} of shape {}", layer, name, t.dtype(), t.shape());
  return t;
}

}  // namespace

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyLossOptions o)
    : Loss("CrossEntropyLoss"), ignore_index(o.ignore_index), label_smoothing(o.label_smoothing),
      reduction(o.reduction) {
  HEED_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
             "CrossEntropyLoss: label_smoothing must be in [0, 1], got {}", label_smoothing);
  HEED_CHECK(!o.weight.defined() || o.weight.dim() == 1, "CrossEntropyLoss: weight must be 1-D (C), got shape {}",
             o.weight.shape());
  if (o.weight.defined()) weight = register_buffer("weight", checked_weight(o.weight, "CrossEntropyLoss", "weight"));
}

Tensor CrossEntropyLoss::forward(const Tensor& logits, const Tensor& target) {
  return cross_entropy(logits, target, weight, ignore_index, label_smoothing, reduction);
}

std::string CrossEntropyLoss::extra_repr() const {
  return fmt::format("ignore_index={}, label_smoothing={}, reduction={}{}", ignore_index, label_smoothing,
                     reduction_name(reduction), weight.defined() ? ", weighted" : "");
}

NLLLoss::NLLLoss(NLLLossOptions o) : Loss("NLLLoss"), ignore_index(o.ignore_index), reduction(o.reduction) {
  HEED_CHECK(!o.weight.defined() || o.weight.dim() == 1, "NLLLoss: weight must be 1-D (C), got shape {}",
             o.weight.shape());
  if (o.weight.defined()) weight = register_buffer("weight", checked_weight(o.weight, "NLLLoss", "weight"));
}

Tensor NLLLoss::forward(const Tensor& log_probs, const Tensor& target) {
  return nll_loss(log_probs, target, weight, ignore_index, reduction);
}

std::string NLLLoss::extra_repr() const {
  return fmt::format("ignore_index={}, reduction={}{}", ignore_index, reduction_name(reduction),
                     weight.defined() ? ", weighted" : "");
}

MSELoss::MSELoss(Reduction r) : Loss("MSELoss"), reduction(r) {}

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) {
  HEED_CHECK(input.shape() == target.shape(), "MSELoss: input {} and target {} must have the same shape", input.shape(),
             target.shape());
  return mse_loss(input, target, reduction);
}

std::string MSELoss::extra_repr() const { return fmt::format("reduction={}", reduction_name(reduction)); }

BCEWithLogitsLoss::BCEWithLogitsLoss(BCEWithLogitsLossOptions o) : Loss("BCEWithLogitsLoss"), reduction(o.reduction) {
  if (o.weight.defined())
    weight = register_buffer("weight", checked_weight(o.weight, "BCEWithLogitsLoss", "weight"));
  if (o.pos_weight.defined())
    pos_weight = register_buffer("pos_weight", checked_weight(o.pos_weight, "BCEWithLogitsLoss", "pos_weight"));
}

Tensor BCEWithLogitsLoss::forward(const Tensor& logits, const Tensor& target) {
  HEED_CHECK(logits.shape() == target.shape(), "BCEWithLogitsLoss: logits {} and target {} must have the same shape",
             logits.shape(), target.shape());
  return binary_cross_entropy_with_logits(logits, target, weight, pos_weight, reduction);
}

std::string BCEWithLogitsLoss::extra_repr() const {
  return fmt::format("reduction={}{}{}", reduction_name(reduction), weight.defined() ? ", weighted" : "",
                     pos_weight.defined() ? ", pos_weight" : "");
}

}  // namespace heed::nn
