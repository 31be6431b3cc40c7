// nn::LayerNorm (see normalization.h).
#include "nn/normalization.h"

#include "nn/init.h"

namespace heed::nn {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  HEED_CHECK(k >= 1, "LayerNorm: normalized_shape must have at least one dim");
  HEED_CHECK(x.is_floating_point(), "LayerNorm: input must be floating, got {}", x.dtype());
  const bool tail_matches =
      x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape;
  HEED_CHECK(tail_matches, "LayerNorm: input shape {} does not end with normalized_shape {}", x.shape(),
             normalized_shape);
  for (const Tensor* p : {&weight, &bias})
    HEED_CHECK(!p->defined() || p->shape() == normalized_shape,
               "LayerNorm: weight and bias must have shape {}, got {}", normalized_shape, p->shape());
  return heed::layer_norm(x, k, weight, bias, eps);
}

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), eps(eps_) {
  HEED_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must have at least one dim");
  for (int64_t s : normalized_shape)
    HEED_CHECK(s > 0, "LayerNorm: normalized_shape must be positive, got {}", normalized_shape);
  HEED_CHECK(eps >= 0, "LayerNorm: eps must be non-negative, got {}", eps);
  if (affine) {
    weight = register_parameter("weight", empty(normalized_shape));
    bias = register_parameter("bias", empty(normalized_shape));
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
  return fmt::format("{}, eps={}, elementwise_affine={}", normalized_shape, eps, weight.defined());
}

}  // namespace heed::nn
