// nn::Linear (see linear.h).
#include "nn/linear.h"

#include <cmath>

#include "nn/init.h"

namespace heed::nn {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  HEED_CHECK(weight.dim() == 2, "Linear: weight must be 2-D (out, in), got shape {}", weight.shape());
  HEED_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
             "Linear: input's last dim must be in_features = {}, got input shape {} (weight {})", weight.size(1),
             x.shape(), weight.shape());
  HEED_CHECK(x.dtype() == weight.dtype(), "Linear: input is {}, weight is {}; move one with to()", x.dtype(),
             weight.dtype());
  Tensor y = matmul(x, weight.t());  // (…, in) @ (in, out) -> (…, out)
  return bias.defined() ? y + bias : y;
}

Linear::Linear(int64_t in, int64_t out, bool with_bias) : Module("Linear"), in_features(in), out_features(out) {
  HEED_CHECK(in >= 0 && out >= 0, "Linear: sizes must be non-negative, got in={}, out={}", in, out);
  weight = register_parameter("weight", empty({out, in}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}

void Linear::reset_parameters() {
  if (in_features > 0) init::kaiming_uniform_(weight, std::sqrt(5.0));  // = U(−1/√in, 1/√in)
  if (bias.defined()) {
    const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return fmt::format("in={}, out={}, bias={}", in_features, out_features, bias.defined());
}

}  // namespace heed::nn
