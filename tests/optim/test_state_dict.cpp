// Checkpointing an optimizer and its scheduler: save mid-run (through a safetensors file, as a
// training checkpoint would), load into fresh objects, continue, and match the uninterrupted run
// bit for bit. Also: loading refuses malformed states without changing anything.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <memory>

#include "autograd/node.h"
#include "optim/optim.h"
#include "tests/optim/optim_test_helpers.h"

namespace {

using namespace heed;
using optim_test::fixture;
using optim_test::identical;

struct Data {
  Tensor X, Y, W0, b0;
};

Data data() {
  const SafetensorsFile& f = fixture("optim_steps.safetensors");
  return {f.at("problem.X"), f.at("problem.Y"), f.at("problem.W0"), f.at("problem.b0")};
}

Tensor loss_of(const Data& d, const Tensor& W, const Tensor& b) {
  Tensor r = tanh(matmul(d.X, W) + b) - d.Y;
  return sum(r * r);
}

// One training setup: an optimizer over (W, b) and, optionally, a scheduler over it. The
// scheduler is stepped after the optimizer, or given the loss (ReduceLROnPlateau).
struct Training {
  Tensor W, b;
  std::unique_ptr<optim::Optimizer> opt;
  std::unique_ptr<optim::LRScheduler> sched;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;

  void step(const Data& d) {
    opt->zero_grad();
    Tensor loss = loss_of(d, W, b);
    loss.backward();
    opt->step();
    if (sched) sched->step();
    if (plateau) plateau->step(loss.item());
  }
  optim::StateDict state() const {
    optim::StateDict params;
    params.tensors = {{"W", W.detach()}, {"b", b.detach()}};
    std::vector<optim::StateDict> parts = {optim::prefixed("params.", params),
                                           optim::prefixed("optimizer.", opt->state_dict())};
    if (sched) parts.push_back(optim::prefixed("scheduler.", sched->state_dict()));
    if (plateau) parts.push_back(optim::prefixed("plateau.", plateau->state_dict()));
    return optim::merged(parts);
  }
  void load(const optim::StateDict& s) {
    NoGradGuard no_grad;
    for (const auto& [name, value] : optim::unprefixed("params.", s).tensors) (name == "W" ? W : b).copy_(value);
    opt->load_state_dict(optim::unprefixed("optimizer.", s));
    if (sched) sched->load_state_dict(optim::unprefixed("scheduler.", s));
    if (plateau) plateau->load_state_dict(optim::unprefixed("plateau.", s));
  }
};

using Setup = std::function<Training(const Data&)>;

Tensor leaf(const Tensor& values) { return values.clone().detach().requires_grad_(); }

const std::vector<std::pair<std::string, Setup>>& setups() {
  using namespace optim;
  static const std::vector<std::pair<std::string, Setup>> list = {
      {"SGD nesterov + StepLR",
       [](const Data& d) {
         Training t{leaf(d.W0), leaf(d.b0), nullptr, nullptr, nullptr};
         t.opt = std::make_unique<SGD>(std::vector{t.W, t.b},
                                       SGDOptions{.lr = 0.02, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
         t.sched = std::make_unique<StepLR>(*t.opt, 4, 0.5);
         return t;
       }},
      {"Adam amsgrad + OneCycleLR (cycling beta1)",
       [](const Data& d) {
         Training t{leaf(d.W0), leaf(d.b0), nullptr, nullptr, nullptr};
         t.opt = std::make_unique<Adam>(std::vector{t.W, t.b}, AdamOptions{.weight_decay = 0.05, .amsgrad = true});
         t.sched = std::make_unique<OneCycleLR>(*t.opt, OneCycleOptions{.max_lr = {0.05}, .total_steps = 20});
         return t;
       }},
      {"AdamW two groups + WarmupDecayLR",
       [](const Data& d) {
         Training t{leaf(d.W0), leaf(d.b0), nullptr, nullptr, nullptr};
         auto opt = std::make_unique<AdamW>(std::vector{t.W}, AdamWOptions{.lr = 0.03, .weight_decay = 0.1});
         opt->add_param_group({t.b}, {.lr = 0.01, .weight_decay = 0});
         t.opt = std::move(opt);
         t.sched = std::make_unique<WarmupDecayLR>(*t.opt, WarmupDecayOptions{.warmup_steps = 5, .total_steps = 20});
         return t;
       }},
      {"SGD momentum + CosineAnnealingLR",
       [](const Data& d) {
         Training t{leaf(d.W0), leaf(d.b0), nullptr, nullptr, nullptr};
         t.opt =
             std::make_unique<SGD>(std::vector{t.W, t.b}, SGDOptions{.lr = 0.02, .momentum = 0.8, .dampening = 0.2});
         t.sched = std::make_unique<CosineAnnealingLR>(*t.opt, 6, 0.001);
         return t;
       }},
      {"Adam + ReduceLROnPlateau",
       [](const Data& d) {
         Training t{leaf(d.W0), leaf(d.b0), nullptr, nullptr, nullptr};
         t.opt = std::make_unique<Adam>(std::vector{t.W, t.b}, AdamOptions{.lr = 0.2});
         t.plateau = std::make_unique<ReduceLROnPlateau>(
             *t.opt, PlateauOptions{.factor = 0.5, .patience = 1, .threshold = 0.05});
         return t;
       }},
  };
  return list;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("heed_optim_{}_{}.safetensors", ::getpid(), name))
      .string();
}

}  // namespace

TEST_CASE("state dict: save mid-run, load into fresh objects, continue: bit-identical to an uninterrupted run") {
  const Data d = data();
  constexpr int kSteps = 20, kSplit = 9;
  for (const auto& [name, setup] : setups()) {
    SUBCASE(name.c_str()) {
      Training straight = setup(d);
      std::vector<std::pair<Tensor, Tensor>> trajectory;
      for (int s = 0; s < kSteps; ++s) {
        straight.step(d);
        trajectory.emplace_back(straight.W.clone(), straight.b.clone());
      }

      Training first = setup(d);
      for (int s = 0; s < kSplit; ++s) first.step(d);
      const std::string path = temp_path("resume");
      optim::save_state(path, first.state());
      for (int s = kSplit; s < kSteps; ++s) first.step(d);  // keeps going: the file must not change with it

      Training resumed = setup(d);
      resumed.load(optim::load_state(path));
      std::filesystem::remove(path);
      for (int s = kSplit; s < kSteps; ++s) {
        resumed.step(d);
        INFO("step ", s + 1);
        CHECK(identical(resumed.W, trajectory[s].first));
        CHECK(identical(resumed.b, trajectory[s].second));
      }
      CHECK(identical(resumed.W, first.W));
      if (straight.sched) CHECK(resumed.sched->get_last_lr() == straight.sched->get_last_lr());
      // The run moved the parameters and the schedule is not constant, so the check has teeth.
      CHECK_FALSE(identical(trajectory[kSplit].first, trajectory[kSteps - 1].first));
    }
  }
}

TEST_CASE("state dict: layout, and copies that later steps do not change") {
  const Data d = data();
  Training t = setups()[1].second(d);  // Adam amsgrad
  t.step(d);
  optim::StateDict s = t.opt->state_dict();
  CHECK(s.text("optimizer", "test") == "Adam");
  CHECK(s.integer("param_groups", "test") == 1);
  CHECK(s.integer("group.0.params", "test") == 2);
  CHECK(s.integer("state.1.step", "test") == 1);
  CHECK(s.has("group.0.beta1"));
  CHECK(s.number("group.0.amsgrad", "test") == 1);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : s.tensors) names.push_back(name);
  CHECK(names == std::vector<std::string>{"state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
                                          "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq"});
  Tensor saved = s.tensors[0].second.clone();
  t.step(d);
  CHECK(identical(s.tensors[0].second, saved));
  CHECK_FALSE(identical(t.opt->state(t.W)->buffers.at("exp_avg"), saved));
}

TEST_CASE("state dict: malformed states are refused and change nothing") {
  const Data d = data();
  Training t = setups()[1].second(d);  // Adam amsgrad over (W, b)
  t.step(d);
  const optim::StateDict good = t.opt->state_dict();
  const double lr_before = t.opt->param_groups()[0].lr();
  Tensor exp_avg_before = t.opt->state(t.W)->buffers.at("exp_avg").clone();
  const std::string who = "Adam.load_state_dict";

  auto edited = [&](const std::function<void(optim::StateDict&)>& edit) {
    optim::StateDict s = good;
    s.metadata["group.0.lr"] = "0.5";  // a change that must not be applied when loading fails
    edit(s);
    return s;
  };
  auto tensor_named = [](optim::StateDict& s, const std::string& name) -> Tensor& {
    for (auto& [n, t] : s.tensors)
      if (n == name) return t;
    FAIL("no tensor ", name);
    throw std::logic_error("unreachable");
  };

  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["optimizer"] = "SGD"; })), who, "SGD");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["param_groups"] = "2"; })), who,
                   "2 parameter groups");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["group.0.params"] = "3"; })), who,
                   "3 parameters");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["group.0.beta1"] = "1.5"; })), "Adam",
                   "beta1", "1.5");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["group.0.eps"] = "1e-8x"; })), who,
                   "group.0.eps", "1e-8x");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata.erase("group.0.beta2"); })), who,
                   "group.0.beta2");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["group.0.momentum"] = "0.9"; })), who,
                   "group.0.momentum");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["state.7.step"] = "1"; })), who,
                   "parameter 7");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["state.0.step"] = "-2"; })), who, "-2");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata["state.x.step"] = "1"; })), who,
                   "state.x.step");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([&](auto& s) {
    tensor_named(s, "state.1.exp_avg") = zeros({3, 4});
  })),
                   who, "state.1.exp_avg", "[3, 4]", "[4]");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) {
    s.tensors.emplace_back("state.0.momentum_buffer", zeros({3, 4}));
  })),
                   who, "momentum_buffer");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) {
    s.tensors.emplace_back("weights", zeros({3, 4}));
  })),
                   who, "weights");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) {
    std::erase_if(s.tensors, [](const auto& e) { return e.first == "state.0.exp_avg_sq"; });
  })),
                   who, "exp_avg_sq");
  CHECK_HEED_ERROR(t.opt->load_state_dict(edited([](auto& s) { s.metadata.erase("state.0.step"); })), who, "state.0");

  CHECK(t.opt->param_groups()[0].lr() == lr_before);
  CHECK(identical(t.opt->state(t.W)->buffers.at("exp_avg"), exp_avg_before));

  // The edit alone loads, and is applied.
  t.opt->load_state_dict(edited([](auto&) {}));
  CHECK(t.opt->param_groups()[0].lr() == 0.5);

  // A float32 buffer in the state is converted to its parameter's dtype.
  optim::StateDict f32 = good;
  Tensor& buffer = tensor_named(f32, "state.0.exp_avg");
  buffer = buffer.to(DType::Float32);
  t.opt->load_state_dict(f32);
  CHECK(t.opt->state(t.W)->buffers.at("exp_avg").dtype() == DType::Float64);
}

TEST_CASE("state dict: prefixes and merging") {
  optim::StateDict a, b;
  a.set_number("x", 0.1);
  a.tensors.emplace_back("t", zeros({2}));
  b.set_int("x", 3);
  optim::StateDict both = optim::merged({optim::prefixed("a.", a), optim::prefixed("b.", b)});
  CHECK(both.metadata.size() == 2);
  CHECK(optim::unprefixed("a.", both).number("x", "test") == 0.1);
  CHECK(optim::unprefixed("b.", both).integer("x", "test") == 3);
  CHECK(optim::unprefixed("a.", both).tensors.size() == 1);
  CHECK(optim::unprefixed("b.", both).tensors.empty());
  CHECK_HEED_ERROR(optim::merged({a, a}), "merged", "'t'");
  CHECK_HEED_ERROR(optim::merged({a, b}), "merged", "'x'");

  // Numbers survive text exactly, infinities included.
  optim::StateDict n;
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (double v : {0.1, 1.0 / 3, 1e-300, -2.5e17, inf, -inf}) {
    n.set_number("v", v);
    CHECK(n.number("v", "test") == v);
  }
  n.set_numbers("list", {0.1, 0.2, 1.0 / 7});
  CHECK(n.numbers("list", "test") == std::vector<double>{0.1, 0.2, 1.0 / 7});
  n.set_numbers("empty", {});
  CHECK(n.numbers("empty", "test").empty());
  CHECK_HEED_ERROR(n.number("missing", "Reader"), "Reader", "missing");
}
