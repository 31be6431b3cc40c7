// The walk of N operands over one shape: dims of size 1 dropped, dims that every operand steps
// through as one merged, strides in bytes. Plain data, so the CPU loops (tensor/cpu/loops.h)
// and the CUDA kernels (cuda/kernels.h) share it; cpu::make_layout builds it from tensors.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/functors.h"  // HEED_HD

namespace heed {

inline constexpr int kMaxDims = 16;

template <size_t N>
struct Layout {
  int ndim = 0;
  int64_t size[kMaxDims];
  int64_t stride[N][kMaxDims];  // bytes

  HEED_HD int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= size[d];
    return n;
  }
  // Byte offsets of linear element i (row-major over size) in each operand.
  HEED_HD void offsets(int64_t i, int64_t* off) const {
    for (size_t k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t idx = i % size[d];
      i /= size[d];
      for (size_t k = 0; k < N; ++k) off[k] += idx * stride[k][d];
    }
  }
};

// The layout of `shape` (ndim ≤ kMaxDims) walked by N operands with the given strides (in
// elements) and element sizes.
template <size_t N>
Layout<N> build_layout(int ndim, const int64_t* shape, const int64_t* const (&strides)[N],
                       const int64_t (&itemsize)[N]) {
  Layout<N> l;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;  // size-1 dims never move a pointer
    l.size[l.ndim] = shape[d];
    for (size_t k = 0; k < N; ++k) l.stride[k][l.ndim] = strides[k][d] * itemsize[k];
    ++l.ndim;
  }
  // Merge dim d into d-1 when every operand steps through both as one.
  int out = 0;
  for (int d = 1; d < l.ndim; ++d) {
    bool merge = true;
    for (size_t k = 0; k < N; ++k) merge &= l.stride[k][out] == l.stride[k][d] * l.size[d];
    if (merge) {
      l.size[out] *= l.size[d];
    } else {
      ++out;
      l.size[out] = l.size[d];
    }
    for (size_t k = 0; k < N; ++k) l.stride[k][out] = l.stride[k][d];
  }
  l.ndim = l.ndim == 0 ? 0 : out + 1;
  if (l.ndim == 0) {  // a single element
    l.ndim = 1;
    l.size[0] = 1;
    for (size_t k = 0; k < N; ++k) l.stride[k][0] = 0;
  }
  return l;
}

}  // namespace heed
