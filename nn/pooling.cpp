// nn::MaxPool2d, nn::AvgPool2d, nn::AdaptiveAvgPool2d (see pooling.h).
#include "nn/pooling.h"

namespace heed::nn {

MaxPool2d::MaxPool2d(Size2 kernel, std::optional<Size2> stride_, Size2 padding_, Size2 dilation_)
    : Module("MaxPool2d"),
      kernel_size(kernel),
      stride(stride_.value_or(kernel)),
      padding(padding_),
      dilation(dilation_) {}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding, dilation); }

std::string MaxPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}", kernel_size, stride, padding, dilation);
}

AvgPool2d::AvgPool2d(Size2 kernel, std::optional<Size2> stride_, Size2 padding_, bool include_pad)
    : Module("AvgPool2d"),
      kernel_size(kernel),
      stride(stride_.value_or(kernel)),
      padding(padding_),
      count_include_pad(include_pad) {}

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_size, stride, padding, count_include_pad); }

std::string AvgPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, count_include_pad={}", kernel_size, stride, padding,
                     count_include_pad);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 size) : Module("AdaptiveAvgPool2d"), output_size(size) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }

std::string AdaptiveAvgPool2d::extra_repr() const { return fmt::format("output_size={}", output_size); }

}  // namespace heed::nn
