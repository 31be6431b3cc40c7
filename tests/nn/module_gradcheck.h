// gradcheck / gradgradcheck of a module with respect to its inputs AND its parameters.
//
// heed::gradcheck differentiates the fresh leaves it passes to a function, but a module reads
// its own parameter tensors. ParamSwap bridges the two: while it lives, each parameter holds a
// gradcheck input's data (nn::set_data) and its autograd link is a view of that input, so every
// op that reads the parameter records an edge back to the gradcheck leaf. It restores the
// parameter (data and autograd state, same handle) when it goes out of scope.
//
// gradgradcheck_module builds the vector-Jacobian product inside the swap (create_graph), so
// the second-order graph, too, leads back to the swapped-in leaves.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "nn/module.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace heed::test {

class ParamSwap {
 public:
  ParamSwap(const std::vector<Tensor>& params, const std::vector<Tensor>& values) {
    HEED_CHECK(params.size() == values.size(), "ParamSwap: {} parameters, {} values", params.size(), values.size());
    for (size_t k = 0; k < params.size(); ++k) {
      const Tensor& p = params[k];
      HEED_CHECK(values[k].shape() == p.shape(), "ParamSwap: value {} has shape {}, parameter {}", k, values[k].shape(),
                 p.shape());
      Tensor stand_in = values[k].view(p.shape());  // non-leaf when values[k] requires grad
      saved_.push_back({p, raw::alias(p), std::move(p.impl_ptr()->autograd)});
      nn::set_data(p, stand_in);
      if (stand_in.requires_grad()) {
        AutogradMeta& meta = p.impl_ptr()->meta();
        meta.requires_grad = true;
        meta.grad_fn = stand_in.grad_fn();
        meta.output_nr = stand_in.impl_ptr()->autograd->output_nr;
      }
    }
  }
  ~ParamSwap() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      nn::set_data(it->param, it->data);
      it->param.impl_ptr()->autograd = std::move(it->meta);
    }
  }
  ParamSwap(const ParamSwap&) = delete;
  ParamSwap& operator=(const ParamSwap&) = delete;

 private:
  struct Saved {
    Tensor param, data;
    std::unique_ptr<AutogradMeta> meta;
  };
  std::vector<Saved> saved_;
};

// How to call the module on its inputs; by default the one-tensor operator().
using ModuleCall = std::function<Tensor(nn::Module&, const std::vector<Tensor>&)>;
inline Tensor call_one(nn::Module& m, const std::vector<Tensor>& in) { return m(in[0]); }

// Inputs followed by a float64 copy of every parameter, all floating ones requiring grad.
inline std::vector<Tensor> module_check_inputs(const nn::Module& m, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> all;
  for (const Tensor& x : inputs) {
    Tensor t = x.detach();
    if (t.is_floating_point()) t.requires_grad_();
    all.push_back(t);
  }
  for (const Tensor& p : m.parameters()) {
    HEED_CHECK(p.dtype() == DType::Float64, "gradcheck_module: parameter is {}; call to(DType::Float64) first",
               p.dtype());
    all.push_back(p.detach().clone().requires_grad_());
  }
  return all;
}

inline GradcheckResult gradcheck_module(nn::Module& m, const std::vector<Tensor>& inputs, ModuleCall call = call_one,
                                        GradcheckOptions opt = {}) {
  const std::vector<Tensor> params = m.parameters();
  const size_t n_in = inputs.size();
  Function fn = [&](const std::vector<Tensor>& all) {
    ParamSwap swap(params, std::vector<Tensor>(all.begin() + static_cast<int64_t>(n_in), all.end()));
    return call(m, std::vector<Tensor>(all.begin(), all.begin() + static_cast<int64_t>(n_in)));
  };
  return gradcheck(fn, module_check_inputs(m, inputs), opt);
}

// Checks x, θ, v ↦ vᵀ·∂f/∂(x, θ) against finite differences: the module's double backward.
inline GradcheckResult gradgradcheck_module(nn::Module& m, const std::vector<Tensor>& inputs,
                                            ModuleCall call = call_one, GradcheckOptions opt = {}) {
  const std::vector<Tensor> params = m.parameters();
  std::vector<Tensor> all = module_check_inputs(m, inputs);
  const size_t n = all.size(), n_in = inputs.size();
  MultiFunction vjp = [&](const std::vector<Tensor>& in) {
    std::vector<Tensor> x(in.begin(), in.begin() + static_cast<int64_t>(n));
    ParamSwap swap(params, std::vector<Tensor>(x.begin() + static_cast<int64_t>(n_in), x.end()));
    Tensor y = call(m, std::vector<Tensor>(x.begin(), x.begin() + static_cast<int64_t>(n_in)));
    std::vector<Tensor> diff;
    for (const Tensor& t : x)
      if (t.requires_grad()) diff.push_back(t);
    std::vector<Tensor> g = autograd::grad({y}, diff, {in[n]}, /*retain_graph=*/true, /*create_graph=*/true,
                                           /*allow_unused=*/true);
    for (size_t d = 0; d < g.size(); ++d)
      if (!g[d].defined()) g[d] = zeros_like(diff[d]);
    return g;
  };
  Tensor probe = [&] {
    ParamSwap swap(params, std::vector<Tensor>(all.begin() + static_cast<int64_t>(n_in), all.end()));
    return call(m, std::vector<Tensor>(all.begin(), all.begin() + static_cast<int64_t>(n_in)));
  }();
  all.push_back(randn(probe.shape(), {DType::Float64}).requires_grad_());  // v
  GradcheckResult r = gradcheck(vjp, all, {opt.eps, opt.atol, opt.rtol, false});
  if (!r.ok) {
    r.report = "gradgradcheck_module: " + r.report;
    if (opt.raise) throw Error(r.report);
  }
  return r;
}

}  // namespace heed::test
