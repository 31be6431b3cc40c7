#include "tensor/random.h"

#include "tensor/ops.h"

#include <algorithm>

namespace heed {

Generator& default_generator() {
  static Generator g(0);
  return g;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace raw {
Tensor random(RandomKind kind, const Shape& shape, double a, double b, Options o) {
  check_shape_valid(shape, "random");
  DType dt = is_floating(o.dtype) ? o.dtype : DType::Float64;
  Tensor out = empty(shape, dt, o.device);
  const uint64_t offset = default_generator().advance(static_cast<uint64_t>(out.numel()));
  backend_for(o.device).random(kind, out, default_generator().seed(), offset, a, b);
  return out;
}
}  // namespace raw

namespace {
Tensor finish(Tensor t, Options o) {
  if (o.requires_grad) t.requires_grad_();
  return t;
}
}  // namespace

Tensor rand(const Shape& shape, Options o) { return uniform(shape, 0, 1, o); }
Tensor randn(const Shape& shape, Options o) { return normal(shape, 0, 1, o); }

Tensor uniform(const Shape& shape, double lo, double hi, Options o) {
  HEED_CHECK(is_floating(o.dtype), "uniform: dtype must be floating, got {}", o.dtype);
  HEED_CHECK(lo <= hi, "uniform: lo {} is above hi {}", lo, hi);
  return finish(raw::random(RandomKind::Uniform, shape, lo, hi, o), o);
}

Tensor normal(const Shape& shape, double mean, double std, Options o) {
  HEED_CHECK(is_floating(o.dtype), "normal: dtype must be floating, got {}", o.dtype);
  HEED_CHECK(std >= 0, "normal: std must be non-negative, got {}", std);
  return finish(raw::random(RandomKind::Normal, shape, mean, std, o), o);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Options o) {
  HEED_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  Tensor u = raw::random(RandomKind::Uniform, shape, static_cast<double>(low), static_cast<double>(high),
                         {DType::Float64, o.device});
  Tensor f = raw::unary(UnaryOp::Clamp, u, static_cast<double>(low), static_cast<double>(high - 1));
  return raw::to_dtype(f, o.dtype);  // float -> int truncates toward zero, i.e. floor for [low, high) ≥ 0
}

Tensor bernoulli(const Shape& shape, double p, Options o) {
  HEED_CHECK(p >= 0 && p <= 1, "bernoulli: p must be in [0, 1], got {}", p);
  Tensor u = raw::random(RandomKind::Uniform, shape, 0, 1, {DType::Float64, o.device});
  Tensor mask = raw::binary(BinaryOp::Lt, u, raw::fill_like(raw::empty({}, DType::Float64, o.device), p));
  return raw::to_dtype(mask, o.dtype);
}

Tensor randperm(int64_t n, Options o) {
  HEED_CHECK(n >= 0, "randperm: n must be non-negative, got {}", n);
  // Sort random keys: a permutation that depends only on the generator's stream.
  std::vector<double> keys = raw::random(RandomKind::Uniform, {n}, 0, 1, {DType::Float64}).to_vector<double>();
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  return raw::to_device(from_vector(perm, {n}, {DType::Int64}), o.device);
}

}  // namespace heed
