// Strided loops for the CPU backend: walk N operands of one shape together, row by row.
// Operand 0 is usually the output. Dims are coalesced first (a contiguous tensor becomes one
// long row), and long walks are split across OpenMP threads by element range.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "tensor/tensor.h"

namespace heed::cpu {

inline constexpr int kMaxDims = 16;
inline constexpr int64_t kParallelGrain = 32768;  // elements below which one thread does the work

template <size_t N>
struct Layout {
  int ndim = 0;
  int64_t size[kMaxDims];
  int64_t stride[N][kMaxDims];  // bytes
};

// Layout of `shape` walked by tensors `ts` (each viewed with that shape through its strides).
template <size_t N>
Layout<N> make_layout(const Shape& shape, const std::array<const Tensor*, N>& ts) {
  HEED_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "cpu: tensors of more than {} dims are not supported",
             kMaxDims);
  Layout<N> l;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // size-1 dims never move a pointer
    l.size[l.ndim] = shape[d];
    for (size_t k = 0; k < N; ++k)
      l.stride[k][l.ndim] = ts[k]->strides()[d] * static_cast<int64_t>(dtype_size(ts[k]->dtype()));
    ++l.ndim;
  }
  // Merge dim d into d-1 when every operand steps through both as one.
  int out = 0;
  for (int d = 1; d < l.ndim; ++d) {
    bool merge = true;
    for (size_t k = 0; k < N; ++k) merge &= l.stride[k][out] == l.stride[k][d] * l.size[d];
    if (merge) {
      l.size[out] *= l.size[d];
      for (size_t k = 0; k < N; ++k) l.stride[k][out] = l.stride[k][d];
    } else {
      ++out;
      l.size[out] = l.size[d];
      for (size_t k = 0; k < N; ++k) l.stride[k][out] = l.stride[k][d];
    }
  }
  l.ndim = l.ndim == 0 ? 0 : out + 1;
  if (l.ndim == 0) {  // a single element
    l.ndim = 1;
    l.size[0] = 1;
    for (size_t k = 0; k < N; ++k) l.stride[k][0] = 0;
  }
  return l;
}

template <size_t N>
int64_t layout_numel(const Layout<N>& l) {
  int64_t n = 1;
  for (int d = 0; d < l.ndim; ++d) n *= l.size[d];
  return n;
}

// Calls row(ptrs, strides, n) for each run of up to n elements along the last dim, covering
// linear elements [begin, end) of the layout.
template <size_t N, typename Row>
void walk_range(const Layout<N>& l, const std::array<char*, N>& base, int64_t begin, int64_t end, Row& row) {
  if (begin >= end) return;
  const int last = l.ndim - 1;
  int64_t idx[kMaxDims];
  int64_t rem = begin;
  for (int d = last; d >= 0; --d) {
    idx[d] = rem % l.size[d];
    rem /= l.size[d];
  }
  int64_t inner_stride[N];
  for (size_t k = 0; k < N; ++k) inner_stride[k] = l.stride[k][last];
  char* ptr[N];
  while (begin < end) {
    for (size_t k = 0; k < N; ++k) {
      char* p = base[k];
      for (int d = 0; d < l.ndim; ++d) p += idx[d] * l.stride[k][d];
      ptr[k] = p;
    }
    int64_t n = std::min(l.size[last] - idx[last], end - begin);
    row(ptr, inner_stride, n);
    begin += n;
    idx[last] += n;
    for (int d = last; d > 0 && idx[d] == l.size[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// Walks the whole layout, in parallel when it is long enough.
template <size_t N, typename Row>
void walk(const Layout<N>& l, const std::array<char*, N>& base, Row row, bool parallel = true) {
  const int64_t numel = layout_numel(l);
  if (!parallel || numel < kParallelGrain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    walk_range(l, base, 0, numel, row);
    return;
  }
#pragma omp parallel
  {
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    Row local = row;
    walk_range(l, base, numel * t / nt, numel * (t + 1) / nt, local);
  }
}

template <size_t N>
std::array<char*, N> bases(const std::array<const Tensor*, N>& ts) {
  std::array<char*, N> b;
  for (size_t k = 0; k < N; ++k) b[k] = static_cast<char*>(ts[k]->raw_data());
  return b;
}

}  // namespace heed::cpu
