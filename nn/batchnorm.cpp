// nn::BatchNorm1d and nn::BatchNorm2d (see batchnorm.h).
#include "nn/batchnorm.h"

#include "autograd/conv.h"
#include "autograd/node.h"
#include "nn/init.h"

namespace heed::nn {

BatchNormBase::BatchNormBase(std::string type_name, int64_t features, double eps_, std::optional<double> momentum_,
                             bool affine_, bool track)
    : Module(std::move(type_name)),
      num_features(features),
      eps(eps_),
      momentum(momentum_),
      affine(affine_),
      track_running_stats(track) {
  HEED_CHECK(features > 0, "{}: num_features must be positive, got {}", this->type_name(), features);
  HEED_CHECK(eps > 0, "{}: eps must be positive, got {}", this->type_name(), eps);
  if (affine) {
    weight = register_parameter("weight", empty({features}));
    bias = register_parameter("bias", empty({features}));
  }
  if (track) {
    running_mean = register_buffer("running_mean", empty({features}));
    running_var = register_buffer("running_var", empty({features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {DType::Int64}));
  }
  reset_parameters();
}

void BatchNormBase::reset_running_stats() {
  if (!track_running_stats) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  NoGradGuard no_grad;
  num_batches_tracked.copy_(zeros_like(num_batches_tracked));
}

void BatchNormBase::reset_parameters() {
  reset_running_stats();
  if (affine) {
    init::ones_(weight);
    init::zeros_(bias);
  }
}

Tensor BatchNormBase::forward(const Tensor& x) {
  check_input_dims(x);
  HEED_CHECK(x.shape()[1] == num_features, "{}: input {} has {} channels, expected num_features = {}", type_name(),
             x.shape(), x.shape()[1], num_features);
  const bool update_stats = is_training() && track_running_stats;
  double factor = momentum.value_or(0.0);  // how far the running stats move this step
  if (update_stats && !momentum) factor = 1.0 / (num_batches_tracked.item() + 1.0);  // cumulative average
  // Batch statistics unless evaluating with running ones (undefined without tracking: no update).
  const bool use_batch_stats = is_training() || !track_running_stats;
  Tensor y = batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, factor, eps);
  if (update_stats) {  // counted once the call has succeeded
    NoGradGuard no_grad;
    num_batches_tracked.copy_(num_batches_tracked + 1.0);
  }
  return y;
}

std::string BatchNormBase::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features, eps,
                     momentum ? fmt::format("{}", *momentum) : "None", affine, track_running_stats);
}

void BatchNorm1d::check_input_dims(const Tensor& x) const {
  HEED_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected input (N, C) or (N, C, L), got shape {}", x.shape());
}

void BatchNorm2d::check_input_dims(const Tensor& x) const {
  HEED_CHECK(x.dim() == 4, "BatchNorm2d: expected input (N, C, H, W), got shape {}", x.shape());
}

}  // namespace heed::nn
