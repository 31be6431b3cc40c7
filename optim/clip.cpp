// clip_grad_norm_ and clip_grad_value_ (clip.h).
#include "optim/clip.h"

#include <algorithm>
#include <cmath>

#include "optim/inplace.h"
#include "tensor/ops.h"

namespace heed::optim {
namespace {

// ‖g‖_p of one gradient, computed on its device; the one value comes back to the host.
double norm_of(const Tensor& g, double p) {
  Tensor a = raw::unary(UnaryOp::Abs, g);
  if (p == kInfNorm) return g.numel() == 0 ? 0.0 : raw::reduce(ReduceOp::Max, a, {}, false).item();
  if (p == 1) return raw::reduce(ReduceOp::Sum, a, {}, false).item();
  double sum = raw::reduce(ReduceOp::Sum, raw::unary(UnaryOp::PowScalar, a, p), {}, false).item();
  return p == 2 ? std::sqrt(sum) : std::pow(sum, 1 / p);
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  HEED_CHECK(max_norm >= 0, "clip_grad_norm_: invalid max_norm {} (must be >= 0)", max_norm);
  HEED_CHECK(norm_type > 0, "clip_grad_norm_: invalid norm_type {} (must be > 0, or kInfNorm)", norm_type);
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;

  // The norm of the per-tensor norms is the norm of all elements together.
  double total = 0;
  if (norm_type == kInfNorm) {
    for (const Tensor& g : grads) total = std::max(total, norm_of(g, kInfNorm));
  } else {
    for (const Tensor& g : grads) total += std::pow(norm_of(g, norm_type), norm_type);
    total = norm_type == 2 ? std::sqrt(total) : std::pow(total, 1 / norm_type);
  }
  HEED_CHECK(!error_if_nonfinite || std::isfinite(total),
             "clip_grad_norm_: the total norm of order {} of the gradients is {}, so they cannot be clipped", norm_type,
             total);
  const double clip_coef = max_norm / (total + 1e-6);
  // PyTorch always multiplies by min(clip_coef, 1); by 1 changes nothing. A NaN norm gives NaN
  // gradients, as there.
  if (!(clip_coef >= 1))
    for (const Tensor& g : grads) detail::mul_(g, clip_coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  HEED_CHECK(clip_value >= 0, "clip_grad_value_: invalid clip_value {} (must be >= 0)", clip_value);
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) detail::clamp_(p.grad(), -clip_value, clip_value);
}

}  // namespace heed::optim
