// EarlyStopping: watches a validation metric and says when training stops improving.
//
//   optim::EarlyStopping stopper({.mode = optim::Mode::Max, .patience = 5, .min_delta = 1e-3});
//   for (int epoch = 0; !stopper.should_stop(); ++epoch) {
//     train_one_epoch();
//     stopper.step(evaluate(model), model.state_dict());  // the state is copied when it is a new best
//   }
//   model.load_state_dict(stopper.best_state());          // restore the best weights
//
// A metric improves on the best when it is lower by more than min_delta (mode Min) or higher by
// more than min_delta (mode Max); NaN never improves. should_stop() is true once `patience`
// steps in a row have not improved. Instead of (or besides) keeping a copy of the state, an
// on_improvement callback can write a checkpoint. Not here: restoring the optimizer's state
// (keep its state_dict() in the same way if it is needed).
#pragma once
#include <cstdint>
#include <functional>

#include "nn/module.h"
#include "optim/mode.h"
#include "optim/state_dict.h"

namespace heed::optim {

struct EarlyStoppingOptions {
  Mode mode = Mode::Min;
  int64_t patience = 10;  // steps without improvement before should_stop()
  double min_delta = 0;   // >= 0
};

class EarlyStopping {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});

  // Records one evaluation; returns true when it is a new best. `state` (e.g.
  // model.state_dict()) is deep-copied when it is, and then the callback runs.
  bool step(double metric, const nn::NamedTensors& state = {});
  bool should_stop() const { return num_bad_steps_ >= options_.patience; }
  // Called with (step index, metric) on every new best.
  void on_improvement(std::function<void(int64_t, double)> callback) { callback_ = std::move(callback); }

  bool has_best() const { return best_step_ >= 0; }
  double best() const { return best_; }             // ±infinity before any improvement
  int64_t best_step() const { return best_step_; }  // 0-based index of the best step(); -1 before one
  int64_t num_steps() const { return num_steps_; }
  int64_t num_bad_steps() const { return num_bad_steps_; }
  const nn::NamedTensors& best_state() const { return best_state_; }  // empty unless a state was given

  // Counters, the best value, and the best state's tensors under "best_state.".
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);

 private:
  bool improves(double metric) const;

  EarlyStoppingOptions options_;
  double best_;
  int64_t best_step_ = -1;
  int64_t num_steps_ = 0;
  int64_t num_bad_steps_ = 0;
  nn::NamedTensors best_state_;
  std::function<void(int64_t, double)> callback_;
};

}  // namespace heed::optim
