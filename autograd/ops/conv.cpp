// Convolution, pooling and batch norm (autograd/conv.h), forward and backward side by side.
// Nothing here is device-specific: windows are strided views (raw::as_strided) copied into
// columns, convolution is a batched GEMM, max pooling is a gather at the argmax, and the rest
// is composed from differentiable ops. im2col and col2im are each other's backward, so
// conv2d's backward (written with them, matmul and sum) is itself differentiable.
//
// Shape legend: N batch, C input channels, O output channels, G groups, H W input size,
// OH OW output size, L = OH·OW, kh kw kernel size, K = kh·kw, Hp Wp padded input size.
#include "autograd/conv.h"

#include <limits>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"

namespace heed {

using autograd::Grads;

namespace {

// The sliding-window geometry of one call: what every window op below works from.
struct Window {
  Size2 kernel, stride, padding, dilation;
  int64_t H = 0, W = 0;    // input
  int64_t OH = 0, OW = 0;  // output
  int64_t K() const { return kernel.h * kernel.w; }
  int64_t L() const { return OH * OW; }
  int64_t Hp() const { return H + 2 * padding.h; }
  int64_t Wp() const { return W + 2 * padding.w; }
};

// "3x5" for 2-D ops, "5" (the width) for 1-D ones, whose height is always 1.
std::string dims_str(int64_t h, int64_t w, bool one_d) {
  return one_d ? fmt::format("{}", w) : fmt::format("{}x{}", h, w);
}
std::string dims_str(Size2 s, bool one_d) { return dims_str(s.h, s.w, one_d); }

// Checks the window arguments against an H x W input and works out the output size.
Window make_window(const char* op, int64_t H, int64_t W, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation,
                   bool one_d = false) {
  HEED_CHECK(kernel.h > 0 && kernel.w > 0, "{}: kernel size must be positive, got {}", op, dims_str(kernel, one_d));
  HEED_CHECK(stride.h > 0 && stride.w > 0, "{}: stride must be positive, got {}", op, dims_str(stride, one_d));
  HEED_CHECK(dilation.h > 0 && dilation.w > 0, "{}: dilation must be positive, got {}", op, dims_str(dilation, one_d));
  HEED_CHECK(padding.h >= 0 && padding.w >= 0, "{}: padding must be non-negative, got {}", op,
             dims_str(padding, one_d));
  Window w{kernel, stride, padding, dilation, H, W};
  const int64_t span_h = dilation.h * (kernel.h - 1) + 1, span_w = dilation.w * (kernel.w - 1) + 1;
  HEED_CHECK(span_h <= w.Hp() && span_w <= w.Wp(),
             "{}: kernel {} (dilation {}) spans {}, larger than the padded input {} (input {}, padding {})", op,
             dims_str(kernel, one_d), dims_str(dilation, one_d), dims_str(span_h, span_w, one_d),
             dims_str(w.Hp(), w.Wp(), one_d), dims_str(H, W, one_d), dims_str(padding, one_d));
  w.OH = (w.Hp() - span_h) / stride.h + 1;
  w.OW = (w.Wp() - span_w) / stride.w + 1;
  return w;
}

// Pooling windows: PyTorch also asks that padding be at most half the kernel, so that every
// window holds at least one input element.
Window make_pool_window(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation) {
  Window w = make_window(op, x.shape()[2], x.shape()[3], kernel, stride, padding, dilation);
  HEED_CHECK(2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w,
             "{}: padding {} must be at most half the kernel {}", op, dims_str(padding, false),
             dims_str(kernel, false));
  return w;
}

// x (N, C, H, W) padded with `value` on every side -> (N, C, Hp, Wp); x itself without padding.
Tensor pad2d(const Tensor& x, Size2 padding, double value) {
  if (padding.h == 0 && padding.w == 0) return x;
  const Shape& s = x.shape();
  Tensor out = full({s[0], s[1], s[2] + 2 * padding.h, s[3] + 2 * padding.w}, value, {x.dtype(), x.device()});
  Tensor inner = raw::slice(raw::slice(out, 2, padding.h, padding.h + s[2], 1), 3, padding.w, padding.w + s[3], 1);
  raw::copy_(inner, x);
  return out;
}

// Every window of x (N, C, H, W), padded with pad_value, as a view (N, C, kh, kw, OH, OW).
Tensor window_view(const Tensor& x, const Window& w, double pad_value) {
  Tensor src = pad2d(x, w.padding, pad_value);
  const Shape& st = src.strides();
  return raw::as_strided(
      src, {x.shape()[0], x.shape()[1], w.kernel.h, w.kernel.w, w.OH, w.OW},
      {st[0], st[1], w.dilation.h * st[2], w.dilation.w * st[3], w.stride.h * st[2], w.stride.w * st[3]}, src.offset());
}

// im2col without a graph: x (N, C, H, W) -> (N, C·K, L).
Tensor im2col_raw(const Tensor& x, const Window& w) {
  return raw::reshape(window_view(x, w, 0.0), {x.shape()[0], x.shape()[1] * w.K(), w.L()});
}

// col2im without a graph: cols (N, C·K, L) -> (N, C, H, W). One strided add per kernel offset
// (i, j): within one offset the windows never overlap, so each add writes distinct elements.
Tensor col2im_raw(const Tensor& cols, const Window& w) {
  const int64_t N = cols.shape()[0], C = cols.shape()[1] / w.K(), Hp = w.Hp(), Wp = w.Wp();
  Tensor padded = zeros({N, C, Hp, Wp}, {cols.dtype(), cols.device()});
  Tensor cols6 = raw::reshape(cols, {N, C, w.kernel.h, w.kernel.w, w.OH, w.OW});
  const Shape at_offset_strides{C * Hp * Wp, Hp * Wp, w.stride.h * Wp, w.stride.w};
  for (int64_t i = 0; i < w.kernel.h; ++i)
    for (int64_t j = 0; j < w.kernel.w; ++j) {
      const int64_t first = padded.offset() + i * w.dilation.h * Wp + j * w.dilation.w;
      Tensor dst = raw::as_strided(padded, {N, C, w.OH, w.OW}, at_offset_strides, first);  // (N, C, OH, OW)
      Tensor src = raw::select(raw::select(cols6, 2, i), 2, j);                            // (N, C, OH, OW)
      raw::binary_(BinaryOp::Add, dst, src);
    }
  if (w.padding.h == 0 && w.padding.w == 0) return padded;
  return raw::slice(raw::slice(padded, 2, w.padding.h, w.padding.h + w.H, 1), 3, w.padding.w, w.padding.w + w.W, 1);
}

// For max pooling: for each output cell (oh, ow) and window element k, the flat index
// (row·W + col) of the input element it reads -> int64 (OH, OW, K). Padding elements point at
// the window's first in-bounds element: an argmax lands there only when the whole window is
// −inf, and PyTorch then picks that same element.
Tensor window_sources(const Window& w, Device device) {
  std::vector<int64_t> at;
  at.reserve(static_cast<size_t>(w.L() * w.K()));
  auto first_inside = [](int64_t start, int64_t step, int64_t size) {  // start + i·step, the first ≥ 0
    int64_t p = start < 0 ? start + (-start + step - 1) / step * step : start;
    return std::min(p, size - 1);
  };
  for (int64_t oh = 0; oh < w.OH; ++oh)
    for (int64_t ow = 0; ow < w.OW; ++ow) {
      const int64_t r0 = oh * w.stride.h - w.padding.h, c0 = ow * w.stride.w - w.padding.w;
      const int64_t r_in = first_inside(r0, w.dilation.h, w.H), c_in = first_inside(c0, w.dilation.w, w.W);
      for (int64_t i = 0; i < w.kernel.h; ++i)
        for (int64_t j = 0; j < w.kernel.w; ++j) {
          int64_t r = r0 + i * w.dilation.h, c = c0 + j * w.dilation.w;
          if (r < 0 || r >= w.H) r = r_in;
          if (c < 0 || c >= w.W) c = c_in;
          at.push_back(r * w.W + c);
        }
    }
  return raw::to_device(from_vector(at, {w.OH, w.OW, w.K()}), device);
}

// For adaptive pooling: the (out, in) matrix whose row i averages input cells
// [⌊i·in/out⌋, ⌈(i+1)·in/out⌉), PyTorch's windows.
Tensor averaging_matrix(int64_t out, int64_t in, const Tensor& like) {
  std::vector<double> a(static_cast<size_t>(out * in), 0.0);
  for (int64_t i = 0; i < out; ++i) {
    const int64_t start = i * in / out, end = ((i + 1) * in + out - 1) / out;
    for (int64_t k = start; k < end; ++k) a[static_cast<size_t>(i * in + k)] = 1.0 / static_cast<double>(end - start);
  }
  return raw::to_device(from_vector(a, {out, in}, {like.dtype()}), like.device());
}

// Pooling inputs: (N, C, H, W) or unbatched (C, H, W), floating.
void check_pool_input(const char* op, const Tensor& x) {
  HEED_CHECK(x.dim() == 3 || x.dim() == 4, "{}: input must be (N, C, H, W) or (C, H, W), got shape {}", op, x.shape());
  HEED_CHECK(x.is_floating_point(), "{}: input must be floating, got {}", op, x.dtype());
}

// conv1d / conv2d arguments, as the caller passed them (spatial: 1 or 2).
void check_conv_args(const char* op, int64_t spatial, const Tensor& x, const Tensor& weight, const Tensor& bias,
                     int64_t groups) {
  const char* x_legend = spatial == 2 ? "(N, C, H, W) or (C, H, W)" : "(N, C, L) or (C, L)";
  const char* w_legend = spatial == 2 ? "(O, C/groups, kh, kw)" : "(O, C/groups, k)";
  HEED_CHECK(x.dim() == spatial + 2 || x.dim() == spatial + 1, "{}: input must be {}, got shape {}", op, x_legend,
             x.shape());
  HEED_CHECK(weight.dim() == spatial + 2, "{}: weight must be {}, got shape {}", op, w_legend, weight.shape());
  HEED_CHECK(x.is_floating_point() && x.dtype() == weight.dtype(),
             "{}: input and weight must share a floating dtype, got {} {} and {} {}", op, x.shape(), x.dtype(),
             weight.shape(), weight.dtype());
  HEED_CHECK(groups > 0, "{}: groups must be positive, got {}", op, groups);
  const int64_t C = x.shape()[x.dim() - spatial - 1], O = weight.shape()[0];
  HEED_CHECK(C % groups == 0, "{}: input channels {} are not divisible by groups {} (input {})", op, C, groups,
             x.shape());
  HEED_CHECK(O % groups == 0, "{}: output channels {} are not divisible by groups {} (weight {})", op, O, groups,
             weight.shape());
  HEED_CHECK(C == weight.shape()[1] * groups,
             "{}: input has {} channels, weight expects {} (groups {}): input {}, weight {}", op, C,
             weight.shape()[1] * groups, groups, x.shape(), weight.shape());
  if (bias.defined())
    HEED_CHECK(bias.dim() == 1 && bias.shape()[0] == O && bias.dtype() == weight.dtype(),
               "{}: bias must be ({}) {} to match weight {}, got {} {}", op, O, weight.dtype(), weight.shape(),
               bias.shape(), bias.dtype());
}

// The convolution itself, on 4-D operands: x (N, C, H, W), weight (O, C/G, kh, kw), bias (O).
// The columns are laid out (G, CKg, N·L), all images side by side, so that one GEMM per group
// makes the output and, in backward, the weight gradient reads them without another copy.
Tensor conv_forward(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, const Window& win,
                    int64_t groups) {
  const int64_t N = x.shape()[0], C = x.shape()[1], O = weight.shape()[0], G = groups, L = win.L();
  const int64_t CKg = C / G * win.K();  // rows of one group's columns
  const Shape cols_shape{G, CKg, N * L}, weight_shape{G, O / G, CKg};
  // (N, C, kh, kw, OH, OW) windows -> (C, kh, kw, N, OH, OW), copied once.
  Tensor cols = raw::reshape(raw::permute(window_view(x, win, 0.0), {1, 2, 3, 0, 4, 5}), cols_shape);
  Tensor y = raw::matmul(raw::reshape(weight, weight_shape), cols);                        // (G, O/G, N·L)
  y = raw::permute(raw::reshape(y, {O, N, win.OH, win.OW}), {1, 0, 2, 3});                 // (N, O, OH, OW) view
  y = bias.defined() ? raw::binary(BinaryOp::Add, y, raw::reshape(bias, {1, O, 1, 1})) : raw::contiguous(y);
  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (auto node = autograd::make_node(op, inputs, {y})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool has_b = bias.defined(), need_b = has_b && bias.requires_grad();
    node->backward = [x, weight, win, G, N, L, cols_shape, weight_shape, need_x, need_w, has_b, need_b,
                      saved_cols = need_w ? cols : Tensor()](const Grads& g) {
      const int64_t Og = weight_shape[1], CK = G * weight_shape[2];
      Tensor dy = reshape(permute(g[0], {1, 0, 2, 3}), {G, Og, N * L});  // (G, O/G, N·L)
      Grads d(has_b ? 3 : 2);                                             // one per input
      if (need_x) {  // dx = col2im(wᵀ·dy)
        Tensor dcols = matmul(reshape(weight, weight_shape).transpose(-1, -2), dy);  // (G, CKg, N·L)
        d[0] = col2im(permute(reshape(dcols, {CK, N, L}), {1, 0, 2}), {win.H, win.W}, win.kernel, win.dilation,
                      win.padding, win.stride);
      }
      if (need_w) {  // dw = dy·colsᵀ, one GEMM per group over all N·L columns
        // With create_graph the columns are rebuilt with a graph, so d(dw)/dx exists.
        Tensor cols = autograd::grad_mode_enabled() && x.requires_grad()
                          ? reshape(permute(im2col(x, win.kernel, win.dilation, win.padding, win.stride), {1, 0, 2}),
                                    cols_shape)  // (N, C·K, L) -> (G, CKg, N·L)
                          : saved_cols;
        d[1] = reshape(matmul(dy, cols.transpose(-1, -2)), weight.shape());  // (O, C/G, kh, kw)
      }
      if (need_b) d[2] = sum(g[0], {0, 2, 3});
      return d;
    };
  }
  return y;
}

}  // namespace

// ---------------------------------------------------------------- im2col / col2im

Tensor im2col(const Tensor& x, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride) {
  HEED_CHECK(x.dim() == 4, "im2col: input must be (N, C, H, W), got shape {}", x.shape());
  const Window w = make_window("im2col", x.shape()[2], x.shape()[3], kernel, stride, padding, dilation);
  Tensor cols = im2col_raw(x, w);
  if (auto node = autograd::make_node("im2col", {x}, {cols}))
    node->backward = [w](const Grads& g) {
      return Grads{col2im(g[0], {w.H, w.W}, w.kernel, w.dilation, w.padding, w.stride)};
    };
  return cols;
}

Tensor col2im(const Tensor& cols, Size2 output_size, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride) {
  HEED_CHECK(cols.dim() == 3, "col2im: input must be (N, C·kh·kw, L), got shape {}", cols.shape());
  const Window w = make_window("col2im", output_size.h, output_size.w, kernel, stride, padding, dilation);
  HEED_CHECK(cols.shape()[1] % w.K() == 0, "col2im: dim 1 of input {} is not a multiple of the kernel size {}x{} = {}",
             cols.shape(), kernel.h, kernel.w, w.K());
  HEED_CHECK(cols.shape()[2] == w.L(),
             "col2im: input {} has {} columns, but output size {}x{} with this kernel, stride, padding and dilation "
             "has {}x{} = {} windows",
             cols.shape(), cols.shape()[2], output_size.h, output_size.w, w.OH, w.OW, w.L());
  Tensor y = col2im_raw(cols, w);
  if (auto node = autograd::make_node("col2im", {cols}, {y}))
    node->backward = [w](const Grads& g) { return Grads{im2col(g[0], w.kernel, w.dilation, w.padding, w.stride)}; };
  return y;
}

// ---------------------------------------------------------------- convolution

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding, Size2 dilation,
              int64_t groups) {
  check_conv_args("conv2d", 2, x, weight, bias, groups);
  if (x.dim() == 3) return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  const Window win = make_window("conv2d", x.shape()[2], x.shape()[3], {weight.shape()[2], weight.shape()[3]}, stride,
                                 padding, dilation);
  return conv_forward("conv2d", x, weight, bias, win, groups);
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups) {
  check_conv_args("conv1d", 1, x, weight, bias, groups);
  if (x.dim() == 2) return conv1d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  // A conv2d over height 1: x (N, C, 1, L), weight (O, C/G, 1, k).
  const Window win = make_window("conv1d", 1, x.shape()[2], {1, weight.shape()[2]}, {1, stride}, {0, padding},
                                 {1, dilation}, /*one_d=*/true);
  return conv_forward("conv1d", x.unsqueeze(2), weight.unsqueeze(2), bias, win, groups).squeeze(2);
}

// ---------------------------------------------------------------- pooling

Tensor max_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding, Size2 dilation) {
  check_pool_input("max_pool2d", x);
  if (x.dim() == 3) return max_pool2d(x.unsqueeze(0), kernel, stride, padding, dilation).squeeze(0);
  const Window w = make_pool_window("max_pool2d", x, kernel, stride.value_or(kernel), padding, dilation);
  const int64_t N = x.shape()[0], C = x.shape()[1];
  // Which input element each output takes (no graph): the first maximum of its window.
  Tensor windows =
      raw::reshape(raw::permute(window_view(x, w, -std::numeric_limits<double>::infinity()), {0, 1, 4, 5, 2, 3}),
                   {N, C, w.OH, w.OW, w.K()});                                 // (N, C, OH, OW, K)
  Tensor best = raw::arg_reduce(ReduceOp::Max, windows, 4, /*keepdim=*/true);  // (N, C, OH, OW, 1)
  Tensor source = raw::gather(raw::expand(window_sources(w, x.device()), {N, C, w.OH, w.OW, w.K()}), 4, best);
  // The differentiable part: gather's backward is scatter_add (and back), so the gradient
  // reaches the argmax only, to any order.
  return gather(x.reshape({N, C, w.H * w.W}), 2, raw::reshape(source, {N, C, w.L()})).reshape({N, C, w.OH, w.OW});
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding, bool count_include_pad) {
  check_pool_input("avg_pool2d", x);
  if (x.dim() == 3) return avg_pool2d(x.unsqueeze(0), kernel, stride, padding, count_include_pad).squeeze(0);
  const Window w = make_pool_window("avg_pool2d", x, kernel, stride.value_or(kernel), padding, 1);
  const int64_t N = x.shape()[0], C = x.shape()[1];
  Tensor sums = sum(reshape(im2col(x, kernel, 1, padding, w.stride), {N, C, w.K(), w.L()}), {2});  // (N, C, L)
  Tensor means;
  if (count_include_pad || (padding.h == 0 && padding.w == 0)) {
    means = sums / static_cast<double>(w.K());
  } else {  // input elements per window: im2col of ones, summed (L)
    Tensor count =
        raw::reduce(ReduceOp::Sum, im2col_raw(ones({1, 1, w.H, w.W}, {x.dtype(), x.device()}), w), {0, 1}, false);
    means = sums / count;
  }
  return means.reshape({N, C, w.OH, w.OW});
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
  check_pool_input("adaptive_avg_pool2d", x);
  HEED_CHECK(output_size.h > 0 && output_size.w > 0, "adaptive_avg_pool2d: output size must be positive, got {}x{}",
             output_size.h, output_size.w);
  const int64_t H = x.shape()[x.dim() - 2], W = x.shape()[x.dim() - 1];
  HEED_CHECK(H > 0 && W > 0, "adaptive_avg_pool2d: input {} has an empty spatial dim", x.shape());
  Tensor along_h = averaging_matrix(output_size.h, H, x), along_w = averaging_matrix(output_size.w, W, x);
  return matmul(matmul(along_h, x), along_w.transpose(0, 1));  // (OH, H)·(…, H, W)·(W, OW)
}

// ---------------------------------------------------------------- batch norm

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  HEED_CHECK(x.dim() >= 2, "batch_norm: input must be (N, C, ...), got shape {}", x.shape());
  HEED_CHECK(x.is_floating_point(), "batch_norm: input must be floating, got {}", x.dtype());
  const int64_t C = x.shape()[1];
  auto check_per_channel = [&](const Tensor& t, const char* what) {
    if (t.defined())
      HEED_CHECK(t.dim() == 1 && t.shape()[0] == C && t.dtype() == x.dtype(),
                 "batch_norm: {} must be ({}) {}, one per channel of input {}, got {} {}", what, C, x.dtype(),
                 x.shape(), t.shape(), t.dtype());
  };
  check_per_channel(running_mean, "running_mean");
  check_per_channel(running_var, "running_var");
  check_per_channel(weight, "weight");
  check_per_channel(bias, "bias");
  Shape dims{0}, channel_shape(static_cast<size_t>(x.dim()), 1);  // reduce over all dims but 1
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  channel_shape[1] = C;  // (1, C, 1, ...)

  Tensor centered, var;  // x − mean, and the variance used to normalise, (1, C, 1, ...)
  if (training) {
    const int64_t n = x.numel() / C;
    HEED_CHECK(n > 1, "batch_norm: expected more than 1 value per channel when training, got input {}", x.shape());
    Tensor mean = heed::mean(x, dims, true);
    centered = x - mean;
    var = heed::mean(centered * centered, dims, true);  // biased, as PyTorch normalises
    NoGradGuard no_grad;  // running statistics: r = (1 − m)·r + m·stat, with the unbiased var
    if (running_mean.defined())
      raw::copy_(running_mean, running_mean * (1 - momentum) + mean.detach().reshape({C}) * momentum);
    if (running_var.defined()) {
      Tensor unbiased = var.detach().reshape({C}) * (static_cast<double>(n) / static_cast<double>(n - 1));
      raw::copy_(running_var, running_var * (1 - momentum) + unbiased * momentum);
    }
  } else {
    HEED_CHECK(running_mean.defined() && running_var.defined(),
               "batch_norm: eval mode needs running_mean and running_var (input {})", x.shape());
    centered = x - running_mean.reshape(channel_shape);
    var = running_var.reshape(channel_shape);
  }
  Tensor scale = rsqrt(var + eps);  // per channel; weight folded in before touching x
  if (weight.defined()) scale = scale * weight.reshape(channel_shape);
  Tensor y = centered * scale;
  return bias.defined() ? y + bias.reshape(channel_shape) : y;
}

}  // namespace heed
