// Gradient checking, a public API: compares the gradients autograd computes with central
// finite differences, (f(x + ε) − f(x − ε)) / 2ε, element by element, in float64.
//
//   auto r = heed::gradcheck([](const std::vector<Tensor>& in) { return heed::tanh(in[0]); },
//                            {heed::randn({3, 4}, {DType::Float64}).requires_grad_()});
//
// gradcheck compares the whole Jacobian (one backward per output element, two forwards per
// input element), so keep inputs small. gradgradcheck does the same for the gradient itself:
// it checks the vector-Jacobian product x, v ↦ vᵀ·∂f/∂x (computed with create_graph=true)
// against finite differences, which proves double backward.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace heed {

using MultiFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
using Function = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  double eps = 1e-6;    // finite-difference step
  double atol = 1e-5;   // pass when |analytic − numerical| ≤ atol + rtol·|numerical|
  double rtol = 1e-3;
  bool raise = true;    // throw heed::Error with the report on failure (else just return it)
};

struct GradcheckResult {
  bool ok = true;
  // On failure: the input, the element, the analytic and numerical values and their difference.
  std::string report;
  explicit operator bool() const { return ok; }
};

GradcheckResult gradcheck(const Function& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {});
GradcheckResult gradcheck(const MultiFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {});
// grad_outputs: the v in vᵀ·∂f/∂x, one per output; random when empty.
GradcheckResult gradgradcheck(const Function& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {},
                              const std::vector<Tensor>& grad_outputs = {});
GradcheckResult gradgradcheck(const MultiFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {},
                              const std::vector<Tensor>& grad_outputs = {});

}  // namespace heed
