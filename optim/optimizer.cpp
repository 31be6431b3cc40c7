// Optimizer base: parameter groups, per-parameter state, zero_grad, state dicts (optimizer.h).
#include "optim/optimizer.h"

#include <algorithm>
#include <set>

#include "autograd/node.h"
#include "optim/inplace.h"
#include "tensor/ops.h"

namespace heed::optim {

double ParamGroup::option(const std::string& name) const {
  auto it = options.find(name);
  HEED_CHECK(it != options.end(), "optimizer: parameter group has no option '{}'", name);
  return it->second;
}

void ParamGroup::set_lr(double lr) {
  HEED_CHECK(has_option("lr"), "optimizer: parameter group has no option 'lr'");
  options["lr"] = lr;
}

void Optimizer::add_group(std::vector<Tensor> params, std::map<std::string, double> options) {
  const size_t g = groups_.size();
  HEED_CHECK(!params.empty(), "{}: parameter group {} is empty", name_, g);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    HEED_CHECK(p.defined(), "{}: parameter {} of group {} is an undefined tensor", name_, i, g);
    HEED_CHECK(p.is_floating_point(), "{}: parameter {} of group {} is {}; only floating tensors can be optimized",
               name_, i, g, p.dtype());
    HEED_CHECK(p.is_leaf(),
               "{}: parameter {} of group {} (shape {}) is not a leaf: it was computed by '{}'; "
               "optimize the leaf tensors it came from",
               name_, i, g, p.shape(), p.grad_fn()->name);
    for (size_t j = 0; j < i; ++j)
      HEED_CHECK(!params[j].is_same(p), "{}: parameter {} of group {} (shape {}) appears twice in the group", name_, i,
                 g, p.shape());
    for (size_t other = 0; other < groups_.size(); ++other)
      for (const Tensor& q : groups_[other].params)
        HEED_CHECK(!q.is_same(p), "{}: parameter {} of group {} (shape {}) is already in group {}", name_, i, g,
                   p.shape(), other);
  }
  check_options(options);
  groups_.push_back({std::move(params), std::move(options)});
}

void Optimizer::zero_grad(bool set_to_none) {
  for (ParamGroup& group : groups_)
    for (Tensor& p : group.params) {
      if (set_to_none) {
        p.zero_grad();
      } else if (Tensor g = p.grad(); g.defined()) {
        detail::fill_(g, 0.0);
      }
    }
}

const ParamState* Optimizer::state(const Tensor& param) const {
  auto it = state_.find(param.impl_ptr());
  return it == state_.end() ? nullptr : &it->second;
}

Tensor Optimizer::grad_of(const Tensor& param) const {
  Tensor grad = param.grad();
  if (!grad.defined()) return grad;
  HEED_CHECK(grad.shape() == param.shape() && grad.dtype() == param.dtype() && grad.device() == param.device(),
             "{}: gradient {} {} on {} does not match its parameter {} {} on {}", name_, grad.shape(), grad.dtype(),
             grad.device(), param.shape(), param.dtype(), param.device());
  return grad;
}

// ---------------------------------------------------------------- state dicts

StateDict Optimizer::state_dict() const {
  StateDict out;
  out.set_text("optimizer", name_);
  out.set_int("param_groups", static_cast<int64_t>(groups_.size()));
  int64_t k = 0;  // parameter index across groups
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string group_key = fmt::format("group.{}.", g);
    out.set_int(group_key + "params", static_cast<int64_t>(groups_[g].params.size()));
    for (const auto& [option, value] : groups_[g].options) out.set_number(group_key + option, value);
    for (const Tensor& p : groups_[g].params) {
      if (const ParamState* st = state(p)) {
        const std::string state_key = fmt::format("state.{}.", k);
        out.set_int(state_key + "step", st->step);
        for (const auto& [buffer, t] : st->buffers) out.tensors.emplace_back(state_key + buffer, raw::clone(t));
      }
      ++k;
    }
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& in) {
  const std::string who = name_ + ".load_state_dict";
  HEED_CHECK(in.text("optimizer", who) == name_, "{}: the state is from optimizer {}", who, in.text("optimizer", who));
  const int64_t num_groups = in.integer("param_groups", who);
  HEED_CHECK(num_groups == static_cast<int64_t>(groups_.size()),
             "{}: the state has {} parameter groups, this {} has {}", who, num_groups, name_, groups_.size());

  // Parameters in state order, and the options each group gets.
  std::vector<const Tensor*> params;
  std::vector<std::map<std::string, double>> options(groups_.size());
  std::set<std::string> known_keys = {"optimizer", "param_groups"};
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string group_key = fmt::format("group.{}.", g);
    const int64_t count = in.integer(group_key + "params", who);
    HEED_CHECK(count == static_cast<int64_t>(groups_[g].params.size()),
               "{}: group {} of the state has {} parameters, this optimizer's has {}", who, g, count,
               groups_[g].params.size());
    known_keys.insert(group_key + "params");
    for (const auto& [option, current] : groups_[g].options) {
      options[g][option] = in.number(group_key + option, who);
      known_keys.insert(group_key + option);
    }
    check_options(options[g]);
    for (const Tensor& p : groups_[g].params) params.push_back(&p);
  }

  // Per-parameter state: every state.<k>.* key must name a parameter and a known buffer.
  std::map<const TensorImpl*, ParamState> loaded;
  auto parse_state_key = [&](const std::string& key, std::string& rest) -> const Tensor* {
    const std::string body = key.substr(6);  // after "state."
    const size_t dot = body.find('.');
    const std::string index = body.substr(0, dot);
    HEED_CHECK(dot != std::string::npos && !index.empty() && index.size() < 10 &&
                   std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }),
               "{}: malformed state key '{}'", who, key);
    const size_t k = std::stoul(index);
    HEED_CHECK(k < params.size(), "{}: state key '{}' names parameter {}, the optimizer has {}", who, key, k,
               params.size());
    rest = body.substr(dot + 1);
    return params[k];
  };
  for (const auto& [key, value] : in.metadata) {
    if (key.rfind("group.", 0) == 0) {
      HEED_CHECK(known_keys.count(key), "{}: unknown option in '{}' (this {} has other options)", who, key, name_);
    } else if (key.rfind("state.", 0) == 0) {
      std::string rest;
      const Tensor* p = parse_state_key(key, rest);
      HEED_CHECK(rest == "step", "{}: unexpected state entry '{}'", who, key);
      loaded[p->impl_ptr()].step = in.integer(key, who);
      HEED_CHECK(loaded[p->impl_ptr()].step >= 0, "{}: '{}' is negative: {}", who, key, value);
    }
  }
  const std::vector<std::string> allowed = allowed_buffers();
  for (const auto& [name, t] : in.tensors) {
    HEED_CHECK(name.rfind("state.", 0) == 0, "{}: unexpected tensor '{}'", who, name);
    std::string buffer;
    const Tensor* p = parse_state_key(name, buffer);
    HEED_CHECK(std::find(allowed.begin(), allowed.end(), buffer) != allowed.end(),
               "{}: '{}' is not a {} buffer (expected one of {})", who, name, name_, fmt::join(allowed, ", "));
    HEED_CHECK(t.shape() == p->shape(), "{}: '{}' has shape {}, its parameter {}", who, name, t.shape(), p->shape());
    HEED_CHECK(t.is_floating_point(), "{}: '{}' is {}, expected a floating tensor", who, name, t.dtype());
    auto it = loaded.find(p->impl_ptr());
    HEED_CHECK(it != loaded.end(), "{}: '{}' has no step count ('state.<k>.step')", who, name);
    it->second.buffers[buffer] = raw::clone(raw::to_device(raw::to_dtype(t, p->dtype()), p->device()));
  }
  for (size_t k = 0; k < params.size(); ++k) {
    auto it = loaded.find(params[k]->impl_ptr());
    if (it == loaded.end()) continue;
    for (const std::string& buffer : required_buffers())
      HEED_CHECK(it->second.buffers.count(buffer), "{}: the state of parameter {} has no '{}' ('state.{}.{}')", who, k,
                 buffer, k, buffer);
  }

  // Everything checked: apply.
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].options = options[g];
  state_ = std::move(loaded);
}

}  // namespace heed::optim
