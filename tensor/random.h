// Random tensors from a seedable counter-based generator (Philox, tensor/philox.h). Each draw
// takes a fresh range of counters, so results depend only on the seed and the order of calls,
// never on the device or the thread count.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace heed {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // The whole state is (seed, offset): saving both and restoring them replays the same stream.
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  // Reserves `n` counters and returns the first.
  uint64_t advance(uint64_t n) {
    uint64_t at = offset_;
    offset_ += n;
    return at;
  }

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);  // reseeds the default generator

Tensor rand(const Shape& shape, Options o = {});                  // uniform in [0, 1)
Tensor randn(const Shape& shape, Options o = {});                 // standard normal
Tensor uniform(const Shape& shape, double lo, double hi, Options o = {});
Tensor normal(const Shape& shape, double mean, double std, Options o = {});
Tensor randint(int64_t low, int64_t high, const Shape& shape, Options o = {DType::Int64});  // [low, high)
Tensor bernoulli(const Shape& shape, double p, Options o = {});  // 1 with probability p, else 0
Tensor randperm(int64_t n, Options o = {DType::Int64});

}  // namespace heed
