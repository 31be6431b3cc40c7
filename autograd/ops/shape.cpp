// Views and shape ops with their gradients. A view's gradient is the same view undone:
// reshape back, permute back, sum over expanded dims, or place the slice in zeros.
#include <numeric>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"

namespace heed {

using autograd::Grads;

namespace {

// Records a single-input op whose gradient is `back(g)`.
template <typename Back>
Tensor record(const char* name, const Tensor& x, Tensor y, Back back) {
  if (auto node = autograd::make_node(name, {x}, {y}))
    node->backward = [back](const Grads& g) { return Grads{back(g[0])}; };
  return y;
}

// The gradient of x.slice(dim, start, end, step): g placed in zeros of x's shape.
Tensor slice_backward(const Tensor& g, const Shape& shape, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor out = zeros(shape, {g.dtype(), g.device()});
  raw::copy_(raw::slice(out, dim, start, end, step), g);
  if (auto node = autograd::make_node("slice_backward", {g}, {out}))
    node->backward = [=](const Grads& gg) { return Grads{gg[0].slice(dim, start, end, step)}; };
  return out;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape in = x.shape();
  return record("reshape", x, raw::reshape(x, shape), [in](const Tensor& g) { return heed::reshape(g, in); });
}
Tensor Tensor::reshape(const Shape& shape) const { return heed::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const {
  Shape in = this->shape();
  return record("view", *this, raw::view(*this, shape), [in](const Tensor& g) { return heed::reshape(g, in); });
}
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim(start_dim, dim(), "flatten");
  end_dim = wrap_dim(end_dim, dim(), "flatten");
  HEED_CHECK(start_dim <= end_dim, "flatten: start_dim {} is after end_dim {}", start_dim, end_dim);
  Shape s(shape().begin(), shape().begin() + start_dim);
  int64_t n = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) n *= shape()[d];
  s.push_back(n);
  s.insert(s.end(), shape().begin() + end_dim + 1, shape().end());
  return reshape(s);
}
Tensor Tensor::squeeze() const {
  Shape in = shape();
  return record("squeeze", *this, raw::squeeze(*this, std::nullopt), [in](const Tensor& g) { return heed::reshape(g, in); });
}
Tensor Tensor::squeeze(int64_t d) const {
  Shape in = shape();
  return record("squeeze", *this, raw::squeeze(*this, d), [in](const Tensor& g) { return heed::reshape(g, in); });
}
Tensor Tensor::unsqueeze(int64_t d) const {
  Shape in = shape();
  return record("unsqueeze", *this, raw::unsqueeze(*this, d), [in](const Tensor& g) { return heed::reshape(g, in); });
}

Tensor permute(const Tensor& x, const Shape& dims) {
  Tensor y = raw::permute(x, dims);
  Shape inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], x.dim(), "permute")] = static_cast<int64_t>(i);
  return record("permute", x, y, [inverse](const Tensor& g) { return permute(g, inverse); });
}
Tensor Tensor::permute(const Shape& dims) const { return heed::permute(*this, dims); }

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  return record("transpose", x, raw::transpose(x, d0, d1), [d0, d1](const Tensor& g) { return transpose(g, d0, d1); });
}
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return heed::transpose(*this, d0, d1); }
Tensor Tensor::t() const {
  HEED_CHECK(dim() <= 2, "t: expected a tensor of at most 2 dims, got shape {}", shape());
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Shape in = x.shape();
  return record("expand", x, raw::expand(x, shape), [in](const Tensor& g) { return sum_to(g, in); });
}
Tensor Tensor::expand(const Shape& shape) const { return heed::expand(*this, shape); }

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  HEED_CHECK(dim() > 0, "slice: cannot slice a 0-d tensor");
  const int64_t dd = wrap_dim(d, dim(), "slice");
  const auto bounds = raw::slice_bounds(shape()[dd], start, end);
  const int64_t st = bounds.first, en = bounds.second;
  Tensor y = raw::slice(*this, dd, st, en, step);
  const bool empty = y.shape()[dd] == 0;
  Shape in = shape();
  return record("slice", *this, y, [=](const Tensor& g) {
    return empty ? zeros(in, {g.dtype(), g.device()}) : slice_backward(g, in, dd, st, en, step);
  });
}
Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  const int64_t dd = wrap_dim(d, dim(), "narrow");
  const int64_t n = shape()[dd];
  if (start < 0) start += n;
  HEED_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: range [{}, {}) out of bounds for dim {} of size {}",
             start, start + length, dd, n);
  return slice(dd, start, start + length, 1);
}
Tensor Tensor::select(int64_t d, int64_t index) const {
  Tensor y = raw::select(*this, d, index);
  const int64_t dd = wrap_dim(d, dim(), "select");
  const int64_t i = index < 0 ? index + shape()[dd] : index;
  Shape in = shape();
  return record("select", *this, y, [=](const Tensor& g) {
    return slice_backward(g.unsqueeze(dd), in, dd, i, i + 1, 1);
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return record("contiguous", *this, raw::contiguous(*this), [](const Tensor& g) { return g; });
}
Tensor Tensor::clone() const { return record("clone", *this, raw::clone(*this), [](const Tensor& g) { return g; }); }
Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  Tensor y = raw::to_dtype(*this, dt);
  if (!is_floating(dt)) return y;  // integer results carry no gradient
  DType back = dtype();
  return record("to", *this, y, [back](const Tensor& g) { return g.to(back); });
}
Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Device back = device();
  return record("to", *this, raw::to_device(*this, d), [back](const Tensor& g) { return g.to(back); });
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = raw::cat(xs, dim);
  if (auto node = autograd::make_node("cat", xs, {y})) {
    const int64_t d = wrap_dim(dim, xs[0].dim(), "cat");
    std::vector<int64_t> sizes;
    for (const Tensor& x : xs) sizes.push_back(x.shape()[d]);
    node->backward = [d, sizes](const Grads& g) {
      Grads out;
      int64_t at = 0;
      for (int64_t s : sizes) {
        out.push_back(g[0].slice(d, at, at + s));
        at += s;
      }
      return out;
    };
  }
  return y;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  HEED_CHECK(!xs.empty(), "stack: expected at least one tensor");
  const int64_t d = wrap_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (const Tensor& x : xs) {
    HEED_CHECK(x.shape() == xs[0].shape(), "stack: all tensors must have the same shape: {} vs {}", xs[0].shape(),
               x.shape());
    parts.push_back(x.unsqueeze(d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  HEED_CHECK(total == x.shape()[d], "split: sizes {} add up to {}, but dim {} has size {}", sizes, total, d,
             x.shape()[d]);
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(x.narrow(d, at, s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  HEED_CHECK(split_size > 0, "split: split_size must be positive, got {}", split_size);
  const int64_t n = x.shape()[wrap_dim(dim, x.dim(), "split")];
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < n; at += split_size) sizes.push_back(std::min(split_size, n - at));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  HEED_CHECK(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
  const int64_t n = x.shape()[wrap_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<int64_t>((n + chunks - 1) / chunks, 1), dim);
}

}  // namespace heed
