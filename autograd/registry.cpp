// The rows of the op registry (see registry.h). Sample inputs stay small: gradcheck builds the
// full Jacobian. Inputs avoid each op's kinks and poles (relu and abs at 0, log at 0, ...),
// where finite differences are meaningless.
#include "autograd/registry.h"

#include "autograd/ops.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace heed {
namespace {

constexpr Options kF64{DType::Float64};

Tensor leaf(Tensor t) { return t.requires_grad_(); }
// Standard normal values.
Tensor R(const Shape& s) { return leaf(randn(s, kF64)); }
// Positive values in [0.5, 1.5): for log, sqrt, division, pow bases.
Tensor P(const Shape& s) { return leaf(rand(s, kF64) + 0.5); }
// Normal values pushed at least 0.2 away from 0: for relu, abs.
Tensor K(const Shape& s) {
  Tensor x = randn(s, kF64);
  return leaf(raw::binary(BinaryOp::Add, x, raw::binary(BinaryOp::Mul, raw::unary(UnaryOp::Sign, x), scalar_tensor(0.2, kF64))));
}
Tensor I(const std::vector<int64_t>& v, const Shape& s) { return from_vector(v, s, {DType::Int64}); }
Tensor B(const std::vector<double>& v, const Shape& s) { return from_vector(v, s, {DType::UInt8}); }

using Samples = std::vector<OpSample>;
OpSample S(std::string label, std::vector<Tensor> in) { return {std::move(label), std::move(in)}; }

Samples unary_samples(Tensor (*make)(const Shape&)) { return {S("(3,4)", {make({3, 4})}), S("0-d", {make({})})}; }
Samples binary_samples(Tensor (*a)(const Shape&), Tensor (*b)(const Shape&)) {
  return {S("(3,4) op (3,4)", {a({3, 4}), b({3, 4})}), S("broadcast (3,4) op (4)", {a({3, 4}), b({4})}),
          S("broadcast (3,1) op (1,4)", {a({3, 1}), b({1, 4})})};
}

OpInfo unary(std::string name, Tensor (*op)(const Tensor&), Tensor (*make)(const Shape&)) {
  return {std::move(name), "autograd/ops/elementwise.cpp", [op](const std::vector<Tensor>& in) { return op(in[0]); },
          [make] { return unary_samples(make); }};
}
OpInfo binary(std::string name, Tensor (*op)(const Tensor&, const Tensor&), Tensor (*a)(const Shape&),
              Tensor (*b)(const Shape&)) {
  return {std::move(name), "autograd/ops/elementwise.cpp",
          [op](const std::vector<Tensor>& in) { return op(in[0], in[1]); }, [a, b] { return binary_samples(a, b); }};
}
OpInfo row(std::string name, std::string file, Function fn, std::function<Samples()> samples) {
  return {std::move(name), std::move(file), std::move(fn), std::move(samples)};
}

std::vector<OpInfo> build() {
  const std::string ew = "autograd/ops/elementwise.cpp", rd = "autograd/ops/reduce.cpp",
                    sh = "autograd/ops/shape.cpp", la = "autograd/ops/linalg.cpp", ix = "autograd/ops/index.cpp",
                    ls = "autograd/ops/loss.cpp";
  using V = const std::vector<Tensor>&;
  std::vector<OpInfo> ops;
  // ---- elementwise
  ops.push_back(binary("add", add, R, R));
  ops.push_back(binary("sub", sub, R, R));
  ops.push_back(binary("mul", mul, R, R));
  ops.push_back(binary("div", div, R, P));
  ops.push_back(binary("pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, P, R));
  ops.push_back(row("add/sub/mul/div (scalar operand)", ew,
                    [](V in) { return (2.0 - ((in[0] + 2.0) * 3.0 - 1.0) / 4.0) * in[0]; },
                    [] { return unary_samples(R); }));
  ops.push_back(row("pow (scalar exponent)", ew, [](V in) { return pow(in[0], 2.5); }, [] { return unary_samples(P); }));
  OpInfo mx = binary("maximum", maximum, R, R), mn = binary("minimum", minimum, R, R);
  mx.ties_break_gradient = mn.ties_break_gradient = true;
  ops.push_back(mx);
  ops.push_back(mn);
  ops.push_back(unary("neg", neg, R));
  ops.push_back(unary("exp", [](const Tensor& x) { return exp(x); }, R));
  ops.push_back(unary("log", [](const Tensor& x) { return log(x); }, P));
  ops.push_back(unary("sqrt", [](const Tensor& x) { return sqrt(x); }, P));
  ops.push_back(unary("rsqrt", rsqrt, P));
  ops.push_back(unary("abs", [](const Tensor& x) { return abs(x); }, K));
  ops.push_back(unary("sin", [](const Tensor& x) { return sin(x); }, R));
  ops.push_back(unary("cos", [](const Tensor& x) { return cos(x); }, R));
  ops.push_back(unary("erf", [](const Tensor& x) { return erf(x); }, R));
  ops.push_back(unary("tanh", [](const Tensor& x) { return tanh(x); }, R));
  ops.push_back(unary("sigmoid", sigmoid, R));
  ops.push_back(unary("relu", relu, K));
  ops.push_back(unary("gelu", [](const Tensor& x) { return gelu(x); }, R));
  ops.push_back(unary("gelu (tanh)", [](const Tensor& x) { return gelu(x, "tanh"); }, R));
  ops.push_back(unary("silu", silu, R));
  ops.push_back(row("clamp", ew, [](V in) { return clamp(in[0], -0.5, 0.5); }, [] {
    return Samples{S("values off the bounds", {leaf(tensor({{-1.3, -0.2, 0.1, 0.9}, {0.3, -0.7, 2.0, -0.4}}, kF64))})};
  }));
  ops.push_back(row("where", ew, [](V in) { return where(in[2], in[0], in[1]); }, [] {
    return Samples{S("(2,3), cond (2,3)", {R({2, 3}), R({2, 3}), B({1, 0, 1, 0, 0, 1}, {2, 3})}),
                   S("broadcast cond (2,1), b (3)", {R({2, 3}), R({3}), B({1, 0}, {2, 1})})};
  }));
  ops.push_back(row("masked_fill", ew, [](V in) { return masked_fill(in[0], in[1], -2.0); },
                    [] { return Samples{S("(2,3), mask (3)", {R({2, 3}), B({0, 1, 0}, {3})})}; }));
  // ---- reductions
  ops.push_back(row("sum", rd, [](V in) { return sum(in[0]); }, [] { return unary_samples(R); }));
  ops.push_back(row("sum (dims)", rd, [](V in) { return sum(in[0], {0, 2}, true); },
                    [] { return Samples{S("(2,3,4) over 0,2 keepdim", {R({2, 3, 4})})}; }));
  ops.push_back(row("mean", rd, [](V in) { return mean(in[0], {1}); }, [] { return Samples{S("(3,4) dim 1", {R({3, 4})})}; }));
  ops.push_back(row("var", rd, [](V in) { return var(in[0], {0}); }, [] { return Samples{S("(3,4) dim 0", {R({3, 4})})}; }));
  OpInfo rmax = row("max", rd, [](V in) { return max(in[0], {1}, true); }, [] { return Samples{S("(3,4) dim 1", {R({3, 4})})}; });
  OpInfo rmin = row("min", rd, [](V in) { return min(in[0]); }, [] { return Samples{S("(3,4) all", {R({3, 4})})}; });
  rmax.ties_break_gradient = rmin.ties_break_gradient = true;
  ops.push_back(rmax);
  ops.push_back(rmin);
  ops.push_back(row("softmax", rd, [](V in) { return softmax(in[0], -1); }, [] { return Samples{S("(3,4) dim -1", {R({3, 4})})}; }));
  ops.push_back(row("softmax (dim 0)", rd, [](V in) { return softmax(in[0], 0); }, [] { return Samples{S("(3,4) dim 0", {R({3, 4})})}; }));
  ops.push_back(row("log_softmax", rd, [](V in) { return log_softmax(in[0], 1); }, [] { return Samples{S("(3,4) dim 1", {R({3, 4})})}; }));
  // ---- linear algebra
  ops.push_back(row("matmul", la, [](V in) { return matmul(in[0], in[1]); }, [] {
    return Samples{S("(3,4)@(4,5)", {R({3, 4}), R({4, 5})}), S("(2,3,4)@(4,5)", {R({2, 3, 4}), R({4, 5})}),
                   S("(2,3,4)@(1,4,2)", {R({2, 3, 4}), R({1, 4, 2})}), S("(4)@(4,5)", {R({4}), R({4, 5})}),
                   S("(3,4)@(4)", {R({3, 4}), R({4})}), S("(4)@(4)", {R({4}), R({4})})};
  }));
  // ---- shapes and views
  ops.push_back(row("reshape", sh, [](V in) { return in[0].reshape({2, -1}); }, [] { return Samples{S("(3,4)->(2,6)", {R({3, 4})})}; }));
  ops.push_back(row("permute", sh, [](V in) { return in[0].permute({2, 0, 1}); }, [] { return Samples{S("(2,3,4)", {R({2, 3, 4})})}; }));
  ops.push_back(row("transpose", sh, [](V in) { return in[0].transpose(0, 1) * 1.0; }, [] { return Samples{S("(3,4)", {R({3, 4})})}; }));
  ops.push_back(row("expand", sh, [](V in) { return in[0].expand({2, 3, 4}); }, [] { return Samples{S("(3,1)->(2,3,4)", {R({3, 1})})}; }));
  ops.push_back(row("slice", sh, [](V in) { return in[0].slice(1, 1, 4, 2); }, [] { return Samples{S("(3,5) [:,1:4:2]", {R({3, 5})})}; }));
  ops.push_back(row("narrow", sh, [](V in) { return in[0].narrow(0, 1, 2); }, [] { return Samples{S("(4,3)", {R({4, 3})})}; }));
  ops.push_back(row("select", sh, [](V in) { return in[0].select(1, -1); }, [] { return Samples{S("(3,4) dim 1 index -1", {R({3, 4})})}; }));
  ops.push_back(row("squeeze/unsqueeze", sh, [](V in) { return in[0].squeeze(1).unsqueeze(0); }, [] { return Samples{S("(3,1,2)", {R({3, 1, 2})})}; }));
  ops.push_back(row("flatten", sh, [](V in) { return in[0].flatten(1); }, [] { return Samples{S("(2,3,2)", {R({2, 3, 2})})}; }));
  ops.push_back(row("contiguous", sh, [](V in) { return in[0].transpose(0, 1).contiguous(); }, [] { return Samples{S("(3,4)", {R({3, 4})})}; }));
  ops.push_back(row("cat", sh, [](V in) { return cat({in[0], in[1]}, 0); }, [] { return Samples{S("(2,3)+(4,3)", {R({2, 3}), R({4, 3})})}; }));
  ops.push_back(row("stack", sh, [](V in) { return stack({in[0], in[1]}, 1); }, [] { return Samples{S("(2,3),(2,3) dim 1", {R({2, 3}), R({2, 3})})}; }));
  ops.push_back(row("split", sh, [](V in) { return split(in[0], 2, 1)[1]; }, [] { return Samples{S("(3,5) size 2, part 1", {R({3, 5})})}; }));
  ops.push_back(row("chunk", sh, [](V in) { auto c = chunk(in[0], 3, 0); return c[0] * 2.0 + c[2]; },
                    [] { return Samples{S("(6,2) 3 chunks", {R({6, 2})})}; }));
  // ---- indexing
  ops.push_back(row("index_select", ix, [](V in) { return index_select(in[0], 0, in[1]); },
                    [] { return Samples{S("(5,3) rows 0,2,2,4", {R({5, 3}), I({0, 2, 2, 4}, {4})})}; }));
  ops.push_back(row("index_add", ix, [](V in) { return index_add(in[0], 0, in[2], in[1]); },
                    [] { return Samples{S("(5,3) += (4,3) at 0,2,2,4", {R({5, 3}), R({4, 3}), I({0, 2, 2, 4}, {4})})}; }));
  ops.push_back(row("gather", ix, [](V in) { return gather(in[0], 1, in[1]); },
                    [] { return Samples{S("(3,4) dim 1", {R({3, 4}), I({0, 3, 1, 1, 2, 0}, {3, 2})})}; }));
  ops.push_back(row("scatter_add", ix, [](V in) { return scatter_add(in[0], 1, in[2], in[1]); },
                    [] { return Samples{S("(3,4) dim 1", {R({3, 4}), R({3, 2}), I({0, 3, 1, 1, 2, 0}, {3, 2})})}; }));
  ops.push_back(row("embedding", ix, [](V in) { return embedding(in[0], in[1]); },
                    [] { return Samples{S("(6,3) ids (2,3)", {R({6, 3}), I({1, 5, 1, 0, 2, 3}, {2, 3})})}; }));
  // ---- losses and dropout
  ops.push_back(row("cross_entropy", ls, [](V in) { return cross_entropy(in[0], in[1]); },
                    [] { return Samples{S("(4,5)", {R({4, 5}), I({1, 0, 4, 2}, {4})})}; }));
  ops.push_back(row("cross_entropy (weight, ignore_index, smoothing)", ls,
                    [](V in) { return cross_entropy(in[0], in[1], in[2], 2, 0.1); }, [] {
                      return Samples{S("(4,5)", {R({4, 5}), I({1, 2, 4, 0}, {4}), from_vector(std::vector<double>{1, 2, 0.5, 1, 3}, {5}, kF64)})};
                    }));
  ops.push_back(row("cross_entropy (N,C,d)", ls, [](V in) { return cross_entropy(in[0], in[1], Tensor(), -100, 0.0, Reduction::Sum); },
                    [] { return Samples{S("(2,3,2)", {R({2, 3, 2}), I({0, 2, 1, 1}, {2, 2})})}; }));
  ops.push_back(row("nll_loss", ls, [](V in) { return nll_loss(in[0], in[1], Tensor(), -100, Reduction::None); },
                    [] { return Samples{S("(3,4)", {R({3, 4}), I({3, 0, 1}, {3})})}; }));
  ops.push_back(row("mse_loss", ls, [](V in) { return mse_loss(in[0], in[1]); }, [] { return Samples{S("(3,4)", {R({3, 4}), R({3, 4})})}; }));
  ops.push_back(row("binary_cross_entropy_with_logits", ls,
                    [](V in) { return binary_cross_entropy_with_logits(in[0], in[1], Tensor(), in[2]); }, [] {
                      return Samples{S("(3,4), pos_weight (4)", {R({3, 4}), P({3, 4}) - 0.5, P({4})})};
                    }));
  for (auto* more : {conv_op_rows, sequence_op_rows})
    for (OpInfo& op : more()) ops.push_back(std::move(op));
  ops.push_back(row("dropout", ls, [](V in) { manual_seed(7); return dropout(in[0], 0.3); },
                    [] { return Samples{S("(4,5) p=0.3, fixed seed", {R({4, 5})})}; }));
  return ops;
}

}  // namespace

const std::vector<OpInfo>& op_registry() {
  static const std::vector<OpInfo> ops = build();
  return ops;
}

std::string ops_markdown() {
  std::string out =
      "# Differentiable ops\n\n"
      "Generated from the op registry (autograd/registry.cpp) by `heed-ops-doc`; do not edit by hand.\n"
      "Every op below is gradient-checked (float64, central differences) by tests/autograd/test_registry.cpp\n"
      "on contiguous, transposed, strided and (where ties are no kink) expanded inputs, and\n"
      "gradgradchecked where the table says so.\n\n"
      "| op | forward | backward | gradcheck | gradgradcheck | CPU | CUDA | defined in |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const OpInfo& op : op_registry())
    out += fmt::format("| {} | yes | yes | yes | {} | yes | not yet | {} |\n", op.name, op.gradgrad ? "yes" : "no",
                       op.file);
  return out;
}

}  // namespace heed
