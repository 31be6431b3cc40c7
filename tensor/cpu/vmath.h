// exp, sigmoid and tanh for float without calls into libm and without branches, so that a loop
// over them vectorises (libm's scalar expf/tanhf were ~40 % of the `lstm` benchmark). Cephes'
// single-precision range reduction and polynomials (Moshier, "Methods and Programs for
// Mathematical Functions", 1989): exp within 1 ulp of the exact value, tanh 2, sigmoid 2.5
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

// The same names for double: the library functions.
inline double exp(double x) { return std::exp(x); }
inline double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
inline double tanh(double x) { return std::tanh(x); }

}  // namespace heed::cpu::vmath
