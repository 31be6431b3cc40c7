// Learning-rate schedulers: each sets the "lr" option of every parameter group of an optimizer,
// once per step(), with PyTorch's arithmetic (torch 1.13's recursive get_lr forms, so the values
// agree to the last bit or so). The optimizer must outlive its scheduler.
//
//   optim::AdamW opt(model.parameters(), {.lr = 3e-4});
//   optim::WarmupDecayLR sched(opt, {.warmup_steps = 100, .total_steps = 10000});
//   for (...) { ...; opt.step(); sched.step(); }
//
// Construction applies step 0's lr at once (PyTorch's _initial_step); last_epoch() counts the
// steps since. Call step() after the optimizer's step().
//
// With η_0 the group's lr at construction (base lr) and t = last_epoch():
//   StepLR             η_t = η_0 · γ^⌊t / step_size⌋
//   MultiStepLR        η_t = η_0 · γ^(number of milestones ≤ t); a repeated milestone counts twice
//   ExponentialLR      η_t = η_0 · γ^t
//   CosineAnnealingLR  η_t = η_min + (η_0 − η_min)·(1 + cos(π·t / T_max)) / 2, for t ≤ T_max
//                      (past T_max it rises again, as PyTorch's recursive form does). SGDR:
//                      Loshchilov & Hutter, https://arxiv.org/abs/1608.03983
//   LambdaLR           η_t = η_0 · factor(t)
//   WarmupDecayLR      η_t = η_0 · f(t), W = warmup_steps, T = total_steps, φ = final_lr_fraction:
//                        t < W:  f = (t + 1) / (W + 1)                          (linear warm-up)
//                        t ≥ W:  p = min(1, (t − W) / max(1, T − W − 1))
//                                f = φ + (1 − φ)·(1 + cos(π·p)) / 2   (cosine)
//                                f = φ + (1 − φ)·(1 − p)              (linear)
//                      so the peak lr is used at step W and φ·η_0 at step T − 1 and after.
//   OneCycleLR         from max_lr/div_factor up to max_lr over pct_start of total_steps, then
//                      down to max_lr/(div_factor·final_div_factor), cosine or linear; momentum
//                      (SGD's "momentum" or Adam's "beta1") cycles the other way between
//                      max_momentum and base_momentum. Smith & Topin, "Super-Convergence",
//                      https://arxiv.org/abs/1708.07120
//   ReduceLROnPlateau  η ← max(η·factor, min_lr) when the metric has not improved for more than
//                      `patience` steps; not an LRScheduler: its step() takes the metric.
//
// State dicts (metadata only): scheduler name, last_epoch, base_lrs, last_lr and each
// scheduler's options and counters; loading one also restores those options, as in PyTorch.
// LambdaLR cannot save its function: load it into a LambdaLR made with the same one.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "optim/mode.h"
#include "optim/optimizer.h"
#include "optim/state_dict.h"

namespace heed::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances one step and writes the new lr into every group.
  void step();
  // The lr of each group as set by the last step (or by construction).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  const std::string& name() const { return name_; }

  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);  // checks everything before changing anything

 protected:
  LRScheduler(std::string name, Optimizer& optimizer);
  // Derived constructors end with this: step 0 (PyTorch's _initial_step).
  void initial_step();
  // The lr of each group at last_epoch_ (PyTorch's get_lr); may read the groups' current lr.
  virtual std::vector<double> compute_lr() = 0;
  // The scheduler's own options and counters in a state dict: save_extra writes them,
  // check_extra validates a state without changing anything, load_extra then applies it.
  virtual void save_extra(StateDict&) const {}
  virtual void check_extra(const StateDict&) const {}
  virtual void load_extra(const StateDict&) {}

  std::vector<double> group_lrs() const;
  std::string who() const { return name_ + ".load_state_dict"; }

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;

 private:
  std::string name_;
  std::vector<double> last_lr_;
};

class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> compute_lr() override;
  void save_extra(StateDict& s) const override;
  void check_extra(const StateDict& s) const override;
  void load_extra(const StateDict& s) override;

 private:
  int64_t step_size_;
  double gamma_;
};

class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> compute_lr() override;
  void save_extra(StateDict& s) const override;
  void check_extra(const StateDict& s) const override;
  void load_extra(const StateDict& s) override;

 private:
  std::vector<int64_t> milestones_;  // sorted; repeats kept
  double gamma_;
};

class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> compute_lr() override;
  void save_extra(StateDict& s) const override;
  void check_extra(const StateDict& s) const override;
  void load_extra(const StateDict& s) override;

 private:
  double gamma_;
};

class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0);

 protected:
  std::vector<double> compute_lr() override;
  void save_extra(StateDict& s) const override;
  void check_extra(const StateDict& s) const override;
  void load_extra(const StateDict& s) override;

 private:
  int64_t t_max_;
  double eta_min_;
};

class LambdaLR : public LRScheduler {
 public:
  // factor(t) multiplies each group's base lr at step t.
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> factor);

 protected:
  std::vector<double> compute_lr() override;

 private:
  std::function<double(int64_t)> factor_;
};

enum class Decay { Cosine, Linear };

struct WarmupDecayOptions {
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;         // required: > warmup_steps
  double final_lr_fraction = 0.0;  // of the base lr, reached at step total_steps − 1
  Decay decay = Decay::Cosine;
};

class WarmupDecayLR : public LRScheduler {
 public:
  WarmupDecayLR(Optimizer& optimizer, WarmupDecayOptions options);
  double factor(int64_t t) const;  // f(t) above

 protected:
  std::vector<double> compute_lr() override;
  void save_extra(StateDict& s) const override;
  void check_extra(const StateDict& s) const override;
  void load_extra(const StateDict& s) override;

 private:
  WarmupDecayOptions options_;
};

enum class Anneal { Cos, Linear };

struct OneCycleOptions {
  std::vector<double> max_lr;  // one per group, or one for all
  int64_t total_steps = 0;     // required: the schedule may be stepped this many times
  double pct_start = 0.3;
  Anneal anneal = Anneal::Cos;
  bool cycle_momentum = true;  // needs an optimizer with "momentum" (SGD) or "beta1" (Adam)
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool three_phase = false;  // up, back down to the initial lr, then down to the minimum
};

class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, OneCycleOptions options);

 protected:
  std::vector<double> compute_lr() override;
  void save_extra(StateDict& s) const override;
  void check_extra(const StateDict& s) const override;
  void load_extra(const StateDict& s) override;

 private:
  enum Lr { kInitialLr, kMaxLr, kMinLr };
  enum Momentum { kMaxMomentum, kBaseMomentum };
  struct Phase {
    double end_step;
    Lr start_lr, end_lr;
    Momentum start_momentum, end_momentum;
  };
  void configure();  // phases_, lrs_ and base_lrs_ from options_
  double anneal(double start, double end, double pct) const;
  std::string momentum_option() const;  // "momentum" or "beta1"

  OneCycleOptions options_;
  std::vector<Phase> phases_;
  std::vector<std::array<double, 3>> lrs_;  // per group, indexed by Lr
};

struct PlateauOptions {
  Mode mode = Mode::Min;
  double factor = 0.1;               // in [0, 1)
  int64_t patience = 10;             // bad steps tolerated before a reduction
  double threshold = 1e-4;           // what counts as better, see threshold_relative
  bool threshold_relative = true;    // rel: best·(1 ∓ threshold); abs: best ∓ threshold
  int64_t cooldown = 0;              // steps after a reduction during which bad steps are ignored
  std::vector<double> min_lr = {0};  // one per group, or one for all
  double eps = 1e-8;                 // reductions smaller than this are skipped
};

class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options = {});
  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;

  void step(double metric);
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }

  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);

 private:
  bool is_better(double a, double best) const;

  Optimizer& optimizer_;
  PlateauOptions options_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace heed::optim
