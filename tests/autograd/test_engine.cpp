// The autograd engine: leaves and non-leaves, accumulation, retain_graph, create_graph,
// detach, no_grad, hooks, autograd::grad, anomaly mode, graph export, gradcheck's reports.
#include <doctest/doctest.h>

#include "../helpers.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/random.h"

using namespace heed;
using heed::test::values;

namespace {
Tensor f64(std::initializer_list<double> v) { return tensor(v, {DType::Float64}); }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("backward fills .grad of leaves only") {
  Tensor x = f64({1, 2, 3}).requires_grad_();
  Tensor y = x * x;  // non-leaf
  Tensor loss = sum(y);
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.requires_grad());
  loss.backward();
  CHECK(values(x.grad()) == std::vector<double>{2, 4, 6});
  CHECK_FALSE(y.grad().defined());
}

TEST_CASE("a tensor used twice gets both gradients, and grads accumulate across backward calls") {
  Tensor x = f64({1, 2}).requires_grad_();
  sum(x * x + x).backward();
  CHECK(values(x.grad()) == std::vector<double>{3, 5});
  sum(x * 3.0).backward();
  CHECK(values(x.grad()) == std::vector<double>{6, 8});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("broadcast gradients are summed back to each input's shape") {
  Tensor a = ones({3, 4}, {DType::Float64}).requires_grad_();
  Tensor b = ones({4}, {DType::Float64}).requires_grad_();
  sum(a * b).backward();
  CHECK(b.grad().shape() == Shape{4});
  CHECK(values(b.grad()) == std::vector<double>{3, 3, 3, 3});
  CHECK(a.grad().is_contiguous());
}

TEST_CASE("backward on a non-scalar needs a gradient") {
  Tensor x = f64({1, 2}).requires_grad_();
  Tensor y = x * 2.0;
  try {
    y.backward();
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "only for outputs with one element"));
    CHECK(contains(e.what(), "[2]"));
  }
  y.backward(f64({1, 10}));
  CHECK(values(x.grad()) == std::vector<double>{2, 20});
  CHECK_THROWS_AS(y.backward(f64({1, 2, 3})), Error);  // wrong gradient shape
}

TEST_CASE("a second backward through a freed graph is an error unless retain_graph") {
  Tensor x = f64({1, 2}).requires_grad_();
  Tensor loss = sum(exp(x));
  loss.backward(Tensor(), /*retain_graph=*/true);
  loss.backward();
  CHECK(values(x.grad())[0] == doctest::Approx(2 * std::exp(1.0)));
  try {
    loss.backward();
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "second time"));
    CHECK(contains(e.what(), "retain_graph"));
  }
}

TEST_CASE("backward of a tensor that needs no grad is an error") {
  CHECK_THROWS_AS(sum(ones({2})).backward(), Error);
}

TEST_CASE("no_grad and detach record nothing") {
  Tensor x = f64({1, 2}).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
  }
  CHECK((x * 2.0).requires_grad());
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == x.storage());
  CHECK_FALSE((d * 2.0).requires_grad());
}

TEST_CASE("create_graph gives second derivatives") {
  Tensor x = f64({0.5, -1.0}).requires_grad_();
  Tensor y = sum(x * x * x);  // dy/dx = 3x², d²y/dx² = 6x
  auto g = autograd::grad({y}, {x}, {}, false, /*create_graph=*/true);
  CHECK(values(g[0]) == std::vector<double>{0.75, 3.0});
  CHECK(g[0].requires_grad());
  sum(g[0]).backward();
  CHECK(values(x.grad()) == std::vector<double>{3.0, -6.0});
}

TEST_CASE("autograd::grad leaves .grad alone and reports unused inputs") {
  Tensor x = f64({1, 2}).requires_grad_();
  Tensor z = f64({3}).requires_grad_();
  Tensor y = sum(x * 2.0);
  auto g = autograd::grad({y}, {x}, {}, /*retain_graph=*/true);
  CHECK(values(g[0]) == std::vector<double>{2, 2});
  CHECK_FALSE(x.grad().defined());
  CHECK_THROWS_AS(autograd::grad({y}, {z}, {}, true), Error);
  auto unused = autograd::grad({y}, {z}, {}, true, false, /*allow_unused=*/true);
  CHECK_FALSE(unused[0].defined());
  // Gradient with respect to a non-leaf.
  Tensor h = x * 3.0;
  Tensor out = sum(h * h);
  auto gh = autograd::grad({out}, {h});
  CHECK(values(gh[0]) == std::vector<double>{6, 12});
}

TEST_CASE("hooks see and may replace gradients and retain_grad keeps a non-leaf gradient") {
  Tensor x = f64({1, 2}).requires_grad_();
  std::vector<double> seen;
  x.register_hook([&](const Tensor& g) -> std::optional<Tensor> {
    seen = values(g);
    return g * 10.0;
  });
  Tensor h = x * 2.0;
  h.retain_grad();
  h.register_hook([](const Tensor& g) -> std::optional<Tensor> { return g + 1.0; });
  sum(h).backward();
  CHECK(seen == std::vector<double>{4, 4});             // (1 + 1) · 2
  CHECK(values(x.grad()) == std::vector<double>{40, 40});
  CHECK(values(h.grad()) == std::vector<double>{2, 2});  // retained after the hook ran
}

TEST_CASE("a post-accumulate hook runs once per backward, after the leaf's last gradient, last layer first") {
  Tensor w1 = f64({1, 2}).requires_grad_(), w2 = f64({3, 4}).requires_grad_(), unused = f64({5}).requires_grad_();
  std::vector<std::string> calls;
  std::vector<double> w1_grad_seen;
  w1.register_post_accumulate_grad_hook([&](const Tensor& t) {
    calls.push_back("w1");
    w1_grad_seen = values(t.grad());
  });
  w2.register_post_accumulate_grad_hook([&](const Tensor&) { calls.push_back("w2"); });
  unused.register_post_accumulate_grad_hook([&](const Tensor&) { calls.push_back("unused"); });
  Tensor h = w1 * w1 + w1;  // w1 used twice: the hook must wait for both gradients
  Tensor loss = sum(h * w2);
  loss.backward();
  CHECK(calls == std::vector<std::string>{"w2", "w1"});
  CHECK(w1_grad_seen == std::vector<double>{9, 20});  // (2 w1 + 1) w2: complete when the hook ran
  sum(w1 * 3.0).backward();                            // a second backward: the hook runs again
  CHECK(calls == std::vector<std::string>{"w2", "w1", "w1"});
  CHECK(w1_grad_seen == std::vector<double>{12, 23});  // accumulated onto the first
  auto g = autograd::grad({sum(w1 * w2)}, {w1});       // grad() leaves .grad alone: no hooks
  CHECK(calls.size() == 3);
  CHECK_THROWS_AS((w1 * 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}), Error);
}

TEST_CASE("requires_grad is only for floating leaves") {
  CHECK_THROWS_AS(arange(3).requires_grad_(), Error);
  Tensor x = f64({1}).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_THROWS_AS(y.requires_grad_(false), Error);
}

TEST_CASE("anomaly mode names the op that produced NaN, forward and backward") {
  autograd::AnomalyModeGuard anomaly;
  Tensor x = f64({-1, 1}).requires_grad_();
  try {
    (void)sqrt(x);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "forward of 'sqrt'"));
    CHECK(contains(e.what(), "NaN"));
  }
  // sqrt(0) is fine forward, but its gradient is infinite.
  Tensor z = f64({0, 1}).requires_grad_();
  Tensor loss = sum(sqrt(z));
  try {
    loss.backward();
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "backward of 'sqrt'"));
    CHECK(contains(e.what(), "created at"));
  }
}

TEST_CASE("without anomaly mode NaN passes silently, as in PyTorch") {
  Tensor x = f64({-1}).requires_grad_();
  CHECK(std::isnan(sqrt(x).item()));
}

TEST_CASE("graph export to DOT") {
  Tensor x = f64({1, 2}).requires_grad_();
  Tensor loss = sum(exp(x) * x);
  std::string dot = autograd::to_dot(loss);
  CHECK(contains(dot, "digraph heed"));
  CHECK(contains(dot, "\"sum\""));
  CHECK(contains(dot, "\"exp\""));
  CHECK(contains(dot, "\"mul\""));
  CHECK(contains(dot, "leaf [2]"));
}

TEST_CASE("gradcheck passes correct gradients and reports wrong ones precisely") {
  manual_seed(0);
  Tensor x = randn({3}, {DType::Float64}).requires_grad_();
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]); }, {x}).ok);
  CHECK(gradgradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]); }, {x}).ok);

  // An op with a deliberately wrong backward: d/dx (2x) claimed to be 3.
  Function wrong = [](const std::vector<Tensor>& in) {
    Tensor y = in[0].detach() * 2.0;
    if (auto node = autograd::make_node("wrong_double", {in[0]}, {y}))
      node->backward = [](const autograd::Grads& g) { return autograd::Grads{g[0] * 3.0}; };
    return y;
  };
  GradcheckResult r = gradcheck(wrong, {x}, {.raise = false});
  CHECK_FALSE(r.ok);
  CHECK(contains(r.report, "input 0"));
  CHECK(contains(r.report, "analytic  3"));
  CHECK(contains(r.report, "numerical 2"));
  CHECK(contains(r.report, "difference 1"));
  CHECK_THROWS_AS(gradcheck(wrong, {x}), Error);
  CHECK_THROWS_AS(gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; },
                            {randn({2}).requires_grad_()}),  // float32: refused
                  Error);
}

TEST_CASE("gradgradcheck catches a backward that is not itself differentiable") {
  // Backward computed on detached values: first derivative right, second lost.
  Function first_only = [](const std::vector<Tensor>& in) {
    Tensor y = in[0].detach() * in[0].detach();
    if (auto node = autograd::make_node("square_first_only", {in[0]}, {y}))
      node->backward = [x = in[0]](const autograd::Grads& g) { return autograd::Grads{g[0] * (x.detach() * 2.0)}; };
    return y;
  };
  Tensor x = f64({0.5, -1.5}).requires_grad_();
  CHECK(gradcheck(first_only, {x}).ok);
  GradcheckResult r = gradgradcheck(first_only, {x}, {.raise = false});
  CHECK_FALSE(r.ok);
  CHECK(contains(r.report, "gradgradcheck"));
}
