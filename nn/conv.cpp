// nn::Conv1d and nn::Conv2d (see conv.h).
#include "nn/conv.h"

#include <cmath>

#include "nn/init.h"

namespace heed::nn {

namespace {

// Checks what a conv layer's constructor is given; `what` names the layer.
void check_conv_layer(const char* what, int64_t in, int64_t out, int64_t groups) {
  HEED_CHECK(in > 0 && out > 0, "{}: channels must be positive, got in={}, out={}", what, in, out);
  HEED_CHECK(groups > 0, "{}: groups must be positive, got {}", what, groups);
  HEED_CHECK(in % groups == 0 && out % groups == 0,
             "{}: in_channels {} and out_channels {} must both be divisible by groups {}", what, in, out, groups);
}

// PyTorch's Conv*d.reset_parameters: weight U(−1/√fan_in, 1/√fan_in) through kaiming_uniform_(a = √5),
// then bias with the same bound.
void reset_conv(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Size2 kernel, Size2 stride_, Size2 padding_, Size2 dilation_, int64_t groups_,
               bool with_bias)
    : Module("Conv2d"),
      in_channels(in),
      out_channels(out),
      kernel_size(kernel),
      stride(stride_),
      padding(padding_),
      dilation(dilation_),
      groups(groups_) {
  check_conv_layer("Conv2d", in, out, groups);
  HEED_CHECK(kernel.h > 0 && kernel.w > 0, "Conv2d: kernel size must be positive, got {}", kernel);
  weight = register_parameter("weight", empty({out, in / groups, kernel.h, kernel.w}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}

void Conv2d::reset_parameters() { reset_conv(weight, bias); }

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, stride, padding, dilation, groups); }

std::string Conv2d::extra_repr() const {
  return fmt::format("{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={}", in_channels,
                     out_channels, kernel_size, stride, padding, dilation, groups, bias.defined());
}

Conv1d::Conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride_, int64_t padding_, int64_t dilation_,
               int64_t groups_, bool with_bias)
    : Module("Conv1d"),
      in_channels(in),
      out_channels(out),
      kernel_size(kernel),
      stride(stride_),
      padding(padding_),
      dilation(dilation_),
      groups(groups_) {
  check_conv_layer("Conv1d", in, out, groups);
  HEED_CHECK(kernel > 0, "Conv1d: kernel size must be positive, got {}", kernel);
  weight = register_parameter("weight", empty({out, in / groups, kernel}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}

void Conv1d::reset_parameters() { reset_conv(weight, bias); }

Tensor Conv1d::forward(const Tensor& x) { return conv1d(x, weight, bias, stride, padding, dilation, groups); }

std::string Conv1d::extra_repr() const {
  return fmt::format("{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={}", in_channels,
                     out_channels, kernel_size, stride, padding, dilation, groups, bias.defined());
}

}  // namespace heed::nn
