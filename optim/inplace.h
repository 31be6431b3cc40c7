// In-place arithmetic for optimizer updates and gradient clipping (internal to optim/).
// Each helper is named after the PyTorch in-place op it stands for and evaluates in the same
// order, so an optimizer's step reads line for line like torch.optim's. They write straight
// into the tensor's storage, so every holder and every view of it sees the result. No graph is
// recorded. Scalars are converted to the tensor's dtype first, as PyTorch does.
//
// Each helper is one or two Backend calls and at most one temporary. The Adam step also has a
// fused kernel (Backend::adam_step), used where the backend offers it; the composed step below
// is its reference and the path of backends without it.
#pragma once
#include <optional>

#include "tensor/functors.h"
#include "tensor/tensor.h"

namespace heed::optim::detail {

void fill_(const Tensor& t, double value);                                         // t = value
void mul_(const Tensor& t, double s);                                              // t = t * s
void div_(const Tensor& t, double s);                                              // t = t / s
void add_(const Tensor& t, double s);                                              // t = t + s
void add_(const Tensor& t, const Tensor& other, double alpha = 1.0);               // t = t + alpha·other
void addcmul_(const Tensor& t, const Tensor& a, const Tensor& b, double value);    // t = t + (value·a)·b
void addcdiv_(const Tensor& t, const Tensor& a, const Tensor& b, double value);    // t = t + (value·a)/b
void maximum_(const Tensor& t, const Tensor& other);                               // t = max(t, other)
void clamp_(const Tensor& t, std::optional<double> lo, std::optional<double> hi);  // t = clamp(t, lo, hi)

// New tensors (for PyTorch's out-of-place steps such as `d_p = d_p.add(param, alpha=wd)`).
Tensor added(const Tensor& a, const Tensor& b, double alpha);  // a + alpha·b
Tensor sqrt(const Tensor& t);

// One Adam / AdamW step with the helpers above, line by line as torch.optim's single-tensor code
// (max_exp_avg_sq undefined unless amsgrad).
void adam_update_composed(const fn::AdamUpdate& update, const Tensor& param, Tensor grad, const Tensor& exp_avg,
                          const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq);

}  // namespace heed::optim::detail
