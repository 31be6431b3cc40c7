// heed's optimizers against torch.optim, step by step, and their contracts: parameters without
// a gradient are skipped, updates are in place (every holder sees them), gradients accumulate
// across backward calls, and bad settings fail with errors that name the optimizer and value.
//
// tests/fixtures/optim_steps.safetensors (scripts/make_optim_fixtures.py) holds a float64 problem,
// loss(W, b) = sum((tanh(X·W + b) − Y)²), and for each case the parameters after steps
// 1, 2, 3, 5, 10, 20, 50, 100 of the matching torch.optim optimizer.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <memory>

#include "optim/optim.h"
#include "tests/optim/optim_test_helpers.h"

namespace {

using namespace heed;
using optim_test::fixture;
using optim_test::identical;

const SafetensorsFile& steps_file() { return fixture("optim_steps.safetensors"); }

struct Problem {
  Tensor X, Y, W0, b0;
};

Problem problem() {
  const SafetensorsFile& f = steps_file();
  return {f.at("problem.X"), f.at("problem.Y"), f.at("problem.W0"), f.at("problem.b0")};
}

Tensor loss_of(const Tensor& X, const Tensor& Y, const Tensor& W, const Tensor& b) {
  Tensor d = tanh(matmul(X, W) + b) - Y;  // (N, 4)
  return sum(d * d);
}

Tensor leaf(const Tensor& values) { return values.clone().detach().requires_grad_(); }

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const Tensor& W, const Tensor& b)>;

// Case name -> the heed optimizer that means the same as the torch one in make_optim_fixtures.py.
const std::map<std::string, MakeOptimizer>& optimizer_table() {
  using optim::Adam, optim::AdamW, optim::SGD;
  static const std::map<std::string, MakeOptimizer> table = {
      {"sgd",
       [](const Tensor& W, const Tensor& b) {
         return std::make_unique<SGD>(std::vector{W, b}, optim::SGDOptions{.lr = 0.01});
       }},
      {"sgd_momentum_dampening",
       [](const Tensor& W, const Tensor& b) {
         return std::make_unique<SGD>(
             std::vector{W, b}, optim::SGDOptions{.lr = 0.01, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01});
       }},
      {"sgd_nesterov_wd",
       [](const Tensor& W, const Tensor& b) {
         return std::make_unique<SGD>(
             std::vector{W, b}, optim::SGDOptions{.lr = 0.01, .momentum = 0.8, .weight_decay = 0.05, .nesterov = true});
       }},
      {"sgd_two_groups",
       [](const Tensor& W, const Tensor& b) {
         auto opt = std::make_unique<SGD>(std::vector{W}, optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
         opt->add_param_group({b}, {.lr = 0.002, .momentum = 0.5});
         return opt;
       }},
      {"adam",
       [](const Tensor& W, const Tensor& b) {
         return std::make_unique<Adam>(std::vector{W, b}, optim::AdamOptions{.lr = 0.01});
       }},
      {"adam_amsgrad_wd",
       [](const Tensor& W, const Tensor& b) {
         return std::make_unique<Adam>(
             std::vector{W, b},
             optim::AdamOptions{
                 .lr = 0.02, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05, .amsgrad = true});
       }},
      {"adamw",
       [](const Tensor& W, const Tensor& b) {
         return std::make_unique<AdamW>(std::vector{W, b}, optim::AdamWOptions{.lr = 0.01, .weight_decay = 0.1});
       }},
      {"adamw_amsgrad",
       [](const Tensor& W, const Tensor& b) {
         return std::make_unique<AdamW>(
             std::vector{W, b}, optim::AdamWOptions{.lr = 0.02, .beta1 = 0.85, .beta2 = 0.995, .amsgrad = true});
       }},
      {"adamw_two_groups",
       [](const Tensor& W, const Tensor& b) {
         auto opt = std::make_unique<AdamW>(std::vector{W}, optim::AdamWOptions{.lr = 0.02, .weight_decay = 0.1});
         opt->add_param_group({b}, {.lr = 0.003, .weight_decay = 0.0});
         return opt;
       }},
  };
  return table;
}

// Float64 throughout: heed follows torch's operation order, so the runs differ only by rounding
// (at most ~4e-16 after 100 steps when this was written; PyTorch's vectorised kernels may fuse
// multiply-adds, heed's loops do not).
constexpr double kAtol = 1e-12, kRtol = 1e-10;

void run_case(const std::string& name, const MakeOptimizer& make) {
  const SafetensorsFile& f = steps_file();
  const Problem p = problem();
  Tensor W = leaf(p.W0), b = leaf(p.b0);
  std::unique_ptr<optim::Optimizer> opt = make(W, b);
  int checked = 0;
  for (int step = 1; step <= 100; ++step) {
    opt->zero_grad();
    loss_of(p.X, p.Y, W, b).backward();
    opt->step();
    const std::string key = fmt::format("{}.W.{}", name, step);
    if (!f.contains(key)) continue;
    const Tensor& want_W = f.at(key);
    const Tensor& want_b = f.at(fmt::format("{}.b.{}", name, step));
    INFO(name, " after step ", step);
    CHECK_CLOSE(W, want_W, kAtol, kRtol);
    CHECK_CLOSE(b, want_b, kAtol, kRtol);
    ++checked;
  }
  CHECK_MESSAGE(checked == 8, name, ": expected 8 snapshots in the fixture, found ", checked);
}

}  // namespace

TEST_CASE("optimizers: the gradient of the fixture problem matches PyTorch's") {
  const SafetensorsFile& f = steps_file();
  const Problem p = problem();
  Tensor W = leaf(p.W0), b = leaf(p.b0);
  loss_of(p.X, p.Y, W, b).backward();
  CHECK_CLOSE(W.grad(), f.at("problem.gradW"), 1e-13, 1e-12);
  CHECK_CLOSE(b.grad(), f.at("problem.gradb"), 1e-13, 1e-12);
}

TEST_CASE("optimizers: 100 steps match torch.optim") {
  for (const std::string& name : optim_test::fixture_cases(steps_file(), "problem")) {
    auto it = optimizer_table().find(name);
    if (it == optimizer_table().end()) continue;  // reported by the coverage test below
    SUBCASE(name.c_str()) { run_case(name, it->second); }
  }
}

TEST_CASE("optimizers: every fixture case is in the table, and back") {
  std::vector<std::string> names = optim_test::fixture_cases(steps_file(), "problem");
  CHECK(names.size() == optimizer_table().size());
  for (const std::string& c : names)
    CHECK_MESSAGE(optimizer_table().count(c) == 1, "fixture case '", c, "' has no heed optimizer");
  for (const auto& [c, make] : optimizer_table())
    CHECK_MESSAGE(steps_file().contains(c + ".W.100"), "table case '", c, "' is not in the fixture");
}

TEST_CASE("optimizers: parameters without a gradient are skipped and get no state") {
  const Problem p = problem();
  Tensor W = leaf(p.W0), b = leaf(p.b0), unused = leaf(optim_test::f64({1, 2, 3}));
  for (int kind = 0; kind < 3; ++kind) {
    std::unique_ptr<optim::Optimizer> opt;
    if (kind == 0)
      opt = std::make_unique<optim::SGD>(std::vector{W, b, unused},
                                         optim::SGDOptions{.momentum = 0.9, .weight_decay = 0.1});
    if (kind == 1)
      opt = std::make_unique<optim::Adam>(std::vector{W, b, unused}, optim::AdamOptions{.weight_decay = 0.1});
    if (kind == 2) opt = std::make_unique<optim::AdamW>(std::vector{W, b, unused});
    INFO(opt->name());
    Tensor W_before = W.clone(), unused_before = unused.clone();
    opt->zero_grad();
    loss_of(p.X, p.Y, W, b).backward();
    CHECK_FALSE(unused.grad().defined());
    opt->step();
    CHECK(identical(unused, unused_before));  // weight decay must not touch it either
    CHECK_FALSE(identical(W, W_before));
    CHECK(opt->state(unused) == nullptr);
    REQUIRE(opt->state(W) != nullptr);
    CHECK(opt->state(W)->step == 1);
    // A state dict has entries for parameters 0 and 1 only.
    optim::StateDict s = opt->state_dict();
    CHECK(s.has("state.0.step"));
    CHECK(s.has("state.1.step"));
    CHECK_FALSE(s.has("state.2.step"));
  }
}

namespace {
struct Holder : nn::Module {
  Tensor weight;
  explicit Holder(const Tensor& w) : Module("Holder") { weight = register_parameter("weight", w); }
};
}  // namespace

TEST_CASE("optimizers: updates are in place, so every holder and view sees them") {
  const Problem p = problem();
  Holder model(p.W0.clone());
  Tensor b = leaf(p.b0);
  Tensor handle = model.parameters()[0];  // another handle to the same parameter
  Tensor view = handle.detach();          // shares the storage, no autograd
  optim::Adam opt({handle, b}, {.lr = 0.1});
  Tensor before = handle.clone();
  loss_of(p.X, p.Y, model.weight, b).backward();
  opt.step();
  CHECK_FALSE(identical(model.weight, before));
  CHECK(identical(model.weight, handle));
  CHECK(identical(view, handle));
  CHECK(model.weight.is_same(handle));
  CHECK(model.weight.is_leaf());
  CHECK(model.weight.requires_grad());
}

TEST_CASE("optimizers: zero_grad drops gradients, or zeroes them in place") {
  const Problem p = problem();
  Tensor W = leaf(p.W0), b = leaf(p.b0);
  optim::SGD opt({W, b});
  loss_of(p.X, p.Y, W, b).backward();
  Tensor grad = W.grad();
  opt.zero_grad(/*set_to_none=*/false);
  REQUIRE(W.grad().defined());
  CHECK(W.grad().is_same(grad));
  CHECK(identical(grad, zeros_like(grad)));
  opt.zero_grad();
  CHECK_FALSE(W.grad().defined());
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("optimizers: gradient accumulation: two half-batches equal one full batch") {
  const Problem p = problem();
  Tensor X1 = p.X.slice(0, 0, 4), X2 = p.X.slice(0, 4, 8), Y1 = p.Y.slice(0, 0, 4), Y2 = p.Y.slice(0, 4, 8);

  Tensor W_full = leaf(p.W0), b_full = leaf(p.b0);
  optim::SGD full({W_full, b_full}, {.lr = 0.05, .momentum = 0.9});
  Tensor W_acc = leaf(p.W0), b_acc = leaf(p.b0);
  optim::SGD accumulated({W_acc, b_acc}, {.lr = 0.05, .momentum = 0.9});

  for (int step = 0; step < 3; ++step) {
    full.zero_grad();
    loss_of(p.X, p.Y, W_full, b_full).backward();
    full.step();

    accumulated.zero_grad();
    loss_of(X1, Y1, W_acc, b_acc).backward();  // the loss is a sum over rows, so the halves add up
    Tensor half_grad = W_acc.grad().clone();
    loss_of(X2, Y2, W_acc, b_acc).backward();  // no zero_grad in between: gradients accumulate
    CHECK_FALSE(identical(W_acc.grad(), half_grad));
    CHECK_CLOSE(W_acc.grad(), W_full.grad(), 1e-13, 1e-12);
    CHECK_CLOSE(b_acc.grad(), b_full.grad(), 1e-13, 1e-12);
    accumulated.step();
  }
  CHECK_CLOSE(W_acc, W_full, 1e-13, 1e-12);
  CHECK_CLOSE(b_acc, b_full, 1e-13, 1e-12);
}

TEST_CASE("optimizers: float32 parameters keep float32 state and follow the float64 run") {
  const Problem p = problem();
  Tensor W64 = leaf(p.W0), b64 = leaf(p.b0);
  Tensor W32 = leaf(p.W0.to(DType::Float32)), b32 = leaf(p.b0.to(DType::Float32));
  Tensor X32 = p.X.to(DType::Float32), Y32 = p.Y.to(DType::Float32);
  optim::AdamW opt64({W64, b64}, {.lr = 0.01, .amsgrad = true});
  optim::AdamW opt32({W32, b32}, {.lr = 0.01, .amsgrad = true});
  for (int step = 0; step < 10; ++step) {
    opt64.zero_grad();
    opt32.zero_grad();
    loss_of(p.X, p.Y, W64, b64).backward();
    loss_of(X32, Y32, W32, b32).backward();
    opt64.step();
    opt32.step();
  }
  CHECK(W32.dtype() == DType::Float32);
  for (const auto& [name, buffer] : opt32.state(W32)->buffers) {
    INFO(name);
    CHECK(buffer.dtype() == DType::Float32);
  }
  CHECK(opt32.state(W32)->buffers.size() == 3);
  CHECK_CLOSE(W32.to(DType::Float64), W64, 1e-5, 1e-4);
}

TEST_CASE("optimizers: typed options and defaults read back from the groups") {
  const Problem p = problem();
  Tensor W = leaf(p.W0), b = leaf(p.b0);
  optim::AdamW opt({W}, {.lr = 0.02});
  CHECK(opt.defaults().weight_decay == 0.01);  // PyTorch's AdamW default
  optim::AdamWOptions head = opt.defaults();
  head.lr = 0.5;
  head.amsgrad = true;
  opt.add_param_group({b}, head);
  CHECK(opt.param_groups().size() == 2);
  CHECK(opt.options(1).lr == 0.5);
  CHECK(opt.options(1).amsgrad);
  CHECK(opt.options(0).lr == 0.02);
  opt.param_groups()[0].set_lr(0.25);  // what a scheduler does
  CHECK(opt.options(0).lr == 0.25);
  CHECK_HEED_ERROR(opt.options(2), "AdamW", "2");
}

TEST_CASE("optimizers: bad settings fail with errors naming the optimizer and the value") {
  const Problem p = problem();
  Tensor W = leaf(p.W0), b = leaf(p.b0);
  using optim::Adam, optim::AdamW, optim::SGD;

  CHECK_HEED_ERROR(SGD({W}, {.lr = -0.1}), "SGD", "learning rate", "-0.1");
  CHECK_HEED_ERROR(Adam({W}, {.lr = -1e-3}), "Adam", "learning rate", "-0.001");
  CHECK_HEED_ERROR(AdamW({W}, {.lr = -2}), "AdamW", "learning rate", "-2");
  CHECK_HEED_ERROR(SGD({W}, {.momentum = -0.5}), "SGD", "momentum", "-0.5");
  CHECK_HEED_ERROR(SGD({W}, {.weight_decay = -1}), "SGD", "weight_decay", "-1");
  CHECK_HEED_ERROR(SGD({W}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}), "SGD", "Nesterov", "0.1");
  CHECK_HEED_ERROR(SGD({W}, {.nesterov = true}), "SGD", "Nesterov");

  CHECK_HEED_ERROR(Adam({W}, {.beta1 = 1.0}), "Adam", "beta1", "1");
  CHECK_HEED_ERROR(Adam({W}, {.beta2 = -0.1}), "Adam", "beta2", "-0.1");
  CHECK_HEED_ERROR(AdamW({W}, {.beta1 = 1.5}), "AdamW", "beta1", "1.5");
  CHECK_HEED_ERROR(AdamW({W}, {.beta2 = 1.0}), "AdamW", "beta2", "[0, 1)");
  CHECK_HEED_ERROR(Adam({W}, {.eps = -1e-8}), "Adam", "eps", "-1e-08");
  CHECK_HEED_ERROR(AdamW({W}, {.weight_decay = -0.01}), "AdamW", "weight_decay", "-0.01");

  // Parameters: non-leaf, duplicated, empty, integer, undefined.
  Tensor not_leaf = W * 2.0;
  CHECK_HEED_ERROR(SGD({b, not_leaf}), "SGD", "parameter 1", "not a leaf", "mul");
  CHECK_HEED_ERROR(Adam({W, b, W}), "Adam", "parameter 2", "twice");
  CHECK_HEED_ERROR(SGD({}), "SGD", "empty");
  CHECK_HEED_ERROR(SGD({arange(3)}), "SGD", "int64");
  CHECK_HEED_ERROR(SGD({Tensor()}), "SGD", "undefined");

  optim::AdamW opt({W, b});
  CHECK_HEED_ERROR(opt.add_param_group({b}, {}), "AdamW", "group 1", "already in group 0");
  CHECK(opt.param_groups().size() == 1);  // the failed add left nothing behind
  CHECK_HEED_ERROR(opt.add_param_group({leaf(optim_test::f64({1}))}, {.lr = -5}), "AdamW", "-5");
  CHECK(opt.param_groups().size() == 1);

  // A gradient that does not fit its parameter.
  optim::SGD sgd({W});
  W.set_grad(zeros({3, 4}));  // float32 gradient on a float64 parameter
  CHECK_HEED_ERROR(sgd.step(), "SGD", "float32", "float64");
  W.zero_grad();
}
