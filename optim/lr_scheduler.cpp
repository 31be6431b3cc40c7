// Learning-rate schedulers, following torch 1.13's lr_scheduler.py line by line (formulas in
// lr_scheduler.h).
#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace heed::optim {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Python's a % m for m > 0: never negative.
int64_t py_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

// One value per group: `values` as given, or its single value repeated.
std::vector<double> per_group(const std::vector<double>& values, size_t groups, const std::string& what,
                              const std::string& who) {
  HEED_CHECK(values.size() == 1 || values.size() == groups, "{}: expected 1 or {} values of {} (one per group), got {}",
             who, groups, what, values.size());
  return values.size() == 1 ? std::vector<double>(groups, values[0]) : values;
}

void set_group_lrs(Optimizer& optimizer, const std::vector<double>& lrs) {
  for (size_t g = 0; g < lrs.size(); ++g) optimizer.param_groups()[g].set_lr(lrs[g]);
}

}  // namespace

// ---------------------------------------------------------------- LRScheduler

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer) : optimizer_(optimizer), name_(std::move(name)) {
  base_lrs_ = group_lrs();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& g : optimizer_.param_groups()) lrs.push_back(g.lr());
  return lrs;
}

void LRScheduler::initial_step() { step(); }

void LRScheduler::step() {
  HEED_CHECK(optimizer_.param_groups().size() == base_lrs_.size(),
             "{}: the optimizer has {} parameter groups, the scheduler was made for {}", name_,
             optimizer_.param_groups().size(), base_lrs_.size());
  ++last_epoch_;
  std::vector<double> lrs;
  try {
    lrs = compute_lr();
  } catch (...) {
    --last_epoch_;
    throw;
  }
  set_group_lrs(optimizer_, lrs);
  last_lr_ = group_lrs();
}

StateDict LRScheduler::state_dict() const {
  StateDict s;
  s.set_text("scheduler", name_);
  s.set_int("last_epoch", last_epoch_);
  s.set_numbers("base_lrs", base_lrs_);
  s.set_numbers("last_lr", last_lr_);
  save_extra(s);
  return s;
}

// Also writes last_lr into the optimizer's groups, so the schedule continues from it even when
// the optimizer's own state is not loaded.
void LRScheduler::load_state_dict(const StateDict& s) {
  HEED_CHECK(s.text("scheduler", who()) == name_, "{}: the state is from scheduler {}", who(),
             s.text("scheduler", who()));
  const int64_t last_epoch = s.integer("last_epoch", who());
  HEED_CHECK(last_epoch >= 0, "{}: invalid last_epoch {}", who(), last_epoch);
  std::vector<double> base_lrs = s.numbers("base_lrs", who()), last_lr = s.numbers("last_lr", who());
  const size_t groups = optimizer_.param_groups().size();
  HEED_CHECK(base_lrs.size() == groups && last_lr.size() == groups,
             "{}: the state has {} base lrs and {} last lrs, the optimizer has {} parameter groups", who(),
             base_lrs.size(), last_lr.size(), groups);
  check_extra(s);
  last_epoch_ = last_epoch;
  base_lrs_ = std::move(base_lrs);
  last_lr_ = std::move(last_lr);
  load_extra(s);
  set_group_lrs(optimizer_, last_lr_);
}

// ---------------------------------------------------------------- StepLR

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  HEED_CHECK(step_size > 0, "StepLR: invalid step_size {} (must be > 0)", step_size);
  initial_step();
}

std::vector<double> StepLR::compute_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

void StepLR::save_extra(StateDict& s) const {
  s.set_int("step_size", step_size_);
  s.set_number("gamma", gamma_);
}
void StepLR::check_extra(const StateDict& s) const {
  HEED_CHECK(s.integer("step_size", who()) > 0, "{}: invalid step_size {}", who(), s.text("step_size", who()));
  s.number("gamma", who());
}
void StepLR::load_extra(const StateDict& s) {
  step_size_ = s.integer("step_size", who());
  gamma_ = s.number("gamma", who());
}

// ---------------------------------------------------------------- MultiStepLR

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler("MultiStepLR", optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::compute_lr() {
  std::vector<double> lrs = group_lrs();
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits == 0) return lrs;
  for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(hits));
  return lrs;
}

void MultiStepLR::save_extra(StateDict& s) const {
  s.set_ints("milestones", milestones_);
  s.set_number("gamma", gamma_);
}
void MultiStepLR::check_extra(const StateDict& s) const {
  s.ints("milestones", who());
  s.number("gamma", who());
}
void MultiStepLR::load_extra(const StateDict& s) {
  milestones_ = s.ints("milestones", who());
  std::sort(milestones_.begin(), milestones_.end());
  gamma_ = s.number("gamma", who());
}

// ---------------------------------------------------------------- ExponentialLR

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler("ExponentialLR", optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::compute_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

void ExponentialLR::save_extra(StateDict& s) const { s.set_number("gamma", gamma_); }
void ExponentialLR::check_extra(const StateDict& s) const { s.number("gamma", who()); }
void ExponentialLR::load_extra(const StateDict& s) { gamma_ = s.number("gamma", who()); }

// ---------------------------------------------------------------- CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler("CosineAnnealingLR", optimizer), t_max_(t_max), eta_min_(eta_min) {
  HEED_CHECK(t_max > 0, "CosineAnnealingLR: invalid T_max {} (must be > 0)", t_max);
  initial_step();
}

// PyTorch's recursive form: each lr follows from the previous one.
std::vector<double> CosineAnnealingLR::compute_lr() {
  std::vector<double> lrs = group_lrs();
  const double t = static_cast<double>(last_epoch_), T = static_cast<double>(t_max_);
  if (last_epoch_ == 0) return lrs;
  if (py_mod(last_epoch_ - 1 - t_max_, 2 * t_max_) == 0) {  // the bottom of a cycle: restart upwards
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = lrs[g] + (base_lrs_[g] - eta_min_) * (1 - std::cos(kPi / T)) / 2;
    return lrs;
  }
  for (double& lr : lrs)
    lr = (1 + std::cos(kPi * t / T)) / (1 + std::cos(kPi * (t - 1) / T)) * (lr - eta_min_) + eta_min_;
  return lrs;
}

void CosineAnnealingLR::save_extra(StateDict& s) const {
  s.set_int("T_max", t_max_);
  s.set_number("eta_min", eta_min_);
}
void CosineAnnealingLR::check_extra(const StateDict& s) const {
  HEED_CHECK(s.integer("T_max", who()) > 0, "{}: invalid T_max {}", who(), s.text("T_max", who()));
  s.number("eta_min", who());
}
void CosineAnnealingLR::load_extra(const StateDict& s) {
  t_max_ = s.integer("T_max", who());
  eta_min_ = s.number("eta_min", who());
}

// ---------------------------------------------------------------- LambdaLR

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> factor)
    : LRScheduler("LambdaLR", optimizer), factor_(std::move(factor)) {
  HEED_CHECK(factor_ != nullptr, "LambdaLR: the factor function is empty");
  initial_step();
}

std::vector<double> LambdaLR::compute_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * factor_(last_epoch_));
  return lrs;
}

// ---------------------------------------------------------------- WarmupDecayLR

namespace {
void check_warmup(const WarmupDecayOptions& o, const std::string& who) {
  HEED_CHECK(o.warmup_steps >= 0, "{}: invalid warmup_steps {} (must be >= 0)", who, o.warmup_steps);
  HEED_CHECK(o.total_steps > o.warmup_steps, "{}: total_steps {} must be greater than warmup_steps {}", who,
             o.total_steps, o.warmup_steps);
  HEED_CHECK(o.final_lr_fraction >= 0, "{}: invalid final_lr_fraction {} (must be >= 0)", who, o.final_lr_fraction);
}
WarmupDecayOptions warmup_from(const StateDict& s, const std::string& who) {
  const std::string& decay = s.text("decay", who);
  HEED_CHECK(decay == "cosine" || decay == "linear", "{}: unknown decay '{}'", who, decay);
  WarmupDecayOptions o{s.integer("warmup_steps", who), s.integer("total_steps", who),
                       s.number("final_lr_fraction", who), decay == "cosine" ? Decay::Cosine : Decay::Linear};
  check_warmup(o, who);
  return o;
}
}  // namespace

WarmupDecayLR::WarmupDecayLR(Optimizer& optimizer, WarmupDecayOptions options)
    : LRScheduler("WarmupDecayLR", optimizer), options_(options) {
  check_warmup(options, "WarmupDecayLR");
  initial_step();
}

double WarmupDecayLR::factor(int64_t t) const {
  const int64_t W = options_.warmup_steps, T = options_.total_steps;
  const double final_fraction = options_.final_lr_fraction;
  if (t < W) return static_cast<double>(t + 1) / static_cast<double>(W + 1);
  const double p = std::min(1.0, static_cast<double>(t - W) / static_cast<double>(std::max<int64_t>(1, T - W - 1)));
  const double shape = options_.decay == Decay::Cosine ? 0.5 * (1 + std::cos(kPi * p)) : 1 - p;
  return final_fraction + (1 - final_fraction) * shape;
}

std::vector<double> WarmupDecayLR::compute_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * factor(last_epoch_));
  return lrs;
}

void WarmupDecayLR::save_extra(StateDict& s) const {
  s.set_int("warmup_steps", options_.warmup_steps);
  s.set_int("total_steps", options_.total_steps);
  s.set_number("final_lr_fraction", options_.final_lr_fraction);
  s.set_text("decay", options_.decay == Decay::Cosine ? "cosine" : "linear");
}
void WarmupDecayLR::check_extra(const StateDict& s) const { warmup_from(s, who()); }
void WarmupDecayLR::load_extra(const StateDict& s) { options_ = warmup_from(s, who()); }

// ---------------------------------------------------------------- OneCycleLR

namespace {
void check_one_cycle(const OneCycleOptions& o, size_t groups, const std::string& who) {
  HEED_CHECK(o.total_steps > 0, "{}: invalid total_steps {} (must be > 0)", who, o.total_steps);
  HEED_CHECK(o.pct_start >= 0 && o.pct_start <= 1, "{}: invalid pct_start {} (must be in [0, 1])", who, o.pct_start);
  HEED_CHECK(o.div_factor > 0, "{}: invalid div_factor {} (must be > 0)", who, o.div_factor);
  HEED_CHECK(o.final_div_factor > 0, "{}: invalid final_div_factor {} (must be > 0)", who, o.final_div_factor);
  per_group(o.max_lr, groups, "max_lr", who);
  for (double lr : o.max_lr) HEED_CHECK(lr >= 0, "{}: invalid max_lr {} (must be >= 0)", who, lr);
}
}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleOptions options)
    : LRScheduler("OneCycleLR", optimizer), options_(std::move(options)) {
  check_one_cycle(options_, optimizer.param_groups().size(), name());
  configure();
  if (options_.cycle_momentum) {
    const std::string option = momentum_option();
    const double top = option == "beta1" ? 1.0 : kInf;
    for (double m : {options_.base_momentum, options_.max_momentum})
      HEED_CHECK(m >= 0 && m < top, "OneCycleLR: invalid momentum {} for {}'s {}", m, optimizer.name(), option);
    for (ParamGroup& g : optimizer.param_groups()) g.options[option] = options_.max_momentum;
  }
  initial_step();
}

// Phases and per-group lrs from options_ (PyTorch's constructor).
void OneCycleLR::configure() {
  const double total = static_cast<double>(options_.total_steps), pct = options_.pct_start;
  if (options_.three_phase) {
    phases_ = {{pct * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {2 * pct * total - 2, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
               {total - 1, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum}};
  } else {
    phases_ = {{pct * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {total - 1, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum}};
  }
  const std::vector<double> max_lrs = per_group(options_.max_lr, optimizer_.param_groups().size(), "max_lr", name());
  lrs_.clear();
  base_lrs_.clear();
  for (double max_lr : max_lrs) {
    const double initial = max_lr / options_.div_factor;
    lrs_.push_back({initial, max_lr, initial / options_.final_div_factor});
    base_lrs_.push_back(initial);
  }
}

std::string OneCycleLR::momentum_option() const {
  const ParamGroup& g = optimizer_.param_groups().front();
  if (g.has_option("beta1")) return "beta1";
  HEED_CHECK(g.has_option("momentum"),
             "OneCycleLR: cycle_momentum needs an optimizer with momentum or betas; {} has neither", optimizer_.name());
  return "momentum";
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal == Anneal::Linear) return (end - start) * pct + start;
  const double cos_out = std::cos(kPi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

std::vector<double> OneCycleLR::compute_lr() {
  HEED_CHECK(last_epoch_ <= options_.total_steps, "OneCycleLR: step {} is past total_steps {}", last_epoch_,
             options_.total_steps);
  const double step = static_cast<double>(last_epoch_);
  const double momenta[2] = {options_.max_momentum, options_.base_momentum};
  std::vector<double> lrs;
  for (size_t g = 0; g < lrs_.size(); ++g) {
    double start_step = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (step - start_step) / (phase.end_step - start_step);
        lrs.push_back(anneal(lrs_[g][phase.start_lr], lrs_[g][phase.end_lr], pct));
        if (options_.cycle_momentum)
          optimizer_.param_groups()[g].options[momentum_option()] =
              anneal(momenta[phase.start_momentum], momenta[phase.end_momentum], pct);
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

void OneCycleLR::save_extra(StateDict& s) const {
  s.set_numbers("max_lr", options_.max_lr);
  s.set_int("total_steps", options_.total_steps);
  s.set_number("pct_start", options_.pct_start);
  s.set_text("anneal", options_.anneal == Anneal::Cos ? "cos" : "linear");
  s.set_int("cycle_momentum", options_.cycle_momentum);
  s.set_number("base_momentum", options_.base_momentum);
  s.set_number("max_momentum", options_.max_momentum);
  s.set_number("div_factor", options_.div_factor);
  s.set_number("final_div_factor", options_.final_div_factor);
  s.set_int("three_phase", options_.three_phase);
}

namespace {
OneCycleOptions one_cycle_from(const StateDict& s, size_t groups, const std::string& who) {
  const std::string& anneal = s.text("anneal", who);
  HEED_CHECK(anneal == "cos" || anneal == "linear", "{}: unknown anneal '{}'", who, anneal);
  OneCycleOptions o{s.numbers("max_lr", who),
                    s.integer("total_steps", who),
                    s.number("pct_start", who),
                    anneal == "cos" ? Anneal::Cos : Anneal::Linear,
                    s.integer("cycle_momentum", who) != 0,
                    s.number("base_momentum", who),
                    s.number("max_momentum", who),
                    s.number("div_factor", who),
                    s.number("final_div_factor", who),
                    s.integer("three_phase", who) != 0};
  check_one_cycle(o, groups, who);
  return o;
}
}  // namespace

void OneCycleLR::check_extra(const StateDict& s) const {
  OneCycleOptions o = one_cycle_from(s, optimizer_.param_groups().size(), who());
  if (o.cycle_momentum) momentum_option();
}
void OneCycleLR::load_extra(const StateDict& s) {
  std::vector<double> base_lrs = base_lrs_;  // configure() recomputes them; keep the loaded ones
  options_ = one_cycle_from(s, optimizer_.param_groups().size(), who());
  configure();
  base_lrs_ = std::move(base_lrs);
}

// ---------------------------------------------------------------- ReduceLROnPlateau

namespace {
void check_plateau(const PlateauOptions& o, size_t groups, const std::string& who) {
  HEED_CHECK(o.factor >= 0 && o.factor < 1, "{}: invalid factor {} (must be in [0, 1))", who, o.factor);
  HEED_CHECK(o.patience >= 0, "{}: invalid patience {} (must be >= 0)", who, o.patience);
  HEED_CHECK(o.cooldown >= 0, "{}: invalid cooldown {} (must be >= 0)", who, o.cooldown);
  HEED_CHECK(o.threshold >= 0, "{}: invalid threshold {} (must be >= 0)", who, o.threshold);
  HEED_CHECK(o.eps >= 0, "{}: invalid eps {} (must be >= 0)", who, o.eps);
  per_group(o.min_lr, groups, "min_lr", who);
}
}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options)
    : optimizer_(optimizer), options_(std::move(options)) {
  check_plateau(options_, optimizer.param_groups().size(), "ReduceLROnPlateau");
  options_.min_lr = per_group(options_.min_lr, optimizer.param_groups().size(), "min_lr", "ReduceLROnPlateau");
  best_ = options_.mode == Mode::Min ? kInf : -kInf;
  for (const ParamGroup& g : optimizer.param_groups()) last_lr_.push_back(g.lr());
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const double t = options_.threshold;
  if (options_.mode == Mode::Min) return options_.threshold_relative ? a < best * (1. - t) : a < best - t;
  return options_.threshold_relative ? a > best * (t + 1.) : a > best + t;
}

void ReduceLROnPlateau::step(double metric) {
  std::vector<ParamGroup>& groups = optimizer_.param_groups();
  HEED_CHECK(groups.size() == options_.min_lr.size(),
             "ReduceLROnPlateau: the optimizer has {} parameter groups, the scheduler was made for {}", groups.size(),
             options_.min_lr.size());
  last_epoch_ += 1;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_ += 1;
  }
  if (cooldown_counter_ > 0) {
    cooldown_counter_ -= 1;
    num_bad_epochs_ = 0;  // bad steps during cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const double old_lr = groups[g].lr();
      const double new_lr = std::max(old_lr * options_.factor, options_.min_lr[g]);
      if (old_lr - new_lr > options_.eps) groups[g].set_lr(new_lr);
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (const ParamGroup& g : groups) last_lr_.push_back(g.lr());
}

StateDict ReduceLROnPlateau::state_dict() const {
  StateDict s;
  s.set_text("scheduler", "ReduceLROnPlateau");
  s.set_text("mode", mode_name(options_.mode));
  s.set_number("factor", options_.factor);
  s.set_int("patience", options_.patience);
  s.set_number("threshold", options_.threshold);
  s.set_text("threshold_mode", options_.threshold_relative ? "rel" : "abs");
  s.set_int("cooldown", options_.cooldown);
  s.set_numbers("min_lr", options_.min_lr);
  s.set_number("eps", options_.eps);
  s.set_number("best", best_);
  s.set_int("num_bad_epochs", num_bad_epochs_);
  s.set_int("cooldown_counter", cooldown_counter_);
  s.set_int("last_epoch", last_epoch_);
  s.set_numbers("last_lr", last_lr_);
  return s;
}

void ReduceLROnPlateau::load_state_dict(const StateDict& s) {
  const std::string who = "ReduceLROnPlateau.load_state_dict";
  HEED_CHECK(s.text("scheduler", who) == "ReduceLROnPlateau", "{}: the state is from scheduler {}", who,
             s.text("scheduler", who));
  const std::string& mode = s.text("mode", who);
  const std::string& threshold_mode = s.text("threshold_mode", who);
  HEED_CHECK(mode == "min" || mode == "max", "{}: unknown mode '{}'", who, mode);
  HEED_CHECK(threshold_mode == "rel" || threshold_mode == "abs", "{}: unknown threshold_mode '{}'", who,
             threshold_mode);
  PlateauOptions o{mode == "min" ? Mode::Min : Mode::Max,
                   s.number("factor", who),
                   s.integer("patience", who),
                   s.number("threshold", who),
                   threshold_mode == "rel",
                   s.integer("cooldown", who),
                   s.numbers("min_lr", who),
                   s.number("eps", who)};
  const size_t groups = optimizer_.param_groups().size();
  check_plateau(o, groups, who);
  HEED_CHECK(o.min_lr.size() == groups, "{}: the state has {} min_lr values, the optimizer has {} groups", who,
             o.min_lr.size(), groups);
  std::vector<double> last_lr = s.numbers("last_lr", who);
  HEED_CHECK(last_lr.size() == groups, "{}: the state has {} last lrs, the optimizer has {} groups", who,
             last_lr.size(), groups);
  const double best = s.number("best", who);
  const int64_t bad = s.integer("num_bad_epochs", who), cooldown = s.integer("cooldown_counter", who),
                last_epoch = s.integer("last_epoch", who);
  HEED_CHECK(bad >= 0 && cooldown >= 0 && last_epoch >= 0, "{}: negative counters in the state", who);

  options_ = std::move(o);
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
  last_epoch_ = last_epoch;
  last_lr_ = std::move(last_lr);
  set_group_lrs(optimizer_, last_lr_);
}

}  // namespace heed::optim
