// Optimizer: the base of heed's optimizers (SGD, Adam, AdamW). It holds
//   - parameter groups: leaf tensors plus that group's options ("lr", "weight_decay" and the
//     optimizer's own knobs, by name, so LR schedulers can set "lr" on any optimizer);
//   - per-parameter state: a step count and named buffers ("exp_avg", "momentum_buffer", ...);
// and turns both into a StateDict for checkpoints. A subclass writes step() and its checks.
//
//   optim::AdamW opt(model.parameters(), {.lr = 3e-4, .weight_decay = 0.01});
//   for (...) {
//     opt.zero_grad();
//     loss(batch).backward();
//     opt.step();
//   }
//
// step() writes each parameter's storage in place (no graph), so every holder of the parameter
// (its module, other handles, views) sees the new values. A parameter without .grad is skipped,
// as in PyTorch. Gradient accumulation is simply several backward() calls between zero_grad()s.
//
// Not here: closures (LBFGS), sparse gradients, `maximize`, foreach / fused kernels (a fused
// kernel comes with the CUDA and benchmark work).
//
// StateDict layout (PyTorch's, flattened; parameter k counts across groups in order):
//   metadata  optimizer = "Adam", param_groups = G, group.<g>.params = count,
//             group.<g>.<option> = value, state.<k>.step = steps taken by parameter k
//   tensors   state.<k>.<buffer>   e.g. state.0.exp_avg
#pragma once
#include <map>
#include <string>
#include <vector>

#include "optim/state_dict.h"
#include "tensor/tensor.h"

namespace heed::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  std::map<std::string, double> options;  // flags (nesterov, amsgrad) are 0 or 1

  double lr() const { return option("lr"); }
  void set_lr(double lr);
  double option(const std::string& name) const;  // error naming the option when absent
  bool has_option(const std::string& name) const { return options.count(name) != 0; }
};

struct ParamState {
  int64_t step = 0;                       // updates applied to this parameter
  std::map<std::string, Tensor> buffers;  // same shape, dtype and device as the parameter
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Drops every .grad (set_to_none, PyTorch's default), or fills them with zeros.
  void zero_grad(bool set_to_none = true);

  const std::string& name() const { return name_; }
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // The state of `param`; null until its first update.
  const ParamState* state(const Tensor& param) const;

  StateDict state_dict() const;  // buffers are copies: later steps do not change it
  // Checks everything (optimizer name, group sizes, options, buffer shapes) before changing
  // anything; buffers are copied and converted to their parameter's dtype and device.
  void load_state_dict(const StateDict& state);

 protected:
  explicit Optimizer(std::string name) : name_(std::move(name)) {}

  // Appends a group after checking its parameters (defined, floating, leaves, in no other
  // group) and options (check_options).
  void add_group(std::vector<Tensor> params, std::map<std::string, double> options);
  // Throws heed::Error naming the optimizer and the bad value.
  virtual void check_options(const std::map<std::string, double>& options) const = 0;
  // Buffer names a parameter's state must hold once it has one, and those it may hold.
  virtual std::vector<std::string> required_buffers() const { return {}; }
  virtual std::vector<std::string> allowed_buffers() const = 0;

  // The gradient of `param`, checked against it; undefined when the parameter has none.
  Tensor grad_of(const Tensor& param) const;
  ParamState& state_of(const Tensor& param) { return state_[param.impl_ptr()]; }

 private:
  std::string name_;
  std::vector<ParamGroup> groups_;
  std::map<const TensorImpl*, ParamState> state_;
};

}  // namespace heed::optim
