// Shared test helpers: tensor comparison with readable failure messages.
#pragma once
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tensor/tensor.h"

namespace heed::test {

// Max |a-b| - (atol + rtol·|b|) over all elements, <= 0 when close. Shapes must match.
inline std::string close_report(const Tensor& a, const Tensor& b, double atol, double rtol) {
  if (a.shape() != b.shape()) return fmt::format("shapes differ: {} vs {}", a.shape(), b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    bool both_nan = std::isnan(va[i]) && std::isnan(vb[i]);
    bool same_inf = std::isinf(va[i]) && va[i] == vb[i];
    if (both_nan || same_inf) continue;
    if (!(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i])))
      return fmt::format("element {} differs: {} vs {} (|diff| {:.3g})", i, va[i], vb[i], std::abs(va[i] - vb[i]));
  }
  return "";
}

#define CHECK_CLOSE(a, b, atol, rtol)                                     \
  do {                                                                    \
    std::string heed_report_ = ::heed::test::close_report(a, b, atol, rtol); \
    CHECK_MESSAGE(heed_report_.empty(), heed_report_);                    \
  } while (0)

inline std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace heed::test
