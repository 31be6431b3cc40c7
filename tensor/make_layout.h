// How a backend reads tensors, shared by the CPU and the device backend: the Layout
// (tensor/layout.h) of N tensors walked together over one shape, the dims of a reduction, and a
// matrix as BLAS reads it.
#pragma once
#include <algorithm>
#include <array>

#include "tensor/layout.h"
#include "tensor/tensor.h"

namespace heed {

// Layout of `shape` walked by tensors `ts` (each viewed with that shape through its strides).
template <size_t N>
Layout<N> make_layout(const Shape& shape, const std::array<const Tensor*, N>& ts) {
  HEED_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "tensors of more than {} dims are not supported",
             kMaxDims);
  const int64_t* strides[N];
  int64_t itemsize[N];
  for (size_t k = 0; k < N; ++k) {
    strides[k] = ts[k]->strides().data();
    itemsize[k] = static_cast<int64_t>(dtype_size(ts[k]->dtype()));
  }
  return build_layout<N>(static_cast<int>(shape.size()), shape.data(), strides, itemsize);
}

// x's dims for a reduction into out (out has size 1 in every reduced dim): the kept ones, walked
// together by x and out (one output each), and the reduced ones, combined from there.
struct ReduceDims {
  Shape kept_shape, kept_x, kept_out, reduced_shape, reduced_x;  // sizes, then strides
};
inline ReduceDims split_reduce_dims(const Tensor& x, const Tensor& out) {
  ReduceDims r;
  for (int64_t d = 0; d < x.dim(); ++d) {
    const bool reduced = out.shape()[d] == 1 && x.shape()[d] != 1;
    (reduced ? r.reduced_shape : r.kept_shape).push_back(x.shape()[d]);
    (reduced ? r.reduced_x : r.kept_x).push_back(x.strides()[d]);
    if (!reduced) r.kept_out.push_back(out.strides()[d]);
  }
  return r;
}

// A matrix of a (batch, rows, cols) tensor as BLAS reads it: row-major with a unit stride in the
// last dim (`trans` false), or transposed with a unit stride in the first (`trans` true), `ld`
// the other stride; `ok` false when neither holds (the caller copies it to contiguous first).
struct BlasMatrix {
  bool ok, trans;
  int64_t ld;
};
inline BlasMatrix blas_matrix(const Tensor& t) {
  const int64_t r = t.shape()[1], c = t.shape()[2], s0 = t.strides()[1], s1 = t.strides()[2];
  if ((c == 1 || s1 == 1) && (r == 1 || s0 >= std::max<int64_t>(c, 1)))
    return {true, false, r == 1 ? std::max<int64_t>(c, 1) : s0};
  if ((r == 1 || s0 == 1) && (c == 1 || s1 >= std::max<int64_t>(r, 1)))
    return {true, true, c == 1 ? std::max<int64_t>(r, 1) : s1};
  return {false, false, 0};
}

}  // namespace heed
