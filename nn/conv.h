// nn::Conv1d and nn::Conv2d: convolution layers (torch.nn.Conv1d / Conv2d) over the functional
// heed::conv1d / heed::conv2d (autograd/conv.h: im2col + GEMM, twice differentiable).
//   Conv2d: x (N, C, H, W) or (C, H, W) -> (N, O, OH, OW); weight (O, C/groups, kh, kw); bias (O)
//   Conv1d: x (N, C, L) or (C, L) -> (N, O, OL); weight (O, C/groups, k); bias (O)
// Initialised as PyTorch does: weight by kaiming_uniform_(a = √5), i.e. U(−1/√fan_in, 1/√fan_in)
// with fan_in = C/groups · kernel elements, and bias U(−1/√fan_in, 1/√fan_in), drawn in that order.
// Not here: padding modes other than zeros, padding="same".
#pragma once
#include "autograd/conv.h"
#include "nn/module.h"

namespace heed::nn {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride = 1, Size2 padding = 0,
         Size2 dilation = 1, int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& x) override;  // (N, C, H, W) -> (N, O, OH, OW)
  std::string extra_repr() const override;
  void reset_parameters();  // draws fresh weights as the constructor does

  const int64_t in_channels, out_channels;
  const Size2 kernel_size, stride, padding, dilation;
  const int64_t groups;
  Tensor weight;  // (O, C/groups, kh, kw)
  Tensor bias;    // (O); undefined when built with bias = false
};

class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         int64_t dilation = 1, int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& x) override;  // (N, C, L) -> (N, O, OL)
  std::string extra_repr() const override;
  void reset_parameters();

  const int64_t in_channels, out_channels, kernel_size, stride, padding, dilation, groups;
  Tensor weight;  // (O, C/groups, k)
  Tensor bias;    // (O); undefined when built with bias = false
};

}  // namespace heed::nn
