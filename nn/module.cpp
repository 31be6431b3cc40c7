#include "nn/module.h"

#include <set>

#include "autograd/node.h"
#include "tensor/io.h"
#include "tensor/ops.h"

namespace heed::nn {

Tensor Module::forward(const Tensor&) {
  HEED_FAIL("{}: this module has no single-tensor forward; call its own forward", type_name_);
}

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  last_output_shape_ = y.shape();
  has_run_ = true;
  return y;
}

void Module::check_new_name(const std::string& name) const {
  HEED_CHECK(!name.empty() && name.find('.') == std::string::npos,
             "{}: invalid name \"{}\" (non-empty, no dots)", type_name_, name);
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  HEED_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), "{}: name \"{}\" registered twice", type_name_,
             name);
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name);
  HEED_CHECK(t.defined() && t.is_floating_point(), "{}: parameter \"{}\" must be a defined floating tensor",
             type_name_, name);
  if (!t.is_leaf()) t = t.detach();
  t.requires_grad_();
  params_.emplace_back(name, t);
  return params_.back().second;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  HEED_CHECK(t.defined(), "{}: buffer \"{}\" is undefined", type_name_, name);
  buffers_.emplace_back(name, t);
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name);
  HEED_CHECK(m != nullptr, "{}: submodule \"{}\" is null", type_name_, name);
  children_.emplace_back(name, std::move(m));
}

namespace {
void collect(const Module& m, const std::string& prefix, bool recurse, bool params, NamedTensors& out,
             const NamedTensors& own_params, const NamedTensors& own_buffers) {
  for (const auto& [n, t] : params ? own_params : own_buffers) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, child] : m.named_children()) {
    NamedTensors sub = params ? child->named_parameters(true) : child->named_buffers(true);
    for (auto& [sn, t] : sub) out.emplace_back(prefix + n + "." + sn, t);
  }
}
}  // namespace

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect(*this, "", recurse, true, out, params_, buffers_);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect(*this, "", recurse, false, out, params_, buffers_);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, c] : children_) c->train(on);
}

void set_data(const Tensor& dst, const Tensor& src) {
  TensorImpl* d = dst.impl_ptr();
  const TensorImpl* s = src.impl_ptr();
  d->storage = s->storage;
  d->shape = s->shape;
  d->strides = s->strides;
  d->offset = s->offset;
  d->dtype = s->dtype;
}

void Module::to(DType dtype) {
  HEED_CHECK(is_floating(dtype), "{}.to: modules move to floating dtypes only, got {}", type_name_, dtype);
  for (auto& [_, t] : named_parameters())
    if (t.dtype() != dtype) {
      set_data(t, raw::to_dtype(t, dtype));
      t.zero_grad();
    }
  for (auto& [_, t] : named_buffers())
    if (t.is_floating_point() && t.dtype() != dtype) set_data(t, raw::to_dtype(t, dtype));
}

void Module::to(Device device) {
  for (auto& [_, t] : named_parameters())
    if (t.device() != device) {
      set_data(t, raw::to_device(t, device));
      t.zero_grad();
    }
  for (auto& [_, t] : named_buffers())
    if (t.device() != device) set_data(t, raw::to_device(t, device));
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& b : named_buffers()) out.push_back(b);
  for (auto& [_, t] : out) t = t.detach();
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, Tensor> given(state.begin(), state.end());
  std::set<std::string> used;
  std::vector<std::string> missing;
  NamedTensors mine = named_parameters();
  for (auto& b : named_buffers()) mine.push_back(b);
  // Check everything first, so a failed load changes nothing.
  for (auto& [name, t] : mine) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    HEED_CHECK(it->second.shape() == t.shape(), "load_state_dict: \"{}\" has shape {} in the state, {} in the model",
               name, it->second.shape(), t.shape());
    used.insert(name);
  }
  if (strict) {
    HEED_CHECK(missing.empty(), "load_state_dict: missing from the state: {}", fmt::join(missing, ", "));
    std::vector<std::string> extra;
    for (auto& [name, _] : given)
      if (!used.count(name)) extra.push_back(name);
    HEED_CHECK(extra.empty(), "load_state_dict: not in the model: {}", fmt::join(extra, ", "));
  }
  NoGradGuard no_grad;
  for (auto& [name, t] : mine)
    if (used.count(name)) set_data(t, raw::clone(raw::to_device(raw::to_dtype(given[name], t.dtype()), t.device())));
}

void Module::save(const std::string& path) const {
  save_safetensors(path, state_dict(), {{"format", "pt"}, {"heed_module", type_name_}});
}

void Module::load(const std::string& path, bool strict) { load_state_dict(load_safetensors(path).tensors, strict); }

void Module::summary_rows(const std::string& prefix, int depth, std::vector<std::vector<std::string>>& rows) const {
  int64_t own = 0;
  for (auto& [_, t] : params_) own += t.numel();
  std::string shape = has_run_ ? fmt::format("{}", last_output_shape_) : "-";
  std::string label = std::string(static_cast<size_t>(depth) * 2, ' ') + (prefix.empty() ? "(root)" : prefix);
  std::string type = type_name_ + (extra_repr().empty() ? "" : "(" + extra_repr() + ")");
  rows.push_back({label, type, shape, fmt::format("{}", own)});
  for (auto& [n, c] : children_) c->summary_rows(n, depth + 1, rows);
}

std::string Module::summary() const {
  std::vector<std::vector<std::string>> rows{{"layer", "type", "output shape", "params"}};
  summary_rows("", 0, rows);
  size_t w[4] = {0, 0, 0, 0};
  for (auto& r : rows)
    for (size_t i = 0; i < 4; ++i) w[i] = std::max(w[i], r[i].size());
  std::string out;
  for (size_t k = 0; k < rows.size(); ++k) {
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", rows[k][0], w[0], rows[k][1], w[1], rows[k][2], w[2],
                       rows[k][3], w[3]);
    if (k == 0) out += std::string(w[0] + w[1] + w[2] + w[3] + 6, '-') + "\n";
  }
  const int64_t total = num_parameters();
  int64_t trainable = 0;
  for (const Tensor& p : parameters())
    if (p.requires_grad()) trainable += p.numel();
  return out + fmt::format("total parameters: {} ({} trainable)\n", total, trainable);
}

}  // namespace heed::nn
