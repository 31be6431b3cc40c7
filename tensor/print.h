// Printing tensors the way PyTorch does:
//   tensor([[ 0.1000, -2.0000],
//           [ 3.5000,  4.0000]], dtype=float64, requires_grad=True)
// Large tensors are summarised with "..." (the first and last 3 entries of each long dim).
#pragma once
#include <string>

#include <fmt/format.h>

#include "tensor/tensor.h"

namespace heed {
std::string to_string(const Tensor& t);
}

template <> struct fmt::formatter<heed::Tensor> : fmt::formatter<std::string_view> {
  auto format(const heed::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(heed::to_string(t), ctx);
  }
};
