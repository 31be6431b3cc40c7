// Strided loops for the CPU backend: walk N operands of one shape together, row by row.
// Operand 0 is usually the output. Dims are coalesced first (a contiguous tensor becomes one
// long row), and long walks are split across OpenMP threads by element range.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "tensor/make_layout.h"

namespace heed::cpu {

inline constexpr int64_t kParallelGrain = 32768;  // elements below which one thread does the work

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
  const int64_t numel = l.numel();
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
