// Learning-rate schedulers against torch.optim.lr_scheduler: the lr (and, for OneCycleLR, the
// momentum) of two parameter groups after construction and after each of 50 steps, from
// tests/fixtures/optim_schedulers.safetensors (scripts/make_optim_fixtures.py). Also: state
// dicts resume a schedule exactly, and bad settings fail with errors naming the scheduler.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <memory>

#include "optim/optim.h"
#include "tests/optim/optim_test_helpers.h"

namespace {

using namespace heed;
using optim_test::fixture;

const SafetensorsFile& schedulers_file() { return fixture("optim_schedulers.safetensors"); }

// Two groups with base lrs 0.1 and 0.02, as in the script: SGD with momentum, or Adam.
std::unique_ptr<optim::Optimizer> two_groups(const std::string& kind) {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({3}).requires_grad_();
  if (kind == "sgd") {
    auto opt = std::make_unique<optim::SGD>(std::vector{a}, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    opt->add_param_group({b}, {.lr = 0.02, .momentum = 0.9});
    return opt;
  }
  auto opt = std::make_unique<optim::Adam>(std::vector{a}, optim::AdamOptions{.lr = 0.1});
  opt->add_param_group({b}, {.lr = 0.02});
  return opt;
}

// Mirrors warmup_decay() in make_optim_fixtures.py (which runs it through torch's LambdaLR).
optim::WarmupDecayOptions warmup(int64_t w, int64_t total, double final_fraction, optim::Decay decay) {
  return {.warmup_steps = w, .total_steps = total, .final_lr_fraction = final_fraction, .decay = decay};
}

using MakeScheduler = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;
struct ScheduleCase {
  std::string optimizer;  // "sgd" or "adam"
  MakeScheduler make;
};

// Case name -> the heed scheduler that means the same as the torch one in the script.
const std::map<std::string, ScheduleCase>& scheduler_table() {
  using namespace optim;
  static const std::map<std::string, ScheduleCase> table = {
      {"step_lr", {"sgd", [](Optimizer& o) { return std::make_unique<StepLR>(o, 7, 0.5); }}},
      {"multistep_lr",
       {"sgd",
        [](Optimizer& o) {
          return std::make_unique<MultiStepLR>(o, std::vector<int64_t>{5, 12, 12, 30}, 0.3);
        }}},
      {"exponential_lr", {"sgd", [](Optimizer& o) { return std::make_unique<ExponentialLR>(o, 0.93); }}},
      {"cosine_lr", {"sgd", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 20, 0.001); }}},
      {"cosine_lr_no_min", {"sgd", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 13); }}},
      {"warmup_cosine",
       {"sgd", [](Optimizer& o) { return std::make_unique<WarmupDecayLR>(o, warmup(10, 40, 0.1, Decay::Cosine)); }}},
      {"warmup_linear",
       {"sgd", [](Optimizer& o) { return std::make_unique<WarmupDecayLR>(o, warmup(5, 30, 0.0, Decay::Linear)); }}},
      {"no_warmup_cosine",
       {"sgd", [](Optimizer& o) { return std::make_unique<WarmupDecayLR>(o, warmup(0, 20, 0.05, Decay::Cosine)); }}},
      {"onecycle_sgd",
       {"sgd",
        [](Optimizer& o) {
          return std::make_unique<OneCycleLR>(o, OneCycleOptions{.max_lr = {0.5, 0.1}, .total_steps = 50});
        }}},
      {"onecycle_adam_linear_three_phase",
       {"adam",
        [](Optimizer& o) {
          return std::make_unique<OneCycleLR>(o, OneCycleOptions{.max_lr = {0.01},
                                                                 .total_steps = 60,
                                                                 .pct_start = 0.25,
                                                                 .anneal = Anneal::Linear,
                                                                 .base_momentum = 0.8,
                                                                 .max_momentum = 0.9,
                                                                 .div_factor = 10,
                                                                 .final_div_factor = 100,
                                                                 .three_phase = true});
        }}},
      {"onecycle_no_momentum",
       {"sgd",
        [](Optimizer& o) {
          return std::make_unique<OneCycleLR>(
              o, OneCycleOptions{.max_lr = {0.3}, .total_steps = 50, .pct_start = 0.4, .cycle_momentum = false});
        }}},
  };
  return table;
}

// ReduceLROnPlateau cases (driven by the metric sequence stored with them).
const std::map<std::string, optim::PlateauOptions>& plateau_table() {
  using optim::Mode;
  static const std::map<std::string, optim::PlateauOptions> table = {
      {"plateau_min",
       {.mode = Mode::Min, .factor = 0.5, .patience = 3, .threshold = 1e-2, .cooldown = 2, .min_lr = {0.004, 0.001}}},
      {"plateau_max_abs",
       {.mode = Mode::Max, .factor = 0.2, .patience = 2, .threshold = 0.05, .threshold_relative = false}},
  };
  return table;
}

std::vector<double> lrs_of(const optim::Optimizer& opt) {
  std::vector<double> out;
  for (const auto& g : opt.param_groups()) out.push_back(g.lr());
  return out;
}

std::vector<double> momenta_of(const optim::Optimizer& opt) {
  std::vector<double> out;
  for (const auto& g : opt.param_groups())
    out.push_back(g.has_option("beta1") ? g.option("beta1") : g.option("momentum"));
  return out;
}

constexpr int kSteps = 50;
constexpr double kAtol = 1e-15, kRtol = 1e-12;

// Rows: after construction, then after each step; one column per group.
Tensor rows(const std::vector<std::vector<double>>& values) {
  std::vector<double> flat;
  for (const auto& r : values) flat.insert(flat.end(), r.begin(), r.end());
  return from_vector(flat, {static_cast<int64_t>(values.size()), static_cast<int64_t>(values[0].size())},
                     {DType::Float64});
}

void run_schedule(const std::string& name, const ScheduleCase& c) {
  const SafetensorsFile& f = schedulers_file();
  auto opt = two_groups(c.optimizer);
  auto sched = c.make(*opt);
  std::vector<std::vector<double>> lrs = {lrs_of(*opt)}, momenta = {momenta_of(*opt)};
  CHECK(sched->get_last_lr() == lrs_of(*opt));
  CHECK(sched->last_epoch() == 0);
  for (int t = 0; t < kSteps; ++t) {
    opt->step();  // no gradients: changes nothing, as in the script
    sched->step();
    lrs.push_back(lrs_of(*opt));
    momenta.push_back(momenta_of(*opt));
    CHECK(sched->get_last_lr() == lrs.back());
  }
  CHECK(sched->last_epoch() == kSteps);
  CHECK_CLOSE(rows(lrs), f.at(name + ".lr"), kAtol, kRtol);
  if (f.contains(name + ".momentum")) CHECK_CLOSE(rows(momenta), f.at(name + ".momentum"), kAtol, kRtol);
}

void run_plateau(const std::string& name, const optim::PlateauOptions& options) {
  const SafetensorsFile& f = schedulers_file();
  auto opt = two_groups("sgd");
  optim::ReduceLROnPlateau sched(*opt, options);
  std::vector<double> metrics = f.at(name + ".metrics").to_vector<double>();
  REQUIRE(metrics.size() == kSteps);
  std::vector<std::vector<double>> lrs = {lrs_of(*opt)};
  for (double m : metrics) {
    sched.step(m);
    lrs.push_back(lrs_of(*opt));
    CHECK(sched.get_last_lr() == lrs.back());
  }
  CHECK_CLOSE(rows(lrs), f.at(name + ".lr"), kAtol, kRtol);
  CHECK(lrs.back() != lrs.front());  // the sequence does trigger reductions
}

}  // namespace

TEST_CASE("schedulers: lr curves match torch.optim.lr_scheduler") {
  for (const std::string& name : optim_test::fixture_cases(schedulers_file())) {
    if (auto it = scheduler_table().find(name); it != scheduler_table().end()) {
      SUBCASE(name.c_str()) { run_schedule(name, it->second); }
    } else if (auto p = plateau_table().find(name); p != plateau_table().end()) {
      SUBCASE(name.c_str()) { run_plateau(name, p->second); }
    }
  }
}

TEST_CASE("schedulers: every fixture case is in a table, and back") {
  std::vector<std::string> names = optim_test::fixture_cases(schedulers_file());
  CHECK(names.size() == scheduler_table().size() + plateau_table().size());
  for (const std::string& c : names)
    CHECK_MESSAGE(scheduler_table().count(c) + plateau_table().count(c) == 1, "fixture case '", c,
                  "' has no heed scheduler");
  for (const auto& [c, s] : scheduler_table())
    CHECK_MESSAGE(schedulers_file().contains(c + ".lr"), "'", c, "' is not in the fixture");
  for (const auto& [c, s] : plateau_table())
    CHECK_MESSAGE(schedulers_file().contains(c + ".lr"), "'", c, "' is not in the fixture");
}

TEST_CASE("schedulers: WarmupDecayLR reaches the peak at warmup_steps and the floor at total_steps - 1") {
  auto opt = two_groups("sgd");
  optim::WarmupDecayLR sched(*opt, warmup(4, 14, 0.2, optim::Decay::Linear));
  CHECK(sched.factor(0) == doctest::Approx(1.0 / 5));
  CHECK(sched.factor(3) == doctest::Approx(4.0 / 5));
  CHECK(sched.factor(4) == 1.0);
  CHECK(sched.factor(9) == doctest::Approx(0.2 + 0.8 * (1 - 5.0 / 9)));
  CHECK(sched.factor(13) == doctest::Approx(0.2));
  CHECK(sched.factor(100) == doctest::Approx(0.2));
  CHECK(sched.get_last_lr()[0] == doctest::Approx(0.1 / 5));
  for (int t = 0; t < 4; ++t) sched.step();
  CHECK(opt->param_groups()[0].lr() == doctest::Approx(0.1));
  CHECK(opt->param_groups()[1].lr() == doctest::Approx(0.02));
}

TEST_CASE("schedulers: OneCycleLR refuses to step past total_steps and keeps its place") {
  auto opt = two_groups("sgd");
  optim::OneCycleLR sched(*opt, {.max_lr = {0.5}, .total_steps = 10});
  for (int t = 0; t < 10; ++t) sched.step();
  CHECK(sched.last_epoch() == 10);
  CHECK_HEED_ERROR(sched.step(), "OneCycleLR", "11", "total_steps 10");
  CHECK(sched.last_epoch() == 10);
}

namespace {

// A plain gradient-descent optimizer without momentum, to test what needs one.
class PlainGD : public optim::Optimizer {
 public:
  explicit PlainGD(std::vector<Tensor> params) : Optimizer("PlainGD") { add_group(std::move(params), {{"lr", 0.1}}); }
  void step() override {}

 protected:
  void check_options(const std::map<std::string, double>&) const override {}
  std::vector<std::string> allowed_buffers() const override { return {}; }
};

}  // namespace

TEST_CASE("schedulers: bad settings fail with errors naming the scheduler and the value") {
  auto opt = two_groups("sgd");
  using namespace optim;
  CHECK_HEED_ERROR(StepLR(*opt, 0), "StepLR", "step_size", "0");
  CHECK_HEED_ERROR(CosineAnnealingLR(*opt, -3), "CosineAnnealingLR", "T_max", "-3");
  CHECK_HEED_ERROR(WarmupDecayLR(*opt, warmup(10, 10, 0, Decay::Cosine)), "WarmupDecayLR", "total_steps 10",
                   "warmup_steps 10");
  CHECK_HEED_ERROR(WarmupDecayLR(*opt, warmup(-1, 10, 0, Decay::Cosine)), "WarmupDecayLR", "warmup_steps", "-1");
  CHECK_HEED_ERROR(WarmupDecayLR(*opt, warmup(1, 10, -0.5, Decay::Cosine)), "WarmupDecayLR", "final_lr_fraction",
                   "-0.5");
  CHECK_HEED_ERROR(OneCycleLR(*opt, {.max_lr = {0.1}, .total_steps = 0}), "OneCycleLR", "total_steps", "0");
  CHECK_HEED_ERROR(OneCycleLR(*opt, {.max_lr = {0.1}, .total_steps = 10, .pct_start = 1.5}), "OneCycleLR", "pct_start",
                   "1.5");
  CHECK_HEED_ERROR(OneCycleLR(*opt, {.max_lr = {0.1, 0.2, 0.3}, .total_steps = 10}), "OneCycleLR", "max_lr", "3");
  CHECK_HEED_ERROR(OneCycleLR(*opt, {.max_lr = {0.1}, .total_steps = 10, .max_momentum = -0.95}), "OneCycleLR",
                   "-0.95");
  CHECK_HEED_ERROR(ReduceLROnPlateau(*opt, {.factor = 1.0}), "ReduceLROnPlateau", "factor", "1");
  CHECK_HEED_ERROR(ReduceLROnPlateau(*opt, {.patience = -1}), "ReduceLROnPlateau", "patience", "-1");
  CHECK_HEED_ERROR(ReduceLROnPlateau(*opt, {.min_lr = {0.1, 0.2, 0.3}}), "ReduceLROnPlateau", "min_lr", "3");

  PlainGD plain({zeros({2}).requires_grad_()});
  CHECK_HEED_ERROR(OneCycleLR(plain, {.max_lr = {0.1}, .total_steps = 10}), "OneCycleLR", "PlainGD", "momentum");
  OneCycleLR no_momentum(plain, {.max_lr = {0.1}, .total_steps = 10, .cycle_momentum = false});
  CHECK(plain.param_groups()[0].lr() == doctest::Approx(0.1 / 25));

  // A group added after the scheduler was made.
  optim::SGD sgd({zeros({2}).requires_grad_()}, {.lr = 0.1});
  sgd.add_param_group({zeros({1}).requires_grad_()}, {});
  StepLR step(sgd, 2);
  sgd.add_param_group({zeros({1}).requires_grad_()}, {});
  CHECK_HEED_ERROR(step.step(), "StepLR", "3 parameter groups", "made for 2");
}

namespace {

// Runs `steps` scheduler steps; a state dict saved after `split` of them and loaded into a fresh
// optimizer and scheduler must continue exactly as the uninterrupted run.
void check_resume(const std::string& name, const ScheduleCase& c, int split) {
  auto opt = two_groups(c.optimizer);
  auto sched = c.make(*opt);
  std::vector<std::vector<double>> straight;
  optim::StateDict opt_state, sched_state;
  for (int t = 0; t < kSteps; ++t) {
    if (t == split) {
      opt_state = opt->state_dict();
      sched_state = sched->state_dict();
    }
    sched->step();
    straight.push_back(lrs_of(*opt));
    straight.back().push_back(momenta_of(*opt)[0]);
  }
  auto opt2 = two_groups(c.optimizer);
  auto sched2 = c.make(*opt2);
  opt2->load_state_dict(opt_state);
  sched2->load_state_dict(sched_state);
  CHECK(sched2->last_epoch() == split);
  for (int t = split; t < kSteps; ++t) {
    sched2->step();
    std::vector<double> got = lrs_of(*opt2);
    got.push_back(momenta_of(*opt2)[0]);
    INFO(name, ": step ", t + 1);
    CHECK(got == straight[t]);  // bit for bit
  }
}

}  // namespace

TEST_CASE("schedulers: a state dict resumes every schedule exactly") {
  for (const auto& [name, c] : scheduler_table()) {
    SUBCASE(name.c_str()) {
      check_resume(name, c, 7);
      check_resume(name, c, 23);
    }
  }
}

TEST_CASE("schedulers: a ReduceLROnPlateau state dict resumes exactly, and a scheduler's own state is enough") {
  const SafetensorsFile& f = schedulers_file();
  std::vector<double> metrics = f.at("plateau_min.metrics").to_vector<double>();
  const optim::PlateauOptions& options = plateau_table().at("plateau_min");
  auto opt = two_groups("sgd");
  optim::ReduceLROnPlateau sched(*opt, options);
  optim::StateDict saved;
  std::vector<std::vector<double>> straight;
  for (size_t t = 0; t < metrics.size(); ++t) {
    if (t == 17) saved = sched.state_dict();
    sched.step(metrics[t]);
    straight.push_back(lrs_of(*opt));
  }
  // A fresh optimizer whose lrs are not loaded: the scheduler's state sets them.
  auto opt2 = two_groups("sgd");
  optim::ReduceLROnPlateau sched2(*opt2, {});
  sched2.load_state_dict(saved);
  CHECK(sched2.last_epoch() == 17);
  for (size_t t = 17; t < metrics.size(); ++t) {
    sched2.step(metrics[t]);
    INFO("step ", t + 1);
    CHECK(lrs_of(*opt2) == straight[t]);
  }
  CHECK(sched2.best() == sched.best());

  // Refusals: another scheduler's state, a malformed number.
  optim::StepLR step(*opt2, 3);
  CHECK_HEED_ERROR(step.load_state_dict(saved), "StepLR.load_state_dict", "ReduceLROnPlateau");
  optim::StateDict broken = saved;
  broken.metadata["factor"] = "half";
  CHECK_HEED_ERROR(sched2.load_state_dict(broken), "ReduceLROnPlateau.load_state_dict", "factor", "half");
  broken = saved;
  broken.metadata.erase("best");
  CHECK_HEED_ERROR(sched2.load_state_dict(broken), "ReduceLROnPlateau.load_state_dict", "best");
}
