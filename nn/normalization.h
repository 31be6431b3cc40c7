// nn::LayerNorm: normalise over the trailing dims, then scale and shift (torch.nn.LayerNorm;
// Ba, Kiros & Hinton, 2016, https://arxiv.org/abs/1607.06450).
//   y = (x − mean) / √(var + eps) · weight + bias,   mean and var (biased) over normalized_shape
//   x (…, *normalized_shape) -> same shape; weight, bias (*normalized_shape)
// Composed from differentiable ops (mean, var with correction 0, rsqrt), so it is twice
// differentiable. (BatchNorm lives in nn/batchnorm.h.)
#pragma once
#include "nn/module.h"

namespace heed::nn {

// The functional form; weight and bias may be undefined (no affine step).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  explicit LayerNorm(int64_t features, double eps = 1e-5, bool elementwise_affine = true)
      : LayerNorm(Shape{features}, eps, elementwise_affine) {}
  Tensor forward(const Tensor& x) override;  // (…, *normalized_shape) -> same
  std::string extra_repr() const override;
  void reset_parameters();  // weight 1, bias 0

  const Shape normalized_shape;
  const double eps;
  Tensor weight, bias;  // (*normalized_shape); undefined without elementwise_affine
};

}  // namespace heed::nn
