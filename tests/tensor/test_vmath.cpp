// tensor/cpu/vmath.h: the branch-free float exp, sigmoid and tanh of the CPU kernels, against
// the float64 library functions over the whole float range.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tensor/cpu/vmath.h"

namespace vm = heed::cpu::vmath;

namespace {
// Largest error in units of the float spacing at the exact value (ulp), over x in [lo, hi].
template <class Fast, class Exact>
double worst_ulps(float lo, float hi, Fast fast, Exact exact, double smallest = 1.1754944e-38) {
  double worst = 0;
  for (float x = lo; x <= hi; x = std::nextafter(x + std::fabs(x) * 3e-5f, hi + 1)) {
    const double e = exact(double(x));
    if (std::fabs(e) < smallest || !std::isfinite(float(e))) continue;
    const double ulp = std::nextafter(float(std::fabs(e)), INFINITY) - float(std::fabs(e));
    worst = std::max(worst, std::fabs(double(fast(x)) - e) / ulp);
  }
  return worst;
}
}  // namespace

TEST_CASE("vmath: exp within 1 ulp of the exact values, tanh within 2, sigmoid within 2.5") {
  CHECK(worst_ulps(-87.3f, 88.7f, [](float x) { return vm::exp(x); }, [](double x) { return std::exp(x); }) <= 1.0);
  CHECK(worst_ulps(-87.0f, 30.0f, [](float x) { return vm::sigmoid(x); },
                   [](double x) { return 1.0 / (1.0 + std::exp(-x)); }) <= 2.5);
  CHECK(worst_ulps(-20.0f, 20.0f, [](float x) { return vm::tanh(x); }, [](double x) { return std::tanh(x); }) <= 2.0);
  CHECK(worst_ulps(-1e-3f, 1e-3f, [](float x) { return vm::tanh(x); }, [](double x) { return std::tanh(x); },
                   1e-30) <= 2.0);  // no cancellation near 0
}

TEST_CASE("vmath: edges and special values") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(vm::exp(0.0f) == 1.0f);
  CHECK(vm::exp(-inf) == 0.0f);  // masked attention scores get exactly zero weight
  CHECK(vm::exp(-100.0f) == 0.0f);
  CHECK(vm::exp(inf) == inf);
  CHECK(vm::exp(89.0f) == inf);
  CHECK(std::isfinite(vm::exp(88.72f)));  // 2^128 would overflow one exponent field; the result does not
  CHECK(std::isnan(vm::exp(nan)));
  CHECK(vm::sigmoid(inf) == 1.0f);
  CHECK(vm::sigmoid(-inf) == 0.0f);
  CHECK(vm::tanh(0.0f) == 0.0f);
  CHECK(vm::tanh(inf) == 1.0f);
  CHECK(vm::tanh(-inf) == -1.0f);
  CHECK(std::isnan(vm::tanh(nan)));
  CHECK(vm::exp(1.5) == std::exp(1.5));  // float64 keeps the library functions
}

TEST_CASE("vmath: gelu and its derivative within 1e-6 relative, also in the left tail") {
  auto cdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  auto exact_gelu = [&](double x) { return x * cdf(x); };
  auto exact_derivative = [&](double x) { return cdf(x) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); };
  double worst_gelu = 0, worst_derivative = 0;
  for (float x = -12.0f; x <= 12.0f; x += 1.0f / 1024) {
    const double g = exact_gelu(x), d = exact_derivative(x);
    worst_gelu = std::max(worst_gelu, std::fabs(vm::gelu(x) - g) / std::max(std::fabs(g), 1e-30));
    // The derivative crosses zero near x = -0.75: there, error against its scale (1).
    worst_derivative = std::max(worst_derivative, std::fabs(vm::gelu_derivative(x) - d) / std::max(std::fabs(d), 1.0));
  }
  INFO("gelu ", worst_gelu, ", derivative ", worst_derivative);
  CHECK(worst_gelu <= 1e-6);
  CHECK(worst_derivative <= 1e-6);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(vm::gelu(0.0f) == 0.0f);
  CHECK(vm::gelu(inf) == inf);
  CHECK(vm::gelu(-30.0f) == 0.0f);
  CHECK(vm::gelu_derivative(30.0f) == 1.0f);
  CHECK(vm::gelu_derivative(-30.0f) == 0.0f);
  CHECK(std::isnan(vm::gelu(std::numeric_limits<float>::quiet_NaN())));
}
