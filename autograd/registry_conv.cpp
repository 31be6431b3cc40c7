// Op registry rows for convolution, pooling and batch norm (see registry.h; the ops live in
// autograd/ops/conv.cpp). One row per configuration (stride, padding, dilation, groups), since
// a row's function fixes them. Samples stay tiny: gradcheck builds full Jacobians, and
// gradgradcheck does so again for the gradient.
#include "autograd/conv.h"
#include "autograd/ops.h"
#include "autograd/registry.h"
#include "tensor/random.h"

namespace heed {
namespace {

constexpr Options kF64{DType::Float64};

using V = const std::vector<Tensor>&;
using Ins = std::vector<Tensor>;

Tensor R(const Shape& s) { return randn(s, kF64).requires_grad_(); }  // standard normal, differentiated
Tensor P(const Shape& s) { return rand(s, kF64) + 0.5; }               // in [0.5, 1.5), a constant (variances)
Tensor C(const Shape& s) { return randn(s, kF64); }                    // standard normal, a constant
Tensor bias_of(V in) { return in.size() > 2 ? in[2] : Tensor(); }

// A row with one sample per (label, inputs) pair; inputs are drawn fresh on every call.
using Sample = std::pair<std::string, std::function<Ins()>>;
OpInfo row(std::string name, Function fn, std::vector<Sample> samples, bool ties_break_gradient = false) {
  OpInfo op{std::move(name), "autograd/ops/conv.cpp", std::move(fn), [samples] {
              std::vector<OpSample> out;
              for (const auto& [label, inputs] : samples) out.push_back({label, inputs()});
              return out;
            }};
  op.ties_break_gradient = ties_break_gradient;
  return op;
}

}  // namespace

std::vector<OpInfo> conv_op_rows() {
  // Shapes in labels: x (N, C, H, W) * weight (O, C/groups, kh, kw) + bias (O).
  std::vector<OpInfo> ops;
  // ---- im2col / col2im (each the other's backward)
  ops.push_back(row("im2col", [](V in) { return im2col(in[0], {2, 3}, {1, 2}, 1, {2, 1}); },
                    {{"(2,2,4,5) kernel (2,3) dilation (1,2) padding 1 stride (2,1)",
                      [] { return Ins{R({2, 2, 4, 5})}; }}}));
  ops.push_back(row("col2im", [](V in) { return col2im(in[0], {4, 5}, {2, 3}, {1, 2}, 1, {2, 1}); },
                    {{"(2,12,9) -> (2,2,4,5) with im2col's parameters", [] { return Ins{R({2, 12, 9})}; }}}));
  // ---- convolution
  ops.push_back(row("conv2d", [](V in) { return conv2d(in[0], in[1], bias_of(in)); },
                    {{"(2,3,5,5) * (4,3,3,3) + bias", [] { return Ins{R({2, 3, 5, 5}), R({4, 3, 3, 3}), R({4})}; }},
                     {"(2,3,4,5) * (2,3,2,3), no bias", [] { return Ins{R({2, 3, 4, 5}), R({2, 3, 2, 3})}; }}}));
  ops.push_back(row("conv2d (stride 2, padding 1)", [](V in) { return conv2d(in[0], in[1], bias_of(in), 2, 1); },
                    {{"(2,3,5,5) * (4,3,3,3) + bias", [] { return Ins{R({2, 3, 5, 5}), R({4, 3, 3, 3}), R({4})}; }}}));
  ops.push_back(row("conv2d (dilation 2, padding (1,2))",
                    [](V in) { return conv2d(in[0], in[1], bias_of(in), 1, {1, 2}, 2); },
                    {{"(2,3,5,5) * (4,3,3,3) + bias", [] { return Ins{R({2, 3, 5, 5}), R({4, 3, 3, 3}), R({4})}; }}}));
  ops.push_back(row("conv2d (groups 2, stride (2,1))",
                    [](V in) { return conv2d(in[0], in[1], bias_of(in), {2, 1}, 0, 1, 2); },
                    {{"(2,4,5,4) * (6,2,3,2) + bias", [] { return Ins{R({2, 4, 5, 4}), R({6, 2, 3, 2}), R({6})}; }}}));
  ops.push_back(row("conv1d (stride 2, padding 1, dilation 2)",
                    [](V in) { return conv1d(in[0], in[1], bias_of(in), 2, 1, 2); },
                    {{"(2,3,8) * (4,3,3) + bias", [] { return Ins{R({2, 3, 8}), R({4, 3, 3}), R({4})}; }}}));
  ops.push_back(row("conv1d (groups 2)", [](V in) { return conv1d(in[0], in[1], bias_of(in), 1, 0, 1, 2); },
                    {{"(2,4,6) * (4,2,3), no bias", [] { return Ins{R({2, 4, 6}), R({4, 2, 3})}; }}}));
  // ---- pooling (random normal values: no two elements of a window tie; ties would be kinks)
  ops.push_back(row("max_pool2d (kernel 3, stride 2, padding 1)", [](V in) { return max_pool2d(in[0], 3, 2, 1); },
                    {{"(2,3,5,5)", [] { return Ins{R({2, 3, 5, 5})}; }}}, /*ties_break_gradient=*/true));
  ops.push_back(row("max_pool2d (kernel 2, dilation 2)", [](V in) { return max_pool2d(in[0], 2, 1, 0, 2); },
                    {{"(2,2,5,4)", [] { return Ins{R({2, 2, 5, 4})}; }}}, /*ties_break_gradient=*/true));
  ops.push_back(row("avg_pool2d (kernel 3, stride 2, padding 1)", [](V in) { return avg_pool2d(in[0], 3, 2, 1); },
                    {{"(2,3,5,5)", [] { return Ins{R({2, 3, 5, 5})}; }}}));
  ops.push_back(row("avg_pool2d (count_include_pad false)",
                    [](V in) { return avg_pool2d(in[0], {3, 2}, Size2{2, 1}, 1, false); },
                    {{"(2,2,5,4) kernel (3,2) stride (2,1) padding 1", [] { return Ins{R({2, 2, 5, 4})}; }}}));
  ops.push_back(row("adaptive_avg_pool2d", [](V in) { return adaptive_avg_pool2d(in[0], {3, 4}); },
                    {{"(2,3,5,7) -> (3,4)", [] { return Ins{R({2, 3, 5, 7})}; }}}));
  // ---- batch norm: training normalises with batch statistics; eval with the given ones
  ops.push_back(row("batch_norm (training)",
                    [](V in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], /*training=*/true); },
                    {{"(4,3,3), weight, bias", [] { return Ins{R({4, 3, 3}), R({3}), R({3})}; }},
                     {"(3,2,2,2), weight, bias", [] { return Ins{R({3, 2, 2, 2}), R({2}), R({2})}; }}}));
  ops.push_back(row("batch_norm (eval)",
                    [](V in) { return batch_norm(in[0], in[3], in[4], in[1], in[2], /*training=*/false); },
                    {{"(3,4,2,2), weight, bias, running stats",
                      [] { return Ins{R({3, 4, 2, 2}), R({4}), R({4}), C({4}), P({4})}; }}}));
  return ops;
}

}  // namespace heed
