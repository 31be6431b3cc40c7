// gradcheck / gradgradcheck (see gradcheck.h). The Jacobian is built twice:
//   numerical: column j = (f(x + ε·e_j) − f(x − ε·e_j)) / 2ε, for every element j of every input
//   analytic:  row k = the gradient autograd gives for a one-hot output gradient e_k
// and compared entry by entry.
#include "autograd/gradcheck.h"

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace heed {
namespace {

Shape unravel(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return idx;
}

Tensor one_hot_like(const Tensor& t, int64_t j, double value) {
  std::vector<double> v(static_cast<size_t>(t.numel()), 0.0);
  v[static_cast<size_t>(j)] = value;
  return raw::to_device(raw::reshape(from_vector(v, {}, {DType::Float64}), t.shape()), t.device());
}

// A fresh leaf holding `value`, requiring grad like `like`.
Tensor leaf_like(const Tensor& value, const Tensor& like) {
  Tensor t = raw::contiguous(raw::clone(value));
  if (like.requires_grad()) t.requires_grad_();
  return t;
}

std::vector<double> flat_values(const std::vector<Tensor>& outs) {
  std::vector<double> v;
  for (const Tensor& o : outs) {
    if (!o.defined() || !o.is_floating_point()) continue;
    auto ov = o.to_vector<double>();
    v.insert(v.end(), ov.begin(), ov.end());
  }
  return v;
}

GradcheckResult fail(const std::string& report, bool raise) {
  if (raise) throw Error(report);
  return {false, report};
}

}  // namespace

GradcheckResult gradcheck(const MultiFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt) {
  std::vector<size_t> diff;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    HEED_CHECK(inputs[i].dtype() == DType::Float64,
               "gradcheck: input {} is {}; finite differences need float64 inputs", i, inputs[i].dtype());
    diff.push_back(i);
  }
  HEED_CHECK(!diff.empty(), "gradcheck: no input requires grad");

  std::vector<Tensor> leaves = inputs;
  for (size_t i : diff) leaves[i] = leaf_like(inputs[i], inputs[i]);
  std::vector<Tensor> outputs = fn(leaves);
  std::vector<size_t> out_index;  // floating outputs
  for (size_t o = 0; o < outputs.size(); ++o)
    if (outputs[o].defined() && outputs[o].is_floating_point()) {
      HEED_CHECK(outputs[o].dtype() == DType::Float64, "gradcheck: output {} is {}; expected float64", o,
                 outputs[o].dtype());
      out_index.push_back(o);
    }

  // Numerical Jacobian: numeric[i][j] = d(all outputs, flattened) / d(input i, element j).
  std::vector<std::vector<std::vector<double>>> numeric(inputs.size());
  for (size_t i : diff) {
    const int64_t n = leaves[i].numel();
    numeric[i].resize(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
      auto eval = [&](double sign) {
        std::vector<Tensor> in = leaves;
        in[i] = leaf_like(raw::binary(BinaryOp::Add, leaves[i], one_hot_like(leaves[i], j, sign * opt.eps)), leaves[i]);
        return flat_values(fn(in));
      };
      std::vector<double> plus = eval(1), minus = eval(-1);
      HEED_CHECK(plus.size() == minus.size(), "gradcheck: the function's outputs changed size between calls");
      auto& col = numeric[i][static_cast<size_t>(j)];
      col.resize(plus.size());
      for (size_t k = 0; k < plus.size(); ++k) col[k] = (plus[k] - minus[k]) / (2 * opt.eps);
    }
  }

  // Analytic Jacobian, one backward per output element, compared as we go.
  std::vector<Tensor> diff_leaves;
  for (size_t i : diff) diff_leaves.push_back(leaves[i]);
  int64_t row = 0, failures = 0;
  std::string first;
  for (size_t o : out_index) {
    const Tensor& out = outputs[o];
    for (int64_t k = 0; k < out.numel(); ++k, ++row) {
      std::vector<Tensor> grads(diff.size());
      if (out.requires_grad())
        grads = autograd::grad({out}, diff_leaves, {one_hot_like(out, k, 1.0)}, /*retain_graph=*/true,
                               /*create_graph=*/false, /*allow_unused=*/true);
      for (size_t d = 0; d < diff.size(); ++d) {
        const size_t i = diff[d];
        std::vector<double> an(static_cast<size_t>(leaves[i].numel()), 0.0);
        if (grads[d].defined()) {
          HEED_CHECK(grads[d].shape() == leaves[i].shape(),
                     "gradcheck: gradient of input {} has shape {}, the input has shape {}", i, grads[d].shape(),
                     leaves[i].shape());
          an = grads[d].to_vector<double>();
        }
        for (int64_t j = 0; j < leaves[i].numel(); ++j) {
          const double a = an[static_cast<size_t>(j)], nu = numeric[i][static_cast<size_t>(j)][static_cast<size_t>(row)];
          if (std::abs(a - nu) <= opt.atol + opt.rtol * std::abs(nu)) continue;
          if (failures++ == 0)
            first = fmt::format(
                "gradcheck failed: input {} (shape {}), element {} {}, output {} element {} {}:\n"
                "  analytic  {:.10g}\n  numerical {:.10g}\n  difference {:.3g} (allowed {:.3g} = atol {} + rtol {}·|numerical|)",
                i, leaves[i].shape(), j, unravel(j, leaves[i].shape()), o, k, unravel(k, out.shape()), a, nu,
                std::abs(a - nu), opt.atol + opt.rtol * std::abs(nu), opt.atol, opt.rtol);
        }
      }
    }
  }
  if (failures) return fail(fmt::format("{}\n  ({} Jacobian entries differ in all)", first, failures), opt.raise);
  return {};
}

GradcheckResult gradcheck(const Function& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt) {
  return gradcheck(MultiFunction([&fn](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in)}; }), inputs,
                   opt);
}

GradcheckResult gradgradcheck(const MultiFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt,
                              const std::vector<Tensor>& grad_outputs) {
  const size_t n = inputs.size();
  std::vector<Tensor> gouts = grad_outputs;
  if (gouts.empty()) {
    std::vector<Tensor> probe = fn(inputs);
    for (const Tensor& o : probe)
      if (o.defined() && o.is_floating_point())
        gouts.push_back(randn(o.shape(), {DType::Float64, o.device()}).requires_grad_());
  }
  // x, v ↦ vᵀ·∂f/∂x, built with create_graph so it can itself be differentiated.
  MultiFunction vjp = [&fn, n](const std::vector<Tensor>& in) {
    std::vector<Tensor> x(in.begin(), in.begin() + static_cast<int64_t>(n)), v(in.begin() + static_cast<int64_t>(n), in.end());
    std::vector<Tensor> outs, seeds, diff;
    size_t vi = 0;
    for (const Tensor& o : fn(x)) {
      if (!o.defined() || !o.is_floating_point()) continue;
      if (o.requires_grad()) {
        outs.push_back(o);
        seeds.push_back(v[vi]);
      }
      ++vi;
    }
    for (const Tensor& t : x)
      if (t.defined() && t.requires_grad()) diff.push_back(t);
    std::vector<Tensor> g(diff.size());
    if (!outs.empty()) g = autograd::grad(outs, diff, seeds, true, /*create_graph=*/true, /*allow_unused=*/true);
    for (size_t d = 0; d < g.size(); ++d)
      if (!g[d].defined()) g[d] = zeros_like(diff[d]);
    return g;
  };
  std::vector<Tensor> all = inputs;
  all.insert(all.end(), gouts.begin(), gouts.end());
  GradcheckResult r = gradcheck(vjp, all, {opt.eps, opt.atol, opt.rtol, false});
  if (!r.ok) {
    r.report = "gradgradcheck (inputs " + std::to_string(n) + "… are the output gradients v): " + r.report;
    if (opt.raise) throw Error(r.report);
  }
  return r;
}

GradcheckResult gradgradcheck(const Function& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt,
                              const std::vector<Tensor>& grad_outputs) {
  return gradgradcheck(MultiFunction([&fn](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in)}; }),
                       inputs, opt, grad_outputs);
}

}  // namespace heed
