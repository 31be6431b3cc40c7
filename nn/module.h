// nn::Module: the base of every layer. A module registers its parameters, buffers and
// submodules by name in its constructor; everything else (recursive parameter lists,
// train/eval, dtype and device moves, state dicts, checkpoints, the summary) works from that
// one registry.
//
//   struct MLP : nn::Module {
//     std::shared_ptr<nn::Linear> fc1, fc2;
//     MLP() : Module("MLP") {
//       fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 16));
//       fc2 = register_module("fc2", std::make_shared<nn::Linear>(16, 2));
//     }
//     Tensor forward(const Tensor& x) override { return fc2->forward(relu(fc1->forward(x))); }
//   };
//
// Parameters are held as Tensor handles: a module's member and its registry entry share one
// TensorImpl, so moving a module (to(dtype), load_state_dict) changes the data in place and
// every holder (an optimizer, say) sees it.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "tensor/tensor.h"

namespace heed::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The forward of modules that map one tensor to one. Modules with other signatures (LSTM,
  // MultiHeadAttention) leave this unimplemented and offer their own forward.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x);  // forward, recorded for summary()

  // ---- the registry ----
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;  // "encoder.layers.0.linear1.weight"
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  int64_t num_parameters() const;

  // ---- modes and moves ----
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void to(DType dtype);    // floating parameters and buffers only
  void to(Device device);
  void zero_grad();

  // ---- state ----
  NamedTensors state_dict() const;  // parameters then buffers, by full name
  // Copies values in (shapes and dtypes must match). strict: every key present, none extra.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  void save(const std::string& path) const;  // safetensors, atomic
  void load(const std::string& path, bool strict = true);

  // A table of layers: name, type, output shape (from the last call), parameter count.
  std::string summary() const;
  const std::string& type_name() const { return type_name_; }
  virtual std::string extra_repr() const { return ""; }  // e.g. "in=4, out=16, bias=true"

 protected:
  // Both return the registered handle (a copy sharing the TensorImpl, safe to keep).
  Tensor register_parameter(const std::string& name, Tensor t);  // made a leaf requiring grad
  Tensor register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;
  void summary_rows(const std::string& prefix, int depth, std::vector<std::vector<std::string>>& rows) const;

  std::string type_name_;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  Shape last_output_shape_;
  bool has_run_ = false;
};

// Replaces the data behind `dst` (all holders see it) with `src`'s, keeping dst's autograd
// identity. Used by to(), load_state_dict() and optimizers that swap buffers.
void set_data(const Tensor& dst, const Tensor& src);

}  // namespace heed::nn
