// Pooling layers over the functional ops in autograd/conv.h; none has parameters.
//   nn::MaxPool2d          max over each window (torch.nn.MaxPool2d); gradient to the argmax
//   nn::AvgPool2d          mean over each window (torch.nn.AvgPool2d), count_include_pad as torch
//   nn::AdaptiveAvgPool2d  mean over windows that tile the input into a fixed output size
// x (N, C, H, W) or (C, H, W) -> (N, C, OH, OW). Stride defaults to the kernel size.
// Not here: ceil_mode, return_indices, divisor_override.
#pragma once
#include <optional>

#include "autograd/conv.h"
#include "nn/module.h"

namespace heed::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                     Size2 dilation = 1);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  const Size2 kernel_size, stride, padding, dilation;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                     bool count_include_pad = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  const Size2 kernel_size, stride, padding;
  const bool count_include_pad;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  const Size2 output_size;
};

}  // namespace heed::nn
