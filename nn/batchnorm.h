// nn::BatchNorm1d and nn::BatchNorm2d: batch normalisation per channel (dim 1), as
// torch.nn.BatchNorm1d / 2d, over heed::batch_norm (autograd/conv.h; Ioffe & Szegedy, 2015,
// https://arxiv.org/abs/1502.03167).
//   y = (x − mean) / √(var + eps) · weight + bias
//   BatchNorm1d: x (N, C) or (N, C, L);  BatchNorm2d: x (N, C, H, W);  C = num_features
// training: mean and biased var of the batch; running_mean and running_var (unbiased) move
//   toward them by `momentum`, or by 1/num_batches_tracked when momentum is nullopt (PyTorch's
//   momentum=None, a cumulative average).
// eval: running_mean and running_var; without track_running_stats, always the batch's.
// Parameters (affine): weight (C) = 1, bias (C) = 0.
// Buffers (track_running_stats): running_mean (C) = 0, running_var (C) = 1, num_batches_tracked
//   (int64, 0-d) = 0.
#pragma once
#include <optional>
#include <string>

#include "nn/module.h"

namespace heed::nn {

class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_running_stats();  // running_mean 0, running_var 1, num_batches_tracked 0
  void reset_parameters();     // the running stats, and weight 1, bias 0

  const int64_t num_features;
  const double eps;
  const std::optional<double> momentum;
  const bool affine, track_running_stats;
  Tensor weight, bias;                                    // (C); undefined without affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined without track_running_stats

 protected:
  BatchNormBase(std::string type_name, int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                bool track_running_stats);
  virtual void check_input_dims(const Tensor& x) const = 0;
};

class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true)
      : BatchNormBase("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input_dims(const Tensor& x) const override;  // (N, C) or (N, C, L)
};

class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true)
      : BatchNormBase("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input_dims(const Tensor& x) const override;  // (N, C, H, W)
};

}  // namespace heed::nn
