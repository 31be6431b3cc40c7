// Philox4x32-10: a counter-based random generator (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC'11). Element i of a fill draws from counter (offset + i / 4, key =
// seed), so any device computes the same numbers for the same seed, in any order.
#pragma once
#include <cstdint>

#include "tensor/functors.h"  // HEED_HD

namespace heed::philox {

struct U32x4 {
  uint32_t v[4];
};

HEED_HD inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Four 32-bit random words for a 64-bit counter and a 64-bit key.
HEED_HD inline U32x4 draw(uint64_t counter, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits (exactly representable in float32).
HEED_HD inline double to_unit(uint32_t x) { return static_cast<double>(x >> 8) * (1.0 / 16777216.0); }

// The uniform value for element i of a fill.
HEED_HD inline double uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  U32x4 r = draw(offset + i / 4, seed);
  return to_unit(r.v[i % 4]);
}

// Standard normal for element i (Box-Muller on a pair of words of the same draw).
HEED_HD inline double normal(uint64_t seed, uint64_t offset, uint64_t i) {
  U32x4 r = draw(offset + i / 2, seed);
  int k = static_cast<int>(i % 2);
  double u1 = (static_cast<double>(r.v[2 * k] >> 8) + 1.0) * (1.0 / 16777217.0);  // (0, 1]
  double u2 = to_unit(r.v[2 * k + 1]);
  double radius = std::sqrt(-2.0 * std::log(u1));
  return radius * std::cos(6.283185307179586 * u2);
}

}  // namespace heed::philox
