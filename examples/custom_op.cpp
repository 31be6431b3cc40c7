// A custom differentiable op: softplus(x) = log(1 + eˣ), with its gradient σ(x) written by
// hand, then checked with gradcheck (first derivatives) and gradgradcheck (second). Exits
// non-zero when a check fails.
#include <cstdio>

#include "heed/heed.h"

using namespace heed;

Tensor my_softplus(const Tensor& x) {
  Tensor y;
  {
    NoGradGuard no_grad;  // the forward's own ops record nothing: this op is one node
    y = log(exp(x) + 1.0);
  }
  // make_node records the node only when x needs a gradient (and grad mode is on).
  if (auto node = autograd::make_node("my_softplus", {x}, {y})) {
    // dy/dx = σ(x). Written with differentiable ops, so the backward has a backward too.
    node->backward = [x = autograd::SavedTensor(x)](const autograd::Grads& g) {
      return autograd::Grads{g[0] * sigmoid(x.unpack())};
    };
  }
  return y;
}

int main() {
  manual_seed(0);
  Tensor x = randn({3, 4}, {DType::Float64}).requires_grad_();  // float64: see docs/gradcheck.md
  auto f = [](const std::vector<Tensor>& in) { return my_softplus(in[0]); };

  GradcheckResult first = gradcheck(f, {x}, {.raise = false});
  GradcheckResult second = gradgradcheck(f, {x}, {.raise = false});
  std::printf("gradcheck %s\ngradgradcheck %s\n", first ? "ok" : first.report.c_str(),
              second ? "ok" : second.report.c_str());

  // A wrong gradient (σ(x)/2) must be caught, and the report names the element.
  auto wrong = [](const std::vector<Tensor>& in) {
    Tensor y = my_softplus(in[0]);
    return y * 0.5 + my_softplus(in[0]).detach() * 0.5;
  };
  GradcheckResult caught = gradcheck(wrong, {x}, {.raise = false});
  std::printf("a wrong gradient: %s\n", caught.report.c_str());
  return first && second && !caught ? 0 : 1;
}
