// Tensor creation: filled, ranges, identity, and from C++ values.
#include <cmath>

#include "tensor/ops.h"

namespace heed {
namespace {
Tensor finish(Tensor t, Options o) {
  if (o.requires_grad) {
    HEED_CHECK(is_floating(o.dtype), "requires_grad: only floating tensors can require gradients, got {}", o.dtype);
    t.requires_grad_();
  }
  return t;
}
}  // namespace

Tensor empty(const Shape& shape, Options o) { return finish(raw::empty(shape, o.dtype, o.device), o); }
Tensor full(const Shape& shape, double value, Options o) {
  Tensor t = raw::empty(shape, o.dtype, o.device);
  backend_for(o.device).fill(t, value);
  return finish(t, o);
}
Tensor zeros(const Shape& shape, Options o) { return full(shape, 0, o); }
Tensor ones(const Shape& shape, Options o) { return full(shape, 1, o); }
Tensor zeros_like(const Tensor& t) { return full(t.shape(), 0, {t.dtype(), t.device()}); }
Tensor ones_like(const Tensor& t) { return full(t.shape(), 1, {t.dtype(), t.device()}); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, {t.dtype(), t.device()}); }
Tensor empty_like(const Tensor& t) { return raw::empty(t.shape(), t.dtype(), t.device()); }
Tensor scalar_tensor(double value, Options o) { return full({}, value, o); }

namespace {
template <typename T>
Tensor from_values(const std::vector<T>& values, const Shape& shape, Options o) {
  Shape s = shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape;
  check_shape_valid(s, "from_vector");
  HEED_CHECK(numel_of(s) == static_cast<int64_t>(values.size()), "from_vector: {} values do not fill shape {}",
             values.size(), s);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(const_cast<T*>(values.data()), values.size() * sizeof(T), Device::cpu(),
                                            nullptr);
  impl->shape = s;
  impl->strides = contiguous_strides(s);
  impl->dtype = dtype_v<T>;
  Tensor src(std::move(impl));
  Tensor out = raw::empty(s, o.dtype, o.device);
  if (o.device.is_cpu()) {
    backend_for(Device::cpu()).copy(src, out);
  } else {
    raw::copy_(out, raw::to_device(raw::to_dtype(src, o.dtype), o.device));
  }
  return finish(out, o);
}
}  // namespace

Tensor from_vector(const std::vector<double>& v, const Shape& s, Options o) { return from_values(v, s, o); }
Tensor from_vector(const std::vector<float>& v, const Shape& s, Options o) { return from_values(v, s, o); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& s, Options o) { return from_values(v, s, o); }

Tensor tensor(std::initializer_list<double> values, Options o) { return from_vector(std::vector<double>(values), {}, o); }

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Options o) {
  std::vector<double> flat;
  const int64_t cols = rows.size() ? static_cast<int64_t>(rows.begin()->size()) : 0;
  for (const auto& r : rows) {
    HEED_CHECK(static_cast<int64_t>(r.size()) == cols, "tensor: rows of different lengths ({} and {})", cols,
               r.size());
    flat.insert(flat.end(), r.begin(), r.end());
  }
  return from_vector(flat, {static_cast<int64_t>(rows.size()), cols}, o);
}

Tensor arange(double start, double end, double step, Options o) {
  HEED_CHECK(step != 0, "arange: step must be non-zero");
  HEED_CHECK(std::isfinite(start) && std::isfinite(end), "arange: start and end must be finite");
  const double span = (end - start) / step;
  const int64_t n = span > 0 ? static_cast<int64_t>(std::ceil(span)) : 0;
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i) * step;
  return from_vector(v, {n}, o);
}
Tensor arange(double end, Options o) { return arange(0, end, 1, o); }

Tensor linspace(double start, double end, int64_t steps, Options o) {
  HEED_CHECK(steps >= 0, "linspace: steps must be non-negative, got {}", steps);
  std::vector<double> v(static_cast<size_t>(steps));
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  for (int64_t i = 0; i < steps; ++i)
    v[i] = i < steps / 2 ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
  return from_vector(v, {steps}, o);
}

Tensor eye(int64_t n, Options o) {
  HEED_CHECK(n >= 0, "eye: n must be non-negative, got {}", n);
  std::vector<double> v(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) v[i * n + i] = 1;
  return from_vector(v, {n, n}, o);
}

}  // namespace heed
