// Losses and dropout, composed from differentiable ops (so their gradients, and second
// gradients, come from the ops they are built of). Shape legend: N batch, C classes,
// d… extra dims (e.g. tokens).
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace heed {

namespace {

Tensor reduce_loss(const Tensor& losses, Reduction r) {
  switch (r) {
    case Reduction::None: return losses;
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: return mean(losses);
  }
  return losses;
}

// (N, C, d…) -> (N·d…, C): classes last, one row per prediction.
Tensor class_rows(const Tensor& x, const char* op) {
  HEED_CHECK(x.dim() >= 1, "{}: input must have a class dim, got shape {}", op, x.shape());
  if (x.dim() == 1) return x.unsqueeze(0);
  if (x.dim() == 2) return x;
  Shape perm{0};
  for (int64_t d = 2; d < x.dim(); ++d) perm.push_back(d);
  perm.push_back(1);
  return permute(x, perm).reshape({-1, x.shape()[1]});
}

void check_target(const Tensor& input, const Tensor& target, const char* op) {
  HEED_CHECK(target.dtype() == DType::Int64, "{}: target must hold int64 class indices, got {}", op, target.dtype());
  Shape want = input.shape();
  if (want.size() >= 2) want.erase(want.begin() + 1);
  else want.clear();  // (C) input, 0-d target
  HEED_CHECK(target.shape() == want, "{}: target shape {} does not match input shape {} (expected {})", op,
             target.shape(), input.shape(), want);
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                Reduction reduction) {
  check_target(log_probs, target, "nll_loss");
  Tensor lp = class_rows(log_probs, "nll_loss");
  const int64_t C = lp.shape()[1];
  if (weight.defined())
    HEED_CHECK(weight.shape() == Shape{C}, "nll_loss: weight must have shape [{}], got {}", C, weight.shape());
  Tensor t = raw::reshape(target, {-1});
  Tensor valid = raw::binary(BinaryOp::Ne, t, scalar_like(t, static_cast<double>(ignore_index)));
  Tensor safe = raw::where(valid, t, scalar_like(t, 0));
  if (safe.numel()) {
    const int64_t lo = static_cast<int64_t>(raw::reduce(ReduceOp::Min, safe, {}, false).item());
    const int64_t hi = static_cast<int64_t>(raw::reduce(ReduceOp::Max, safe, {}, false).item());
    HEED_CHECK(lo >= 0 && hi < C, "nll_loss: target {} out of range for {} classes", lo < 0 ? lo : hi, C);
  }
  Tensor picked = gather(lp, 1, raw::unsqueeze(safe, 1)).squeeze(1);  // (rows)
  Tensor w = raw::to_dtype(valid, lp.dtype());
  if (weight.defined()) w = raw::binary(BinaryOp::Mul, w, raw::index_select(weight.detach(), 0, safe));
  Tensor losses = -picked * w;
  switch (reduction) {
    case Reduction::None: return losses.reshape(target.shape());
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: return sum(losses) / raw::reduce(ReduceOp::Sum, w, {}, false);
  }
  return losses;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     double label_smoothing, Reduction reduction) {
  HEED_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy: label_smoothing must be in [0, 1], got {}",
             label_smoothing);
  check_target(logits, target, "cross_entropy");
  const int64_t class_dim = logits.dim() == 1 ? 0 : 1;
  Tensor lp = log_softmax(logits, class_dim);
  Tensor nll = nll_loss(lp, target, weight, ignore_index, reduction);
  if (label_smoothing == 0) return nll;
  // Smoothing term (as in PyTorch): −Σ_c w_c·log p_c / C per prediction, ignored targets
  // dropped, reduced with the same denominator as the nll term.
  const int64_t C = logits.shape()[class_dim];
  Tensor rows = class_rows(lp, "cross_entropy");
  if (weight.defined()) rows = rows * weight.detach();
  Tensor t = raw::reshape(target, {-1});
  Tensor valid = raw::to_dtype(raw::binary(BinaryOp::Ne, t, scalar_like(t, static_cast<double>(ignore_index))),
                               lp.dtype());
  Tensor smooth = -sum(rows, {1}) * valid;
  Tensor smooth_red;
  switch (reduction) {
    case Reduction::None: smooth_red = smooth.reshape(target.shape()); break;
    case Reduction::Sum: smooth_red = sum(smooth); break;
    case Reduction::Mean: {
      Tensor denom = valid;
      if (weight.defined()) {
        Tensor safe = raw::where(raw::to_dtype(valid, kBool), t, scalar_like(t, 0));
        denom = raw::binary(BinaryOp::Mul, valid, raw::index_select(weight.detach(), 0, safe));
      }
      smooth_red = sum(smooth) / raw::reduce(ReduceOp::Sum, denom, {}, false);
      break;
    }
  }
  return (1.0 - label_smoothing) * nll + smooth_red * (label_smoothing / static_cast<double>(C));
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  HEED_CHECK(input.shape() == target.shape(), "mse_loss: input shape {} and target shape {} differ", input.shape(),
             target.shape());
  Tensor d = input - target;
  return reduce_loss(d * d, reduction);
}

// loss = (1 − y)·x + (1 + (pos_weight − 1)·y)·softplus(−x), softplus(−x) = log(1 + e^−|x|) + max(−x, 0)
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
  HEED_CHECK(logits.shape() == target.shape(),
             "binary_cross_entropy_with_logits: logits shape {} and target shape {} differ", logits.shape(),
             target.shape());
  Tensor softplus_neg = log(1.0 + exp(-abs(logits))) + relu(-logits);
  Tensor scale = pos_weight.defined() ? (pos_weight - 1.0) * target + 1.0 : Tensor();
  Tensor loss = (1.0 - target) * logits + (scale.defined() ? scale * softplus_neg : softplus_neg);
  if (weight.defined()) loss = loss * weight;
  return reduce_loss(loss, reduction);
}

namespace {
// One pass with the mask drawn from (seed, offset); its backward applies the same mask, and
// is itself this op, so higher derivatives work.
Tensor dropout_with(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  Tensor y = raw::dropout(x, p, seed, offset);
  if (auto node = autograd::make_node("dropout", {x}, {y}))
    node->backward = [p, seed, offset](const autograd::Grads& g) { return autograd::Grads{dropout_with(g[0], p, seed, offset)}; };
  return y;
}
}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {
  HEED_CHECK(p >= 0 && p <= 1, "dropout: p must be in [0, 1], got {}", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  HEED_CHECK(x.is_floating_point(), "dropout: input must be floating, got {}", x.dtype());
  // The same draws bernoulli(x.shape(), 1 − p) would take from the default generator.
  Generator& gen = default_generator();
  const uint64_t offset = gen.advance(static_cast<uint64_t>(x.numel()));
  return dropout_with(x, p, gen.seed(), offset);
}

}  // namespace heed
