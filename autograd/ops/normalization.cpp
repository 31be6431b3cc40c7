// Layer norm: one fused node over (rows, C) where the backend has the kernel; composed from
// differentiable ops elsewhere, and for the double backward.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace heed {
namespace {

Shape trailing_dims(const Tensor& x, int64_t k) {
  Shape dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

Tensor layer_norm_composed(const Tensor& x, int64_t k, const Tensor& weight, const Tensor& bias, double eps) {
  const Shape dims = trailing_dims(x, k);
  Tensor mu = mean(x, dims, /*keepdim=*/true);
  Tensor var_b = var(x, dims, /*correction=*/0, /*keepdim=*/true);
  Tensor y = (x - mu) * rsqrt(var_b + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

// The gradients of layer norm as differentiable ops (for create_graph):
//   x̂ = (x − μ)·rstd,  g = dy·w,  dx = rstd·(g − mean(g) − x̂·mean(g·x̂)),
//   dw = Σ dy·x̂,  db = Σ dy  (sums over the leading dims).
autograd::Grads layer_norm_grads(const Tensor& x, int64_t k, const Tensor& weight, const Tensor& bias, double eps,
                                 const Tensor& dy) {
  const Shape dims = trailing_dims(x, k);
  Tensor mu = mean(x, dims, true);
  Tensor rstd = rsqrt(var(x, dims, 0, true) + eps);
  Tensor xhat = (x - mu) * rstd;
  Tensor g = weight.defined() ? dy * weight : dy;
  Tensor dx = rstd * (g - mean(g, dims, true) - xhat * mean(g * xhat, dims, true));
  return {dx, weight.defined() ? sum_to(dy * xhat, weight.shape()) : Tensor(),
          bias.defined() ? sum_to(dy, bias.shape()) : Tensor()};
}

}  // namespace

Tensor layer_norm(const Tensor& x, int64_t k, const Tensor& weight, const Tensor& bias, double eps) {
  HEED_CHECK(k >= 1 && k <= x.dim(), "layer_norm: cannot normalise the last {} dims of shape {}", k, x.shape());
  Backend& be = backend_for(x.device());
  const bool fused = be.has_fused(FusedKernel::LayerNorm) &&
                     (x.dtype() == DType::Float32 || x.dtype() == DType::Float64) &&
                     (!weight.defined() || weight.dtype() == x.dtype()) && (!bias.defined() || bias.dtype() == x.dtype());
  if (!fused) return layer_norm_composed(x, k, weight, bias, eps);
  int64_t C = 1;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) C *= x.size(d);
  const int64_t R = C > 0 ? x.numel() / C : 0;
  // The kernels see (R,C) rows and (C) parameters.
  Tensor xc = raw::reshape(raw::contiguous(x), {R, C});
  Tensor wc = weight.defined() ? raw::reshape(raw::contiguous(weight), {C}) : Tensor();
  Tensor bc = bias.defined() ? raw::reshape(raw::contiguous(bias), {C}) : Tensor();
  Tensor y = raw::empty(x.shape(), x.dtype(), x.device());
  Tensor mu = raw::empty({R}, x.dtype(), x.device()), rstd = raw::empty({R}, x.dtype(), x.device());
  if (x.numel() > 0) be.layer_norm_forward(xc, wc, bc, eps, raw::reshape(y, {R, C}), mu, rstd);
  if (auto node = autograd::make_node("layer_norm", {x, weight, bias}, {y})) {
    node->backward = [x, xc, k, weight, wc, bias, eps, mu, rstd](const autograd::Grads& g) {
      if (autograd::grad_mode_enabled()) return layer_norm_grads(x, k, weight, bias, eps, g[0]);  // create_graph
      Backend& b = backend_for(x.device());
      Tensor dy = raw::reshape(raw::contiguous(g[0]), xc.shape());
      Tensor dx = raw::empty(x.shape(), x.dtype(), x.device());
      Tensor dw = weight.defined() && weight.requires_grad() ? raw::empty(weight.shape(), x.dtype(), x.device()) : Tensor();
      Tensor db = bias.defined() && bias.requires_grad() ? raw::empty(bias.shape(), x.dtype(), x.device()) : Tensor();
      auto rows = [&](const Tensor& t, int64_t n) { return t.defined() ? raw::reshape(t, {n}) : t; };
      if (x.numel() > 0)
        b.layer_norm_backward(xc, wc, mu, rstd, dy, raw::reshape(dx, xc.shape()), rows(dw, xc.size(1)), rows(db, xc.size(1)));
      else {
        if (dw.defined()) dw = raw::fill_like(dw, 0);
        if (db.defined()) db = raw::fill_like(db, 0);
      }
      return autograd::Grads{dx, dw, db};
    };
  }
  return y;
}

}  // namespace heed
