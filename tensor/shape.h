// Shapes and strides: helpers shared by every op (numel, contiguous strides, broadcasting,
// dimension wrapping). Strides are in elements, not bytes.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tensor/error.h"

namespace heed {

using Shape = std::vector<int64_t>;

inline int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

inline Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i] > 1 ? shape[i] : 1;
  }
  return strides;
}

// Wraps a possibly negative dim into [0, ndim); `op` names the caller in the error.
inline int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op) {
  int64_t n = ndim == 0 ? 1 : ndim;  // a 0-d tensor accepts dim 0 and -1, as in PyTorch
  HEED_CHECK(dim >= -n && dim < n, "{}: dim {} out of range for a tensor of {} dims", op, dim, ndim);
  return dim < 0 ? dim + n : dim;
}

// NumPy broadcasting: dims aligned from the right; each pair equal, or one of them 1.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    HEED_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast together", op,
               a, b);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

inline void check_shape_valid(const Shape& shape, std::string_view op) {
  for (int64_t s : shape) HEED_CHECK(s >= 0, "{}: negative size in shape {}", op, shape);
}

}  // namespace heed
