// EarlyStopping (early_stopping.h).
#include "optim/early_stopping.h"

#include <cmath>
#include <limits>

#include "tensor/ops.h"

namespace heed::optim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_options(const EarlyStoppingOptions& o, const std::string& who) {
  HEED_CHECK(o.patience >= 0, "{}: invalid patience {} (must be >= 0)", who, o.patience);
  HEED_CHECK(o.min_delta >= 0, "{}: invalid min_delta {} (must be >= 0)", who, o.min_delta);
}

}  // namespace

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(options), best_(options.mode == Mode::Min ? kInf : -kInf) {
  check_options(options_, "EarlyStopping");
}

bool EarlyStopping::improves(double metric) const {
  if (options_.mode == Mode::Min) return metric < best_ - options_.min_delta;
  return metric > best_ + options_.min_delta;
}

bool EarlyStopping::step(double metric, const nn::NamedTensors& state) {
  const int64_t index = num_steps_++;
  if (!improves(metric)) {
    num_bad_steps_ += 1;
    return false;
  }
  best_ = metric;
  best_step_ = index;
  num_bad_steps_ = 0;
  if (!state.empty()) {
    best_state_.clear();
    for (const auto& [name, t] : state) best_state_.emplace_back(name, raw::clone(t));
  }
  if (callback_) callback_(index, metric);
  return true;
}

StateDict EarlyStopping::state_dict() const {
  StateDict s;
  s.set_text("early_stopping", mode_name(options_.mode));
  s.set_int("patience", options_.patience);
  s.set_number("min_delta", options_.min_delta);
  s.set_number("best", best_);
  s.set_int("best_step", best_step_);
  s.set_int("num_steps", num_steps_);
  s.set_int("num_bad_steps", num_bad_steps_);
  for (const auto& [name, t] : best_state_) s.tensors.emplace_back("best_state." + name, raw::clone(t));
  return s;
}

void EarlyStopping::load_state_dict(const StateDict& s) {
  const std::string who = "EarlyStopping.load_state_dict";
  const std::string& mode = s.text("early_stopping", who);
  HEED_CHECK(mode == "min" || mode == "max", "{}: unknown mode '{}'", who, mode);
  EarlyStoppingOptions o{mode == "min" ? Mode::Min : Mode::Max, s.integer("patience", who), s.number("min_delta", who)};
  check_options(o, who);
  const double best = s.number("best", who);
  const int64_t best_step = s.integer("best_step", who), steps = s.integer("num_steps", who),
                bad = s.integer("num_bad_steps", who);
  HEED_CHECK(best_step >= -1 && best_step < steps && bad >= 0 && bad <= steps,
             "{}: inconsistent counters: best_step {}, num_steps {}, num_bad_steps {}", who, best_step, steps, bad);
  nn::NamedTensors best_state;
  const std::string prefix = "best_state.";
  for (const auto& [name, t] : s.tensors) {
    HEED_CHECK(name.compare(0, prefix.size(), prefix) == 0, "{}: unexpected tensor '{}'", who, name);
    best_state.emplace_back(name.substr(prefix.size()), raw::clone(t));
  }
  options_ = o;
  best_ = best;
  best_step_ = best_step;
  num_steps_ = steps;
  num_bad_steps_ = bad;
  best_state_ = std::move(best_state);
}

}  // namespace heed::optim
