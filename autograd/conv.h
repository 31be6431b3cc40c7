// Convolution, pooling and batch norm: the differentiable functional ops behind nn::Conv2d,
// nn::MaxPool2d, nn::BatchNorm2d, ... (defined in autograd/ops/conv.cpp).
//
// Built from heed's existing ops and Backend primitives, so they run on any device:
//   conv      im2col (a strided view, copied) + one batched GEMM (matmul) per call
//   pooling   windows as strided views; max pooling gathers at the argmax
//   batch norm composed from mean, var, rsqrt, mul and add
// Not here: transposed convolution, ceil_mode, padding modes other than zeros, 3-D convolution.
//
//   Tensor y = heed::conv2d(x, w, b, /*stride*/ 2, /*padding*/ 1);   // x (N,3,32,32), w (16,3,3,3)
//   Tensor p = heed::max_pool2d(relu(y), 2);                         // (N,16,8,8)
//
// Shape legend:
//   N batch, C input channels, O output channels, G groups
//   H W input height and width, OH OW output height and width, L = OH·OW
//   kh kw kernel height and width, K = kh·kw
// Output size per spatial dim (PyTorch's): (H + 2·padding − dilation·(k − 1) − 1) / stride + 1,
// rounded down. Inputs without the batch dim, (C, H, W) or (C, L), are accepted where PyTorch
// accepts them.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "tensor/tensor.h"

namespace heed {

// A size per spatial dim (height, width); one number means both: `2` or `Size2{3, 1}`.
struct Size2 {
  int64_t h, w;
  Size2(int64_t both) : h(both), w(both) {}  // implicit on purpose: conv2d(x, w, b, 2) as in PyTorch
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
  bool operator==(const Size2&) const = default;
};

// ---- im2col / col2im: an op pair, each the other's backward ----
// im2col is PyTorch's F.unfold: every kernel window of x becomes a column.
//   x (N, C, H, W) -> cols (N, C·kh·kw, L), row index c·K + i·kw + j, column oh·OW + ow.
Tensor im2col(const Tensor& x, Size2 kernel, Size2 dilation = 1, Size2 padding = 0, Size2 stride = 1);
// col2im is PyTorch's F.fold: columns summed back into place (overlapping windows add up).
//   cols (N, C·kh·kw, L) -> (N, C, output_size.h, output_size.w)
Tensor col2im(const Tensor& cols, Size2 output_size, Size2 kernel, Size2 dilation = 1, Size2 padding = 0,
              Size2 stride = 1);

// ---- convolution (cross-correlation, as PyTorch) ----
// y[n, o] = bias[o] + Σ_c Σ_ij weight[o, c, i, j] · x[n, g·C/G + c, oh·s + i·d − p, ow·s + j·d − p]
// with g = o / (O/G). Computed as one GEMM per group over im2col's columns; backward: dx is
// col2im(wᵀ·dy), dw = dy·colsᵀ, dbias = Σ dy. https://arxiv.org/abs/1410.0759 (cuDNN's im2col).
//   x (N, C, H, W) or (C, H, W); weight (O, C/G, kh, kw); bias (O) or undefined
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1, Size2 padding = 0,
              Size2 dilation = 1, int64_t groups = 1);
//   x (N, C, L) or (C, L); weight (O, C/G, k); bias (O) or undefined
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);

// ---- pooling; stride defaults to the kernel size ----
// Max over each window; the gradient goes to the (first) argmax. Padding counts as −inf.
//   x (N, C, H, W) or (C, H, W) -> (N, C, OH, OW)
Tensor max_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                  Size2 dilation = 1);
// Mean over each window. count_include_pad: divide by kh·kw even where the window overlaps the
// zero padding (PyTorch's default); otherwise by the number of input elements in the window.
Tensor avg_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                  bool count_include_pad = true);
// Mean over windows that tile the input into output_size cells (PyTorch's: cell i covers
// [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉)). Computed as A_h · x · A_wᵀ with averaging matrices A.
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

// ---- batch norm (https://arxiv.org/abs/1502.03167) ----
// y = (x − mean) / sqrt(var + eps) · weight + bias, per channel (dim 1).
// training: mean and biased var over every dim but 1; running_mean and running_var (when
//   defined) are updated in place: r = (1 − momentum)·r + momentum·stat, with the unbiased var.
// eval: the running statistics are used (both required).
//   x (N, C) or (N, C, L) or (N, C, H, W); running_mean, running_var, weight, bias (C) or undefined
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5);

}  // namespace heed

// Prints "(h, w)".
template <>
struct fmt::formatter<heed::Size2> : fmt::formatter<std::string_view> {
  auto format(heed::Size2 s, fmt::format_context& ctx) const { return fmt::format_to(ctx.out(), "({}, {})", s.h, s.w); }
};
