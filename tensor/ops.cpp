// Raw ops (see ops.h): argument checks, shapes and dtypes, then one Backend call.
#include "tensor/ops.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace heed::raw {
namespace {

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  HEED_CHECK(a.device() == b.device(), "{}: tensors on different devices: {} and {}", op, a.device(), b.device());
}

Backend& be(const Tensor& t) { return backend_for(t.device()); }

}  // namespace

Tensor empty(const Shape& shape, DType dtype, Device device) {
  check_shape_valid(shape, "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel_of(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// ---------------------------------------------------------------- views
Tensor as_strided(const Tensor& x, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = x.dtype();
  return Tensor(std::move(impl));
}

Tensor alias(const Tensor& x) { return as_strided(x, x.shape(), x.strides(), x.offset()); }

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      HEED_CHECK(infer_at < 0, "{}: only one dimension can be -1, got {}", op, shape);
      infer_at = static_cast<int64_t>(i);
    } else {
      HEED_CHECK(out[i] >= 0, "{}: invalid size {} in shape {}", op, out[i], shape);
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    HEED_CHECK(known != 0 && numel % known == 0, "{}: shape {} is invalid for input of size {}", op, shape, numel);
    out[infer_at] = numel / known;
  }
  HEED_CHECK(numel_of(out) == numel, "{}: shape {} is invalid for input of size {}", op, shape, numel);
  return out;
}

// Strides that let `shape` view x's elements in row-major order, if any (PyTorch's rule:
// each run of x's dims that is contiguous in memory may be split or merged freely).
std::optional<Shape> view_strides(const Tensor& x, const Shape& shape) {
  if (x.numel() <= 1 || x.is_contiguous()) return contiguous_strides(shape);
  const Shape& os = x.shape();
  const Shape& ost = x.strides();
  Shape st(shape.size());
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_stride = ost.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t d = x.dim() - 1; d >= 0; --d) {
    tensor_numel *= os[d];
    if (d == 0 || (os[d - 1] != 1 && ost[d - 1] != tensor_numel * chunk_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        st[view_d] = view_numel * chunk_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_stride = ost[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return st;
}

Tensor view(const Tensor& x, const Shape& shape) {
  Shape s = infer_shape(shape, x.numel(), "view");
  auto st = view_strides(x, s);
  HEED_CHECK(st.has_value(),
             "view: shape {} is not compatible with input of shape {} and strides {}; use reshape (copies)", s,
             x.shape(), x.strides());
  return as_strided(x, s, *st, x.offset());
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape s = infer_shape(shape, x.numel(), "reshape");
  if (auto st = view_strides(x, s)) return as_strided(x, s, *st, x.offset());
  return view(contiguous(x), s);
}

Tensor permute(const Tensor& x, const Shape& dims) {
  HEED_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permute: {} dims given for a tensor of {} dims: {}",
             dims.size(), x.dim(), dims);
  Shape shape(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim(), "permute");
    HEED_CHECK(!seen[d], "permute: dim {} repeated in {}", d, dims);
    seen[d] = true;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  return as_strided(x, shape, strides, x.offset());
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  if (x.dim() == 0) return alias(x);
  d0 = wrap_dim(d0, x.dim(), "transpose");
  d1 = wrap_dim(d1, x.dim(), "transpose");
  Shape shape = x.shape(), strides = x.strides();
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  return as_strided(x, shape, strides, x.offset());
}

std::pair<int64_t, int64_t> slice_bounds(int64_t size, int64_t start, int64_t end) {
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  return {start, std::clamp<int64_t>(end, start, size)};
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  HEED_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "slice");
  HEED_CHECK(step > 0, "slice: step must be positive, got {}", step);
  std::tie(start, end) = slice_bounds(x.shape()[dim], start, end);
  Shape shape = x.shape(), strides = x.strides();
  shape[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  return as_strided(x, shape, strides, x.offset() + start * x.strides()[dim]);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  HEED_CHECK(x.dim() > 0, "select: cannot select from a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "select");
  const int64_t n = x.shape()[dim];
  HEED_CHECK(index >= -n && index < n, "select: index {} out of range for dim {} of size {}", index, dim, n);
  if (index < 0) index += n;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  return as_strided(x, shape, strides, x.offset() + index * x.strides()[dim]);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  HEED_CHECK(shape.size() >= static_cast<size_t>(x.dim()), "expand: cannot expand shape {} to fewer dims {}",
             x.shape(), shape);
  const size_t lead = shape.size() - x.dim();
  Shape out(shape.size()), strides(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      HEED_CHECK(shape[i] >= 0, "expand: invalid size {} in {} for a new leading dim", shape[i], shape);
      out[i] = shape[i];
      strides[i] = 0;
      continue;
    }
    int64_t have = x.shape()[i - lead], want = shape[i] == -1 ? have : shape[i];
    HEED_CHECK(have == want || have == 1, "expand: shape {} cannot be expanded to {}", x.shape(), shape);
    out[i] = want;
    strides[i] = have == want ? x.strides()[i - lead] : 0;
  }
  return as_strided(x, out, strides, x.offset());
}

Tensor squeeze(const Tensor& x, std::optional<int64_t> dim) {
  Shape shape, strides;
  std::optional<int64_t> d;
  if (dim) d = wrap_dim(*dim, x.dim(), "squeeze");
  for (int64_t i = 0; i < x.dim(); ++i) {
    bool drop = x.shape()[i] == 1 && (!d || *d == i);
    if (!drop) {
      shape.push_back(x.shape()[i]);
      strides.push_back(x.strides()[i]);
    }
  }
  return as_strided(x, shape, strides, x.offset());
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  int64_t st = dim < x.dim() ? x.strides()[dim] * x.shape()[dim] : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  return as_strided(x, shape, strides, x.offset());
}

// ---------------------------------------------------------------- copies
Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  HEED_CHECK(x.is_floating_point(), "dropout: input must be floating, got {}", x.dtype());
  Tensor xc = contiguous(x);
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  be(x).dropout(xc, out, p, seed, offset);
  return out;
}

Tensor clone(const Tensor& x) {
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  be(x).copy(x, out);
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = empty(x.shape(), dtype, x.device());
  be(x).copy(x, out);
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Tensor src = contiguous(x);
  Tensor out = empty(x.shape(), x.dtype(), device);
  const size_t nbytes = static_cast<size_t>(x.numel()) * dtype_size(x.dtype());
  if (device.is_cpu()) {
    be(src).copy_to_host(out.raw_data(), src.raw_data(), nbytes);
  } else if (src.device().is_cpu()) {
    backend_for(device).copy_from_host(out.raw_data(), src.raw_data(), nbytes);
  } else {  // device to device, through the host
    return to_device(to_device(src, Device::cpu()), device);
  }
  return out;
}

void copy_(const Tensor& dst, const Tensor& src) {
  check_same_device(dst, src, "copy_");
  be(dst).copy(expand(src, dst.shape()), dst);
}

void binary_(BinaryOp op, const Tensor& dst, const Tensor& src) {
  check_same_device(dst, src, "binary_");
  HEED_CHECK(dst.dtype() == src.dtype(), "{}_: dtypes differ: {} and {}", op_name(op), dst.dtype(), src.dtype());
  HEED_CHECK(!result_is_bool(op), "{}_: a comparison has no in-place form", op_name(op));
  be(dst).binary(op, dst, expand(src, dst.shape()), dst);  // elementwise: out may alias x exactly
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  HEED_CHECK(!xs.empty(), "cat: expected at least one tensor");
  const Tensor& first = xs[0];
  HEED_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated");
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[dim] = 0;
  for (const Tensor& x : xs) {
    HEED_CHECK(x.dim() == first.dim() && x.dtype() == first.dtype(),
               "cat: tensors must have the same number of dims and dtype: {} {} vs {} {}", first.shape(),
               first.dtype(), x.shape(), x.dtype());
    check_same_device(first, x, "cat");
    for (int64_t d = 0; d < x.dim(); ++d)
      HEED_CHECK(d == dim || x.shape()[d] == first.shape()[d],
                 "cat: sizes must match except in dim {}: {} vs {}", dim, first.shape(), x.shape());
    shape[dim] += x.shape()[dim];
  }
  Tensor out = empty(shape, first.dtype(), first.device());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    be(x).copy(x, slice(out, dim, at, at + x.shape()[dim], 1));
    at += x.shape()[dim];
  }
  return out;
}

// ---------------------------------------------------------------- elementwise
Tensor unary(UnaryOp op, const Tensor& x, double a, double b) {
  HEED_CHECK(works_on_integers(op) || x.is_floating_point(), "{}: expected a floating dtype, got {} (shape {})",
             op_name(op), x.dtype(), x.shape());
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  be(x).unary(op, x, out, a, b);
  return out;
}

namespace {
// PyTorch's rule: a 0-d operand does not widen a same-kind dimensioned one (float32 + 0-d
// float64 stays float32).
DType result_dtype(const Tensor& x, const Tensor& y) {
  if (x.dim() == 0 && y.dim() > 0 && is_floating(x.dtype()) == is_floating(y.dtype())) return y.dtype();
  if (y.dim() == 0 && x.dim() > 0 && is_floating(x.dtype()) == is_floating(y.dtype())) return x.dtype();
  return promote(x.dtype(), y.dtype());
}
}  // namespace

Tensor binary(BinaryOp op, const Tensor& x, const Tensor& y) {
  check_same_device(x, y, op_name(op));
  Shape shape = broadcast_shapes(x.shape(), y.shape(), op_name(op));
  DType dt = result_dtype(x, y);
  if (op == BinaryOp::Div && !is_floating(dt)) dt = DType::Float32;  // true division
  Tensor xc = to_dtype(x, dt), yc = to_dtype(y, dt);
  Tensor xe = xc.shape() == shape ? xc : expand(xc, shape), ye = yc.shape() == shape ? yc : expand(yc, shape);
  Tensor out = empty(shape, result_is_bool(op) ? kBool : dt, x.device());
  be(x).binary(op, xe, ye, out);
  return out;
}

Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y) {
  HEED_CHECK(cond.dtype() == kBool, "where: condition must be uint8 (bool), got {}", cond.dtype());
  check_same_device(x, y, "where");
  check_same_device(cond, x, "where");
  Shape shape = broadcast_shapes(cond.shape(), broadcast_shapes(x.shape(), y.shape(), "where"), "where");
  DType dt = result_dtype(x, y);
  Tensor out = empty(shape, dt, x.device());
  be(x).where(expand(cond, shape), expand(to_dtype(x, dt), shape), expand(to_dtype(y, dt), shape), out);
  return out;
}

Tensor fill_like(const Tensor& x, double value) {
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  be(x).fill(out, value);
  return out;
}

// ---------------------------------------------------------------- reductions
Shape reduce_dims(const Tensor& x, const Shape& dims, const char* op) {
  Shape out;
  if (dims.empty()) {
    out.resize(x.dim());
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, x.dim(), op));
  std::sort(out.begin(), out.end());
  HEED_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), "{}: dim repeated in {}", op, dims);
  if (x.dim() == 0) out.clear();
  return out;
}

Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) {
  const char* name = op == ReduceOp::Sum ? "sum" : op == ReduceOp::Max ? "max" : "min";
  Shape rd = reduce_dims(x, dims, name);
  Shape kshape = x.shape(), shape;
  for (int64_t d : rd) {
    HEED_CHECK(op == ReduceOp::Sum || x.shape()[d] > 0, "{}: cannot reduce over dim {} of size 0 (shape {})", name,
               d, x.shape());
    kshape[d] = 1;
  }
  for (int64_t d = 0; d < x.dim(); ++d)
    if (keepdim || !std::binary_search(rd.begin(), rd.end(), d)) shape.push_back(kshape[d]);
  Tensor src = (op == ReduceOp::Sum && !x.is_floating_point()) ? to_dtype(x, DType::Int64) : x;
  Tensor out = empty(kshape, src.dtype(), x.device());
  if (x.numel() == 0) be(x).fill(out, 0);
  else be(x).reduce(op, src, out);
  return as_strided(out, shape, contiguous_strides(shape), 0);
}

Tensor arg_reduce(ReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  const char* name = op == ReduceOp::Max ? "argmax" : "argmin";
  if (!dim) {
    HEED_CHECK(x.numel() > 0, "{}: empty tensor", name);
    Tensor flat = reshape(x, {x.numel()});
    Tensor r = arg_reduce(op, flat, 0, false);
    return keepdim ? reshape(r, Shape(x.dim(), 1)) : r;
  }
  if (x.dim() == 0) return fill_like(to_dtype(x, DType::Int64), 0);
  int64_t d = wrap_dim(*dim, x.dim(), name);
  HEED_CHECK(x.shape()[d] > 0, "{}: cannot reduce over dim {} of size 0 (shape {})", name, d, x.shape());
  Shape kshape = x.shape();
  kshape[d] = 1;
  Tensor out = empty(kshape, DType::Int64, x.device());
  be(x).arg_reduce(op, x, d, out);
  return keepdim ? out : squeeze(out, d);
}

Tensor softmax(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  HEED_CHECK(x.is_floating_point(), "{}: expected a floating dtype, got {}", name, x.dtype());
  if (x.dim() == 0) return log ? fill_like(x, 0) : fill_like(x, 1);
  dim = wrap_dim(dim, x.dim(), name);
  Tensor moved = contiguous(transpose(x, dim, -1));
  Tensor out = empty(moved.shape(), x.dtype(), x.device());
  be(x).softmax(moved, out, log);
  return transpose(out, dim, -1);
}

Tensor rfft(const Tensor& x) {
  HEED_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, "rfft: expected float32 or float64, got {}",
             x.dtype());
  HEED_CHECK(x.dim() >= 1 && x.shape().back() >= 1, "rfft: expected at least one sample in the last dim, got {}",
             x.shape());
  Tensor in = contiguous(x);
  Shape shape = x.shape();
  shape.back() = x.shape().back() / 2 + 1;
  shape.push_back(2);
  Tensor out = empty(shape, x.dtype(), x.device());
  be(x).rfft(in, out);
  return out;
}

// ---------------------------------------------------------------- linear algebra
Tensor matmul(const Tensor& a, const Tensor& b) {
  HEED_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, got {} @ {}", a.shape(),
             b.shape());
  HEED_CHECK(a.dtype() == b.dtype(), "matmul: dtypes differ: {} {} @ {} {}", a.shape(), a.dtype(), b.shape(),
             b.dtype());
  check_same_device(a, b, "matmul");
  Tensor A = a.dim() == 1 ? unsqueeze(a, 0) : a;   // (K) -> (1, K)
  Tensor B = b.dim() == 1 ? unsqueeze(b, 1) : b;   // (K) -> (K, 1)
  const int64_t M = A.shape()[A.dim() - 2], K = A.shape()[A.dim() - 1];
  const int64_t K2 = B.shape()[B.dim() - 2], N = B.shape()[B.dim() - 1];
  HEED_CHECK(K == K2, "matmul: inner dimensions differ: {} @ {}", a.shape(), b.shape());
  Shape ba(A.shape().begin(), A.shape().end() - 2), bb(B.shape().begin(), B.shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb, "matmul");
  const int64_t nb = numel_of(batch);
  auto to3 = [&](const Tensor& t, int64_t r, int64_t c) {
    Shape full = batch;
    full.push_back(r);
    full.push_back(c);
    return reshape(expand(t, full), {nb, r, c});
  };
  Tensor out = empty({nb, M, N}, a.dtype(), a.device());
  be(a).gemm(to3(A, M, K), to3(B, K, N), out);
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(M);
  if (b.dim() > 1) shape.push_back(N);
  return view(out, shape);
}

// ---------------------------------------------------------------- indexing
namespace {
void check_index_range(const Tensor& index, int64_t size, const char* op, const Tensor& x, int64_t dim) {
  HEED_CHECK(index.dtype() == DType::Int64, "{}: index must be int64, got {}", op, index.dtype());
  if (index.numel() == 0) return;
  const int64_t lo = static_cast<int64_t>(reduce(ReduceOp::Min, index, {}, false).item());
  const int64_t hi = static_cast<int64_t>(reduce(ReduceOp::Max, index, {}, false).item());
  HEED_CHECK(lo >= 0 && hi < size, "{}: index {} out of range for dim {} of size {} (tensor shape {})", op,
             lo < 0 ? lo : hi, dim, size, x.shape());
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  HEED_CHECK(index.dim() <= 1, "index_select: index must be 0-d or 1-D, got shape {}", index.shape());
  check_same_device(x, index, "index_select");
  HEED_CHECK(x.dim() > 0, "index_select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "index_select");
  check_index_range(index, x.shape()[dim], "index_select", x, dim);
  Tensor idx = contiguous(reshape(index, {index.numel()}));
  Shape shape = x.shape();
  shape[dim] = idx.numel();
  Tensor out = empty(shape, x.dtype(), x.device());
  be(x).index_select(x, dim, idx, out);
  return out;
}

Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  check_same_device(self, src, "index_add");
  HEED_CHECK(self.dtype() == src.dtype(), "index_add: dtypes differ: {} vs {}", self.dtype(), src.dtype());
  dim = wrap_dim(dim, self.dim(), "index_add");
  HEED_CHECK(index.dim() <= 1, "index_add: index must be 0-d or 1-D, got shape {}", index.shape());
  check_index_range(index, self.shape()[dim], "index_add", self, dim);
  Shape want = self.shape();
  want[dim] = index.numel();
  HEED_CHECK(src.shape() == want, "index_add: source shape {} does not match {}", src.shape(), want);
  Tensor out = clone(self);
  be(self).index_add(out, dim, contiguous(reshape(index, {index.numel()})), src);
  return out;
}

namespace {
void check_gather_shapes(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  HEED_CHECK(index.dim() == x.dim(), "{}: index has {} dims, tensor has {} (shapes {} and {})", op, index.dim(),
             x.dim(), index.shape(), x.shape());
  for (int64_t d = 0; d < x.dim(); ++d)
    HEED_CHECK(d == dim || index.shape()[d] <= x.shape()[d], "{}: index shape {} exceeds tensor shape {} in dim {}",
               op, index.shape(), x.shape(), d);
  check_index_range(index, x.shape()[dim], op, x, dim);
}
}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_same_device(x, index, "gather");
  dim = wrap_dim(dim, x.dim(), "gather");
  check_gather_shapes(x, dim, index, "gather");
  Tensor out = empty(index.shape(), x.dtype(), x.device());
  be(x).gather(x, dim, index, out);
  return out;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  check_same_device(self, src, "scatter_add");
  HEED_CHECK(self.dtype() == src.dtype(), "scatter_add: dtypes differ: {} vs {}", self.dtype(), src.dtype());
  dim = wrap_dim(dim, self.dim(), "scatter_add");
  check_gather_shapes(self, dim, index, "scatter_add");
  for (int64_t d = 0; d < src.dim() && d < index.dim(); ++d)
    HEED_CHECK(index.shape()[d] <= src.shape()[d], "scatter_add: index shape {} exceeds source shape {}",
               index.shape(), src.shape());
  HEED_CHECK(src.dim() == index.dim(), "scatter_add: source has {} dims, index has {}", src.dim(), index.dim());
  Tensor out = clone(self);
  Tensor s = as_strided(src, index.shape(), src.strides(), src.offset());
  be(self).scatter_add(out, dim, index, s);
  return out;
}

}  // namespace heed::raw
