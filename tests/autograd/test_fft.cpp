// rfft (KISS FFT on the CPU) against the DFT summed directly in long double.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "../helpers.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/random.h"

using namespace heed;

namespace {

// The DFT of each row of x (rows × n) summed directly: (rows, n/2 + 1, 2).
Tensor direct_rfft(const Tensor& x) {
  const int64_t n = x.shape().back(), rows = x.numel() / n, bins = n / 2 + 1;
  const auto v = x.contiguous().to_vector<double>();
  std::vector<double> out;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < bins; ++k) {
      long double re = 0, im = 0;
      for (int64_t t = 0; t < n; ++t) {
        const long double angle = -2 * std::numbers::pi_v<long double> * static_cast<long double>((k * t) % n) / n;
        re += v[size_t(r * n + t)] * std::cos(angle), im += v[size_t(r * n + t)] * std::sin(angle);
      }
      out.push_back(double(re)), out.push_back(double(im));
    }
  Shape shape = x.shape();
  shape.back() = bins;
  shape.push_back(2);
  return from_vector(out, shape, {DType::Float64});
}

}  // namespace

TEST_CASE("rfft matches the directly summed DFT for odd, even, prime and power-of-two lengths") {
  manual_seed(3);
  for (int64_t n : {1, 2, 5, 8, 12, 97, 256}) {
    CAPTURE(n);
    const Tensor x = randn({3, 2, n}, {DType::Float64});
    const Tensor y = rfft(x);
    REQUIRE(y.shape() == Shape{3, 2, n / 2 + 1, 2});
    CHECK_CLOSE(y, direct_rfft(x), 1e-11, 1e-11);
    const Tensor y32 = rfft(x.to(DType::Float32));
    CHECK(y32.dtype() == DType::Float32);
    CHECK_CLOSE(y32.to(DType::Float64), direct_rfft(x), 2e-5 * double(n), 1e-5);
  }
  // A cosine of 3 cycles in 16 samples: all its energy in bin 3, n/2 in the real part.
  std::vector<double> c(16);
  for (size_t t = 0; t < c.size(); ++t) c[t] = std::cos(2 * std::numbers::pi * 3 * double(t) / 16);
  const auto spectrum = rfft(from_vector(c, {16}, {DType::Float64})).to_vector<double>();
  for (size_t k = 0; k < 9; ++k) {
    CHECK(spectrum[2 * k] == doctest::Approx(k == 3 ? 8.0 : 0.0).epsilon(1e-12).scale(1));
    CHECK(spectrum[2 * k + 1] == doctest::Approx(0.0).scale(1).epsilon(1e-12));
  }
  // Non-contiguous input: the rows of a transposed view.
  const Tensor m = randn({16, 4}, {DType::Float64});
  CHECK_CLOSE(rfft(m.t()), direct_rfft(m.t().contiguous()), 1e-11, 1e-11);
}

TEST_CASE("rfft refuses what it cannot transform, and inputs that need a gradient") {
  CHECK_THROWS_WITH_AS(rfft(zeros({4}, {DType::Int64})), doctest::Contains("float32 or float64"), Error);
  CHECK_THROWS_WITH_AS(rfft(zeros({}, {DType::Float32})), doctest::Contains("at least one sample"), Error);
  CHECK_THROWS_WITH_AS(rfft(zeros({3, 0}, {DType::Float32})), doctest::Contains("at least one sample"), Error);
  const Tensor x = randn({8}, {DType::Float64}).requires_grad_();
  CHECK_THROWS_WITH_AS(rfft(x), doctest::Contains("no gradient"), Error);
  CHECK(rfft(x.detach()).shape() == Shape{5, 2});
  autograd::NoGradGuard no_grad;
  CHECK(rfft(x).shape() == Shape{5, 2});
}
