// nn::init (see init.h): draw a fresh tensor from the default generator, copy it in place.
#include "nn/init.h"

#include <cmath>

#include "autograd/node.h"
#include "tensor/random.h"

namespace heed::nn::init {
namespace {

void check_floating(const Tensor& t, const char* op) {
  HEED_CHECK(t.defined(), "nn::init::{}: the tensor is undefined", op);
  HEED_CHECK(t.is_floating_point(), "nn::init::{}: needs a floating tensor, got {} of shape {}", op, t.dtype(),
             t.shape());
}

// Writes `values` into t's memory without recording anything.
Tensor write(const Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  Tensor dst = t;
  dst.copy_(values);
  return t;
}

int64_t fan(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == FanMode::FanIn ? fan_in : fan_out;
}

}  // namespace

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  HEED_CHECK(t.defined() && t.dim() >= 2,
             "nn::init: fan in and fan out need a tensor of at least 2 dims, got shape {}",
             t.defined() ? t.shape() : Shape{});
  int64_t receptive = 1;  // ∏k of a conv weight (out, in, k…)
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
  if (nonlinearity == "linear" || nonlinearity == "identity" || nonlinearity == "sigmoid" ||
      nonlinearity == "conv1d" || nonlinearity == "conv2d" || nonlinearity == "conv3d" ||
      nonlinearity == "conv_transpose1d" || nonlinearity == "conv_transpose2d" || nonlinearity == "conv_transpose3d")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (nonlinearity == "selu") return 0.75;
  HEED_FAIL("nn::init::calculate_gain: unsupported nonlinearity \"{}\"", nonlinearity);
}

Tensor uniform_(const Tensor& t, double lo, double hi) {
  check_floating(t, "uniform_");
  return write(t, uniform(t.shape(), lo, hi, {t.dtype(), t.device()}));
}

Tensor normal_(const Tensor& t, double mean, double std) {
  check_floating(t, "normal_");
  return write(t, normal(t.shape(), mean, std, {t.dtype(), t.device()}));
}

Tensor constant_(const Tensor& t, double value) {
  check_floating(t, "constant_");
  return write(t, full({}, value, {t.dtype(), t.device()}));
}
Tensor zeros_(const Tensor& t) { return constant_(t, 0.0); }
Tensor ones_(const Tensor& t) { return constant_(t, 1.0); }

Tensor xavier_uniform_(const Tensor& t, double gain) {
  check_floating(t, "xavier_uniform_");
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(t, -bound, bound);
}

Tensor xavier_normal_(const Tensor& t, double gain) {
  check_floating(t, "xavier_normal_");
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor kaiming_uniform_(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity) {
  check_floating(t, "kaiming_uniform_");
  const int64_t n = fan(t, mode);
  HEED_CHECK(n > 0, "nn::init::kaiming_uniform_: zero fan for a tensor of shape {}", t.shape());
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / static_cast<double>(n));
  return uniform_(t, -bound, bound);
}

Tensor kaiming_normal_(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity) {
  check_floating(t, "kaiming_normal_");
  const int64_t n = fan(t, mode);
  HEED_CHECK(n > 0, "nn::init::kaiming_normal_: zero fan for a tensor of shape {}", t.shape());
  return normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(n)));
}

}  // namespace heed::nn::init
