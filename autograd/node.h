// The autograd graph: one Node per differentiable op call, linked to the nodes (or leaf
// tensors) that made its inputs. Ops create nodes with make_node() right after computing their
// forward, and give each node a backward closure written with differentiable tensor ops, so
// that backward(create_graph=true) records a graph of its own (higher derivatives).
//
//   Tensor exp(const Tensor& x) {
//     Tensor y = raw::unary(UnaryOp::Exp, x);
//     if (auto node = autograd::make_node("exp", {x}, {y}))
//       node->backward = [y = autograd::SavedTensor(y)](const Grads& g) { return Grads{g[0] * y.unpack()}; };
//     return y;
//   }
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace heed::autograd {

class Node;
using Grads = std::vector<Tensor>;
// Maps the gradients of a node's outputs to the gradients of its inputs (one per input,
// undefined where an input needs none).
using BackwardFn = std::function<Grads(const Grads& grad_outputs)>;
using Hook = std::function<std::optional<Tensor>(const Tensor&)>;

// Where the gradient of one input goes: into output `output_nr` of `node`, or, for a leaf,
// into `leaf`'s .grad. Both null: the input needs no gradient.
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t output_nr = 0;
  std::shared_ptr<TensorImpl> leaf;
  bool active() const { return node || leaf; }
};

struct OutputMeta {
  Shape shape;
  DType dtype;
  Device device;
};

class Node {
 public:
  std::string name;
  std::vector<Edge> inputs;          // one per op input
  std::vector<OutputMeta> outputs;   // to zero-fill gradients of outputs that got none
  std::vector<std::pair<uint32_t, Hook>> output_hooks;  // (output, hook) of non-leaf outputs
  std::vector<std::pair<uint32_t, Hook>> retain_hooks;  // retain_grad: run after the hooks
  BackwardFn backward;               // reset when the graph is freed
  std::string created_at;            // a stack trace, recorded in anomaly mode
  uint64_t sequence = 0;             // creation order
  bool released = false;
  // Scratch space of the backward walk that last visited this node (engine.cpp).
  uint64_t walk_id = 0;
  size_t walk_index = 0;
};

// Keeps a tensor for backward. An op's own output is stored without its autograd link (which
// would be a reference cycle) and re-linked on unpack, so double backward still sees it.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor unpack() const;

 private:
  Tensor data_;
  std::weak_ptr<Node> node_;
  uint32_t output_nr_ = 0;
  bool linked_ = false;
};

// Records a node for an op whose forward produced `outputs` from `inputs`. Returns null (and
// records nothing) when grad mode is off or no input requires grad. In anomaly mode it first
// checks the outputs for NaN/Inf and throws naming the op.
std::shared_ptr<Node> make_node(const char* name, const std::vector<Tensor>& inputs,
                                const std::vector<Tensor>& outputs);

bool needs_grad(const Tensor& t);  // grad mode on and t requires grad

// ---- modes ----
bool grad_mode_enabled();
void set_grad_mode(bool on);
// Turns gradient recording off in a scope: `{ NoGradGuard g; ... }`.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};
class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(grad_mode_enabled()) { set_grad_mode(on); }
  ~GradModeGuard() { set_grad_mode(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

// Anomaly mode: every op's forward and backward is checked for NaN/Inf, and the first op that
// produces one is reported by name, with a stack trace of where it was created.
bool anomaly_mode_enabled();
void set_anomaly_mode(bool on);
class AnomalyModeGuard {
 public:
  explicit AnomalyModeGuard(bool on = true) : prev_(anomaly_mode_enabled()) { set_anomaly_mode(on); }
  ~AnomalyModeGuard() { set_anomaly_mode(prev_); }
  AnomalyModeGuard(const AnomalyModeGuard&) = delete;
  AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

 private:
  bool prev_;
};

// Computes the gradients of `outputs` (seeded with `grad_outputs`, ones where undefined and
// the output has one element) with respect to `inputs`, without touching any .grad. An input
// that the outputs do not depend on gets an undefined tensor, or an error unless allow_unused.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

// The graph behind `root` in Graphviz DOT: one box per op, one ellipse per leaf.
std::string to_dot(const Tensor& root);

}  // namespace heed::autograd

namespace heed {
using autograd::NoGradGuard;
}
