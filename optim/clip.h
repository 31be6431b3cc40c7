// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_. Both change .grad in
// place and skip parameters without one. Call them between backward() and step().
//
// clip_grad_norm_: the total norm ‖g‖_p of all gradients taken as one vector,
//   ‖g‖_p = (Σ_i ‖g_i‖_p^p)^(1/p)   (max_i ‖g_i‖_∞ for p = ∞),
// then every gradient is scaled by max_norm / (‖g‖_p + 1e-6) when that is below 1. Returns
// ‖g‖_p (before clipping; 0 when no parameter has a gradient). See Pascanu et al., "On the
// difficulty of training recurrent neural networks", https://arxiv.org/abs/1211.5063.
// clip_grad_value_: every gradient element clamped into [−clip_value, clip_value].
#pragma once
#include <limits>
#include <vector>

#include "tensor/tensor.h"

namespace heed::optim {

inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

// norm_type: any p > 0, or kInfNorm. error_if_nonfinite: throw instead of scaling by a NaN or
// infinite norm.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace heed::optim
