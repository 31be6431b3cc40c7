// Builds the Layout (tensor/layout.h) of N tensors walked together over one shape: the CPU
// loops and the device backend both start from it.
#pragma once
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

}  // namespace heed
