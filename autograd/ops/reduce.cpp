// Reductions and softmax with their gradients. The gradient of a reduction is the incoming
// gradient broadcast back over the reduced dims (times a mask, for max and min).
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"

namespace heed {

using autograd::Grads;
using autograd::SavedTensor;

namespace {
// x's shape with size 1 in each reduced dim.
Shape kept_shape(const Tensor& x, const Shape& dims) {
  Shape s = x.shape();
  for (int64_t d : dims) s[d] = 1;
  return s;
}
// Broadcasts a reduced gradient g back to x's shape.
Tensor unreduce(const Tensor& g, const Tensor& x, const Shape& dims) {
  return expand(reshape(g, kept_shape(x, dims)), x.shape());
}
}  // namespace

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  HEED_CHECK(lead >= 0, "sum_to: cannot sum shape {} to the larger {}", x.shape(), shape);
  Shape dims;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  Tensor s = dims.empty() ? x : sum(x, dims, true);
  return reshape(s, shape);
}

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  Shape rd = raw::reduce_dims(x, dims, "sum");
  Tensor y = raw::reduce(ReduceOp::Sum, x, rd, keepdim);
  if (auto node = autograd::make_node("sum", {x}, {y}))
    node->backward = [x, rd](const Grads& g) { return Grads{unreduce(g[0], x, rd)}; };
  return y;
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  HEED_CHECK(x.is_floating_point(), "mean: expected a floating dtype, got {}", x.dtype());
  Shape rd = raw::reduce_dims(x, dims, "mean");
  int64_t n = 1;
  for (int64_t d : rd) n *= x.shape()[d];
  return sum(x, rd, keepdim) / static_cast<double>(n);
}

Tensor var(const Tensor& x, const Shape& dims, int64_t correction, bool keepdim) {
  HEED_CHECK(x.is_floating_point(), "var: expected a floating dtype, got {}", x.dtype());
  Shape rd = raw::reduce_dims(x, dims, "var");
  int64_t n = 1;
  for (int64_t d : rd) n *= x.shape()[d];
  Tensor centered = x - mean(x, rd, true);
  return sum(centered * centered, rd, keepdim) / static_cast<double>(std::max<int64_t>(n - correction, 0));
}

namespace {
Tensor extreme(const char* name, ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) {
  Shape rd = raw::reduce_dims(x, dims, name);
  Tensor y = raw::reduce(op, x, rd, keepdim);
  if (auto node = autograd::make_node(name, {x}, {y}))
    node->backward = [x, rd, y = SavedTensor(y)](const Grads& g) {
      Tensor yk = reshape(y.unpack().detach(), kept_shape(x, rd));
      Tensor hit = raw::to_dtype(raw::binary(BinaryOp::Eq, x, yk), x.dtype());  // ties share the gradient
      Tensor count = raw::reduce(ReduceOp::Sum, hit, rd, true);
      return Grads{unreduce(g[0], x, rd) * raw::binary(BinaryOp::Div, hit, count)};
    };
  return y;
}
}  // namespace

Tensor max(const Tensor& x, const Shape& dims, bool keepdim) { return extreme("max", ReduceOp::Max, x, dims, keepdim); }
Tensor min(const Tensor& x, const Shape& dims, bool keepdim) { return extreme("min", ReduceOp::Min, x, dims, keepdim); }
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return raw::arg_reduce(ReduceOp::Max, x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return raw::arg_reduce(ReduceOp::Min, x, dim, keepdim);
}

// dx = y ⊙ (g − Σ g⊙y)
Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = raw::softmax(x, dim, false);
  if (auto node = autograd::make_node("softmax", {x}, {y}))
    node->backward = [dim, ys = SavedTensor(y)](const Grads& g) {
      Tensor y = ys.unpack();
      if (y.dim() == 0) return Grads{g[0] * 0.0};
      return Grads{y * (g[0] - sum(g[0] * y, {dim}, true))};
    };
  return y;
}

// dx = g − softmax(x) ⊙ Σ g
Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = raw::softmax(x, dim, true);
  if (auto node = autograd::make_node("log_softmax", {x}, {y}))
    node->backward = [dim, ys = SavedTensor(y)](const Grads& g) {
      Tensor y = ys.unpack();
      if (y.dim() == 0) return Grads{g[0] * 0.0};
      return Grads{g[0] - exp(y) * sum(g[0], {dim}, true)};
    };
  return y;
}

Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return heed::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return heed::mean(*this, dims, keepdim); }
Tensor Tensor::var(const Shape& dims, int64_t correction, bool keepdim) const {
  return heed::var(*this, dims, correction, keepdim);
}
Tensor Tensor::max(const Shape& dims, bool keepdim) const { return heed::max(*this, dims, keepdim); }
Tensor Tensor::min(const Shape& dims, bool keepdim) const { return heed::min(*this, dims, keepdim); }
Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim) const { return heed::argmax(*this, dim, keepdim); }
Tensor Tensor::argmin(std::optional<int64_t> dim, bool keepdim) const { return heed::argmin(*this, dim, keepdim); }
Tensor Tensor::softmax(int64_t dim) const { return heed::softmax(*this, dim); }
Tensor Tensor::log_softmax(int64_t dim) const { return heed::log_softmax(*this, dim); }

}  // namespace heed
