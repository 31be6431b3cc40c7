// matmul and its gradient: for y = a·b, da = g·bᵀ and db = aᵀ·g (summed over broadcast batch
// dims). The transposes are views: OpenBLAS reads them with its transpose flags, no copies.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"

namespace heed {

using autograd::Grads;

Tensor rfft(const Tensor& x) {
  HEED_CHECK(!autograd::needs_grad(x), "rfft: has no gradient yet; pass x.detach() or call it under NoGradGuard");
  return raw::rfft(x);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() == 1 && b.dim() >= 2) return matmul(a.unsqueeze(0), b).squeeze(-2);   // (K)·(…,K,N)
  if (b.dim() == 1 && a.dim() >= 2) return matmul(a, b.unsqueeze(-1)).squeeze(-1);  // (…,M,K)·(K)
  if (a.dim() > 2 && b.dim() == 2 && a.size(-1) == b.size(0)) {
    // (…,M,K)·(K,N) as one (…·M,K)·(K,N) GEMM: one call, and b's gradient is one GEMM too
    // rather than a batch of them summed.
    Shape shape = a.shape();
    shape.back() = b.size(1);
    return matmul(a.reshape({-1, a.size(-1)}), b).reshape(shape);
  }
  Tensor y = raw::matmul(a, b);
  if (auto node = autograd::make_node("matmul", {a, b}, {y})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    node->backward = [a, b, need_a, need_b](const Grads& g) {
      if (a.dim() == 1)  // dot product: da = g·b, db = g·a
        return Grads{need_a ? g[0] * b : Tensor(), need_b ? g[0] * a : Tensor()};
      return Grads{need_a ? sum_to(matmul(g[0], b.transpose(-1, -2)), a.shape()) : Tensor(),
                   need_b ? sum_to(matmul(a.transpose(-1, -2), g[0]), b.shape()) : Tensor()};
    };
  }
  return y;
}

Tensor Tensor::matmul(const Tensor& other) const { return heed::matmul(*this, other); }

}  // namespace heed
