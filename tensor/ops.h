// Raw ops: compute on tensor data without recording any graph. They check arguments, work out
// shapes (broadcasting, type promotion), allocate outputs and call the device's Backend.
// autograd/ wraps each of them with a backward; users call those wrappers (heed::exp, ...).
#pragma once
#include <optional>
#include <vector>

#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace heed::raw {

Tensor empty(const Shape& shape, DType dtype, Device device);

// ---- views (share storage, no copy) ----
Tensor as_strided(const Tensor& x, const Shape& shape, const Shape& strides, int64_t offset);
Shape infer_shape(const Shape& shape, int64_t numel, const char* op);  // resolves one -1
std::optional<Shape> view_strides(const Tensor& x, const Shape& shape);  // nullopt: needs a copy
Tensor view(const Tensor& x, const Shape& shape);
Tensor reshape(const Tensor& x, const Shape& shape);  // view, or copy when a view is impossible
Tensor permute(const Tensor& x, const Shape& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
// Python-style bounds: negative counts from the end, clamped into [0, size].
std::pair<int64_t, int64_t> slice_bounds(int64_t size, int64_t start, int64_t end);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor alias(const Tensor& x);  // a new TensorImpl over the same data, no autograd state

// ---- copies ----
Tensor contiguous(const Tensor& x);  // x itself when already contiguous
Tensor clone(const Tensor& x);
Tensor to_dtype(const Tensor& x, DType dtype);
Tensor to_device(const Tensor& x, Device device);
void copy_(const Tensor& dst, const Tensor& src);  // src broadcast to dst's shape, dtype converted
// dst = op(dst, src) in place, src broadcast to dst's shape; same dtype, no new memory.
void binary_(BinaryOp op, const Tensor& dst, const Tensor& src);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);

// ---- elementwise ----
Tensor unary(UnaryOp op, const Tensor& x, double a = 0, double b = 0);
Tensor binary(BinaryOp op, const Tensor& x, const Tensor& y);
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);
Tensor fill_like(const Tensor& x, double value);

// ---- reductions; empty dims = all ----
Shape reduce_dims(const Tensor& x, const Shape& dims, const char* op);  // sorted, wrapped, unique
Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim);
Tensor arg_reduce(ReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor softmax(const Tensor& x, int64_t dim, bool log);
Tensor rfft(const Tensor& x);  // over the last dim: (…, n) -> (…, n/2 + 1, 2)

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- indexing ----
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);

// ---- random (from the default generator; tensor/random.h) ----
Tensor random(RandomKind kind, const Shape& shape, double a, double b, Options o);
// x · (kept ? 1/(1−p) : 0), element i of x (row-major) kept when
// philox::uniform(seed, offset, i) < 1 − p.
Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset);

}  // namespace heed::raw
