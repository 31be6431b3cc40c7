// exp, sigmoid, tanh and gelu for float without calls into libm and without branches, so that a
// loop over them vectorises (libm's scalar expf/tanhf were ~40 % of the `lstm` benchmark, erff
// and expf ~35 % of heed-search's training). Cephes' single-precision range reduction and
// polynomials (Moshier, "Methods and Programs for Mathematical Functions", 1989): exp within
// 1 ulp of the exact value, tanh 2, sigmoid 2.5; gelu and its derivative within 1e-6 relative
// (tests/tensor/test_vmath.cpp). float64 keeps std::exp and std::tanh (gradient checks).
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace heed::cpu::vmath {

// Results below the smallest normal float (x < -87.34) are 0 rather than denormal.
inline float exp(float x) {
  const float kMax = 88.7228391f, kMin = -87.3365448f;  // exp(kMin) is the smallest normal float
  float c = x == x ? x : 0.0f;                           // NaN: any finite value, NaN is returned below
  c = c > kMax ? kMax : (c < kMin ? kMin : c);
  // c = n·ln2 + r, |r| <= ln2/2; n rounded to nearest by the 1.5·2^23 trick (no rounding call).
  const float n = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = c - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  // 2^n as two normal factors: n runs from -126 to 128, past what one float exponent holds.
  const int32_t k = static_cast<int32_t>(n), k1 = k / 2, k2 = k - k1;
  const float y = p * std::bit_cast<float>((k1 + 127) << 23) * std::bit_cast<float>((k2 + 127) << 23);
  return x != x ? x : (x < kMin ? 0.0f : (x > kMax ? INFINITY : y));
}

inline float sigmoid(float x) { return 1.0f / (1.0f + vmath::exp(-x)); }

inline float tanh(float x) {
  const float a = x < 0 ? -x : x;
  // |x| < 0.625: an odd polynomial (no cancellation near 0); beyond: 1 - 2 / (e^{2|x|} + 1).
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float large = 1.0f - 2.0f / (vmath::exp(2.0f * a) + 1.0f);
  return a < 0.625f ? small : (x < 0 ? -large : large);
}

// Φ(x), the standard normal CDF, and φ(x), its density. Φ goes through erfc so that the left
// tail keeps its relative accuracy (1 + erf(x/√2) would cancel): erfc(z) = t·exp(−z² + P(t)),
// t = 1/(1 + z/2), Numerical Recipes' Chebyshev fit (Press et al., 2nd ed., §6.2; fractional
// error under 1.2e-7 for every z >= 0). exp(−x²/2) is taken as exp(−xh²/2)·exp(−xl·(xh + xl/2))
// with x = xh + xl and xh of 12 significant bits, so that xh² is exact and the far tails keep
// their accuracy too.
inline void normal_cdf_pdf(float x, float& cdf, float& pdf) {
  const float a = x < 0 ? (x > -20.0f ? -x : 20.0f) : (x < 20.0f ? x : 20.0f);  // saturated beyond 20, NaN too
  const float z = a * 0.70710678118654752f, t = 1.0f / (1.0f + 0.5f * z);
  const float ah = std::bit_cast<float>(std::bit_cast<uint32_t>(a) & 0xfffff000u), al = a - ah;
  const float gauss_high = vmath::exp(-0.5f * ah * ah), gauss_low = -al * (ah + 0.5f * al);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float half_erfc = 0.5f * t * gauss_high * vmath::exp(p + gauss_low);
  cdf = x < 0 ? half_erfc : 1.0f - half_erfc;
  pdf = 0.39894228040143267794f * gauss_high * vmath::exp(gauss_low);
}
// gelu(x) = x·Φ(x) and its derivative Φ(x) + x·φ(x).
inline float gelu(float x) {
  float cdf, pdf;
  normal_cdf_pdf(x, cdf, pdf);
  return x * cdf;
}
inline float gelu_derivative(float x) {
  float cdf, pdf;
  normal_cdf_pdf(x, cdf, pdf);
  return cdf + x * pdf;
}

// The same names for double: the library functions.
inline double exp(double x) { return std::exp(x); }
inline double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
inline double tanh(double x) { return std::tanh(x); }

}  // namespace heed::cpu::vmath
