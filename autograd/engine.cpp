// The autograd engine: recording nodes (make_node), saved tensors, grad and anomaly modes,
// Tensor's autograd methods, and the backward walk.
//
// The walk: collect every node reachable from the roots; count, for each node, the edges that
// will deliver a gradient to it; then run nodes whose count has dropped to zero, latest-created
// first, adding each gradient they produce into the buffers of the nodes they point at.
#include <cxxabi.h>
#include <execinfo.h>

#include <atomic>
#include <cmath>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"

namespace heed::autograd {

// ---------------------------------------------------------------- modes
namespace {
thread_local bool t_grad_mode = true;
thread_local bool t_in_backward = false;  // anomaly checks a node's gradients, not the ops inside it
std::atomic<bool> g_anomaly{false};
std::atomic<uint64_t> g_sequence{0};
std::atomic<uint64_t> g_walk{0};
std::atomic<bool> g_post_accumulate_hooks{false};  // some leaf has had one registered
}  // namespace

bool grad_mode_enabled() { return t_grad_mode; }
void set_grad_mode(bool on) { t_grad_mode = on; }
bool anomaly_mode_enabled() { return g_anomaly.load(std::memory_order_relaxed); }
void set_anomaly_mode(bool on) { g_anomaly.store(on); }

bool needs_grad(const Tensor& t) { return t.defined() && t_grad_mode && t.requires_grad(); }

namespace {

// A short, demangled stack trace (frames outside this file) for anomaly reports.
std::string stack_trace() {
  void* frames[32];
  int n = backtrace(frames, 32);
  char** symbols = backtrace_symbols(frames, n);
  std::string out;
  for (int i = 2; i < n && symbols; ++i) {
    std::string s = symbols[i];
    auto open = s.find('('), plus = s.find('+', open);
    if (open != std::string::npos && plus != std::string::npos && plus > open + 1) {
      std::string mangled = s.substr(open + 1, plus - open - 1);
      int status = 0;
      char* dem = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
      if (status == 0 && dem) s = dem;
      std::free(dem);
    }
    out += "    " + s + "\n";
  }
  std::free(symbols);
  return out;
}

bool all_finite(const Tensor& t) {
  if (!t.defined() || !t.is_floating_point() || t.numel() == 0) return true;
  Tensor bad = raw::binary(BinaryOp::Ne, t, t);  // NaN
  Tensor inf = raw::binary(BinaryOp::Eq, raw::unary(UnaryOp::Abs, t),
                           raw::fill_like(raw::empty({}, t.dtype(), t.device()), INFINITY));
  return raw::reduce(ReduceOp::Max, bad, {}, false).item() == 0 && raw::reduce(ReduceOp::Max, inf, {}, false).item() == 0;
}

}  // namespace

std::shared_ptr<Node> make_node(const char* name, const std::vector<Tensor>& inputs,
                                const std::vector<Tensor>& outputs) {
  const bool anomaly = anomaly_mode_enabled();
  if (anomaly && !t_in_backward)
    for (const Tensor& y : outputs)
      HEED_CHECK(all_finite(y), "anomaly: forward of '{}' produced NaN or Inf (output shape {})\n  at:\n{}", name,
                 y.shape(), stack_trace());
  if (!t_grad_mode) return nullptr;
  bool any = false;
  for (const Tensor& x : inputs) any |= x.defined() && x.requires_grad();
  if (!any) return nullptr;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->sequence = g_sequence.fetch_add(1, std::memory_order_relaxed);
  node->inputs.reserve(inputs.size());
  for (const Tensor& x : inputs) {
    Edge e;
    if (x.defined() && x.requires_grad()) {
      if (auto fn = x.grad_fn()) {
        e.node = std::move(fn);
        e.output_nr = x.impl_ptr()->autograd->output_nr;
      } else {
        e.leaf = x.impl_shared();
      }
    }
    node->inputs.push_back(std::move(e));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& y = outputs[i];
    node->outputs.push_back({y.shape(), y.dtype(), y.device()});
    auto& meta = y.impl_ptr()->meta();
    meta.requires_grad = true;
    meta.grad_fn = node;
    meta.output_nr = static_cast<uint32_t>(i);
  }
  if (anomaly) node->created_at = stack_trace();
  return node;
}

// ---------------------------------------------------------------- saved tensors
SavedTensor::SavedTensor(const Tensor& t) {
  if (t.defined() && t.grad_fn()) {
    data_ = raw::alias(t);
    node_ = t.grad_fn();
    output_nr_ = t.impl_ptr()->autograd->output_nr;
    linked_ = true;
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack() const {
  if (!linked_) return data_;
  auto node = node_.lock();
  HEED_CHECK(node != nullptr, "autograd: a saved tensor's graph was freed; keep the output alive or use retain_graph");
  Tensor t = raw::alias(data_);
  auto& meta = t.impl_ptr()->meta();
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
  meta.output_nr = output_nr_;
  return t;
}

// ---------------------------------------------------------------- the walk
namespace {

struct TargetKey {
  const void* ptr;
  uint32_t nr;
  bool operator==(const TargetKey& o) const { return ptr == o.ptr && nr == o.nr; }
};
struct TargetHash {
  size_t operator()(const TargetKey& k) const { return std::hash<const void*>()(k.ptr) ^ (k.nr * 0x9E3779B9u); }
};

Tensor accumulate(const Tensor& a, const Tensor& b) { return a.defined() ? a + b : b; }

Tensor run_hooks(const std::vector<Hook>& hooks, Tensor g) {
  for (const auto& h : hooks)
    if (auto r = h(g)) g = *r;
  return g;
}

void accumulate_into_leaf(TensorImpl* leaf, Tensor g, bool create_graph) {
  auto& meta = leaf->meta();
  g = run_hooks(meta.hooks, g);
  if (!create_graph) g = g.detach();
  if (meta.grad) {
    meta.grad = (Tensor(meta.grad) + g).impl_shared();
  } else {
    // .grad must own its memory: the incoming gradient may be a broadcast view or alias.
    const bool owned = g.is_contiguous() && g.storage().use_count() == 1;
    meta.grad = (owned || create_graph ? g : raw::clone(g)).impl_shared();
  }
}

// Runs backward from `roots`. With `targets` null, gradients accumulate into leaves' .grad;
// otherwise they are collected for exactly the target tensors and no .grad is touched.
std::vector<Tensor> run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads,
                                 bool retain_graph, bool create_graph, const std::vector<Tensor>* targets,
                                 bool allow_unused) {
  GradModeGuard mode(create_graph);
  std::unordered_map<TargetKey, size_t, TargetHash> target_index;  // (leaf impl | node, nr) -> position
  std::vector<Tensor> captured;
  std::unordered_set<const void*> node_targets;  // keys of target_index that are nodes, not leaves
  if (targets) {
    captured.resize(targets->size());
    for (size_t i = 0; i < targets->size(); ++i) {
      const Tensor& t = (*targets)[i];
      HEED_CHECK(t.defined() && t.requires_grad(), "grad: input {} does not require grad", i);
      if (auto fn = t.grad_fn())
        target_index[{fn.get(), t.impl_ptr()->autograd->output_nr}] = i, node_targets.insert(fn.get());
      else
        target_index[{t.impl_ptr(), 0}] = i;
    }
  }

  // Collect reachable nodes; each remembers its position for this walk.
  const uint64_t walk = g_walk.fetch_add(1, std::memory_order_relaxed) + 1;
  std::vector<Node*> order;
  auto seen = [walk](Node* n) { return n->walk_id == walk; };
  auto visit = [&](Node* n) {
    n->walk_id = walk;
    n->walk_index = order.size();
    order.push_back(n);
  };
  auto pos = [](const Node* n) { return n->walk_index; };
  for (const Tensor& r : roots)
    if (auto fn = r.grad_fn(); fn && !seen(fn.get())) visit(fn.get());
  for (size_t i = 0; i < order.size(); ++i)
    for (const Edge& e : order[i]->inputs)
      if (e.node && !seen(e.node.get())) visit(e.node.get());

  // Which nodes must run: all of them for backward(); for grad(), those that lead to a target.
  std::vector<char> exec(order.size(), targets ? 0 : 1);
  if (targets) {
    std::vector<char> state(order.size(), 0);  // 0 unvisited, 1 in progress, 2 done
    std::function<bool(Node*)> leads = [&](Node* n) -> bool {
      size_t i = pos(n);
      if (state[i] == 2) return exec[i];
      state[i] = 1;
      bool any = false;
      for (const Edge& e : n->inputs) {
        if (e.leaf && target_index.count({e.leaf.get(), 0})) any = true;
        if (e.node && (target_index.count({e.node.get(), e.output_nr}) || leads(e.node.get()))) any = true;
      }
      state[i] = 2;
      exec[i] = any;
      return any;
    };
    for (Node* n : order) leads(n);
  }

  // Leaves with post-accumulate hooks: how many gradients this backward still owes each one
  // (counted only once some hook exists in the process, so plain backward pays nothing).
  std::unordered_map<TensorImpl*, size_t> owed;
  const bool count_owed = !targets && g_post_accumulate_hooks.load(std::memory_order_relaxed);
  auto owes = [&](const std::shared_ptr<TensorImpl>& leaf) {
    if (leaf->autograd && !leaf->autograd->post_accumulate_hooks.empty()) ++owed[leaf.get()];
  };
  std::vector<int> deps(order.size(), 0);
  for (size_t i = 0; i < order.size(); ++i)
    if (exec[i])
      for (const Edge& e : order[i]->inputs) {
        if (e.node) ++deps[pos(e.node.get())];
        else if (e.leaf && count_owed) owes(e.leaf);
      }
  if (count_owed)
    for (const Tensor& r : roots)
      if (!r.grad_fn()) owes(r.impl_shared());

  std::vector<std::vector<Tensor>> buffers(order.size());
  for (size_t i = 0; i < order.size(); ++i) buffers[i].resize(order[i]->outputs.size());

  // Counts one gradient (or an undefined one) arriving at `leaf`; runs its hooks after the last.
  auto settle = [&](const std::shared_ptr<TensorImpl>& leaf) {
    if (owed.empty()) return;
    auto it = owed.find(leaf.get());
    if (it == owed.end() || --it->second > 0) return;
    Tensor t(leaf);
    for (const auto& hook : leaf->autograd->post_accumulate_hooks) hook(t);
  };
  auto deliver_to_leaf = [&](const std::shared_ptr<TensorImpl>& leaf, const Tensor& g) {
    if (targets) {
      auto it = target_index.find({leaf.get(), 0});
      if (it != target_index.end()) captured[it->second] = accumulate(captured[it->second], g);
    } else {
      accumulate_into_leaf(leaf.get(), g, create_graph);
      settle(leaf);
    }
  };

  // Seed the roots.
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    if (auto fn = root.grad_fn()) {
      auto& slot = buffers[pos(fn.get())][root.impl_ptr()->autograd->output_nr];
      slot = accumulate(slot, root_grads[r]);
    } else {
      deliver_to_leaf(root.impl_shared(), root_grads[r]);
    }
  }

  auto later_first = [&](size_t a, size_t b) { return order[a]->sequence < order[b]->sequence; };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later_first)> ready(later_first);
  for (size_t i = 0; i < order.size(); ++i)
    if (exec[i] && deps[i] == 0) ready.push(i);

  std::vector<size_t> ran;
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    Node* n = order[i];
    HEED_CHECK(!n->released && n->backward,
               "backward: trying to backward through the graph a second time (node '{}' was already freed); "
               "pass retain_graph=true to the first backward",
               n->name);
    Grads grads = std::move(buffers[i]);
    for (size_t k = 0; k < grads.size(); ++k) {
      if (!grads[k].defined()) {
        const auto& m = n->outputs[k];
        grads[k] = full(m.shape, 0, {m.dtype, m.device});
      }
      for (const auto& [nr, hook] : n->output_hooks)
        if (nr == k)
          if (auto r = hook(grads[k])) grads[k] = *r;
      for (const auto& [nr, hook] : n->retain_hooks)
        if (nr == k) hook(grads[k]);
    }
    if (targets)  // non-leaf targets: the gradient that reached this node's output
      for (size_t k = 0; k < grads.size(); ++k)
        if (auto it = target_index.find({n, static_cast<uint32_t>(k)}); it != target_index.end())
          captured[it->second] = grads[k];
    Grads in;
    {
      struct InBackward {
        bool prev = t_in_backward;
        InBackward() { t_in_backward = true; }
        ~InBackward() { t_in_backward = prev; }
      } scope;
      in = n->backward(grads);
    }
    HEED_CHECK(in.size() == n->inputs.size(), "autograd: backward of '{}' returned {} gradients for {} inputs",
               n->name, in.size(), n->inputs.size());
    ran.push_back(i);
    for (size_t k = 0; k < in.size(); ++k) {
      const Edge& e = n->inputs[k];
      if (!e.active() || !in[k].defined()) {
        if (e.leaf && !targets) settle(e.leaf);
        if (e.node && exec[pos(e.node.get())] && --deps[pos(e.node.get())] == 0) ready.push(pos(e.node.get()));
        continue;
      }
      if (anomaly_mode_enabled())
        HEED_CHECK(all_finite(in[k]), "anomaly: backward of '{}' produced NaN or Inf in the gradient of input {}\n"
                   "  the op was created at:\n{}", n->name, k, n->created_at);
      if (e.leaf) {
        deliver_to_leaf(e.leaf, in[k]);
      } else {
        size_t j = pos(e.node.get());
        buffers[j][e.output_nr] = accumulate(buffers[j][e.output_nr], in[k]);
        if (exec[j] && --deps[j] == 0) ready.push(j);
      }
    }
  }
  // Non-leaf targets whose node did not need to run.
  if (targets)
    for (auto& [key, slot] : target_index)
      if (const Node* n = node_targets.count(key.ptr) ? static_cast<const Node*>(key.ptr) : nullptr;
          n && !captured[slot].defined() && n->walk_id == walk) {
        size_t j = pos(n);
        if (!exec[j] && key.nr < buffers[j].size()) captured[slot] = buffers[j][key.nr];
      }
  if (!retain_graph)
    for (size_t i : ran) {
      order[i]->backward = nullptr;
      order[i]->released = true;
    }
  if (targets && !allow_unused)
    for (size_t i = 0; i < captured.size(); ++i)
      HEED_CHECK(captured[i].defined(),
                 "grad: input {} was not used to compute the outputs; pass allow_unused=true to get an undefined "
                 "gradient instead", i);
  return captured;
}

Tensor seed_gradient(const Tensor& root, const Tensor& given, const char* op) {
  if (given.defined()) {
    HEED_CHECK(given.shape() == root.shape(), "{}: gradient shape {} does not match output shape {}", op,
               given.shape(), root.shape());
    return given;
  }
  HEED_CHECK(root.numel() == 1,
             "{}: grad can be implicitly created only for outputs with one element; got shape {} (pass a gradient)",
             op, root.shape());
  return ones_like(root);
}

}  // namespace

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused) {
  HEED_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
             "grad: {} grad_outputs given for {} outputs", grad_outputs.size(), outputs.size());
  std::vector<Tensor> seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    HEED_CHECK(outputs[i].requires_grad(), "grad: output {} does not require grad and has no grad_fn", i);
    seeds.push_back(seed_gradient(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "grad"));
  }
  return run_backward(outputs, seeds, retain_graph || create_graph, create_graph, &inputs, allow_unused);
}

// ---------------------------------------------------------------- graph export
std::string to_dot(const Tensor& root) {
  std::string out = "digraph heed {\n  rankdir=BT;\n  node [fontname=\"Helvetica\"];\n";
  std::unordered_map<const void*, int> ids;
  auto id = [&](const void* p) {
    auto [it, inserted] = ids.emplace(p, static_cast<int>(ids.size()));
    return std::pair{it->second, inserted};
  };
  auto [rid, _] = id(root.impl_ptr());
  out += fmt::format("  n{} [label=\"output {}\", shape=doubleoctagon];\n", rid, root.shape());
  std::vector<Node*> stack;
  if (auto fn = root.grad_fn()) {
    auto [nid, fresh] = id(fn.get());
    out += fmt::format("  n{} [label=\"{}\", shape=box];\n  n{} -> n{};\n", nid, fn->name, nid, rid);
    stack.push_back(fn.get());
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    int nid = ids[n];
    for (const Edge& e : n->inputs) {
      if (e.node) {
        auto [cid, fresh] = id(e.node.get());
        if (fresh) {
          out += fmt::format("  n{} [label=\"{}\", shape=box];\n", cid, e.node->name);
          stack.push_back(e.node.get());
        }
        out += fmt::format("  n{} -> n{};\n", cid, nid);
      } else if (e.leaf) {
        auto [cid, fresh] = id(e.leaf.get());
        if (fresh) out += fmt::format("  n{} [label=\"leaf {}\", shape=ellipse];\n", cid, e.leaf->shape);
        out += fmt::format("  n{} -> n{};\n", cid, nid);
      }
    }
  }
  return out + "}\n";
}

}  // namespace heed::autograd

// ---------------------------------------------------------------- Tensor's autograd methods
namespace heed {

bool Tensor::requires_grad() const { return impl().autograd && impl().autograd->requires_grad; }

Tensor Tensor::grad() const {
  const auto& t = impl();
  return t.autograd && t.autograd->grad ? Tensor(t.autograd->grad) : Tensor();
}
void Tensor::set_grad(const Tensor& g) {
  HEED_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient shape {} does not match tensor shape {}",
             g.defined() ? g.shape() : Shape{}, shape());
  impl().meta().grad = g.defined() ? g.impl_shared() : nullptr;
}
void Tensor::zero_grad() {
  if (impl().autograd) impl().autograd->grad = nullptr;
}
bool Tensor::is_leaf() const { return !(impl().autograd && impl().autograd->grad_fn); }
std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  return impl().autograd ? impl().autograd->grad_fn : nullptr;
}

void Tensor::register_hook(std::function<std::optional<Tensor>(const Tensor&)> hook) {
  HEED_CHECK(requires_grad(), "register_hook: tensor does not require grad");
  if (auto fn = grad_fn()) fn->output_hooks.emplace_back(impl().autograd->output_nr, std::move(hook));
  else impl().meta().hooks.push_back(std::move(hook));
}

void Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) {
  HEED_CHECK(requires_grad() && is_leaf(), "register_post_accumulate_grad_hook: only a leaf that requires grad has one");
  impl().meta().post_accumulate_hooks.push_back(std::move(hook));
  autograd::g_post_accumulate_hooks.store(true, std::memory_order_relaxed);
}

void Tensor::retain_grad() {
  HEED_CHECK(requires_grad(), "retain_grad: tensor does not require grad");
  if (is_leaf() || impl().autograd->retains_grad) return;
  impl().autograd->retains_grad = true;
  std::weak_ptr<TensorImpl> self = impl_;
  grad_fn()->retain_hooks.emplace_back(impl().autograd->output_nr, [self](const Tensor& g) -> std::optional<Tensor> {
    if (auto t = self.lock()) {
      auto& meta = t->meta();
      Tensor add = g.detach();
      meta.grad = meta.grad ? (Tensor(meta.grad) + add).impl_shared() : raw::clone(add).impl_shared();
    }
    return std::nullopt;
  });
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  HEED_CHECK(requires_grad(), "backward: tensor does not require grad and has no grad_fn (shape {})", shape());
  Tensor seed = autograd::seed_gradient(*this, gradient, "backward");
  autograd::run_backward({*this}, {seed}, retain_graph || create_graph, create_graph, nullptr, false);
}

Tensor Tensor::detach() const { return raw::alias(*this); }

Tensor& Tensor::copy_(const Tensor& src) {
  HEED_CHECK(!(requires_grad() && autograd::grad_mode_enabled()),
             "copy_: in-place write to a tensor that requires grad (shape {}); wrap it in a NoGradGuard", shape());
  raw::copy_(*this, src);
  return *this;
}

}  // namespace heed
