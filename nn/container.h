// Containers of modules.
//   Sequential: runs its modules one after another, each output feeding the next
//               (torch.nn.Sequential). forward of an empty Sequential returns its input.
//   ModuleList: holds modules for a parent that calls them itself (torch.nn.ModuleList); it has
//               no forward of its own.
// Both name their modules "0", "1", … in insertion order, so parameters read "0.weight",
// "layers.2.bias", exactly as in a PyTorch state dict.
//
//   auto mlp = std::make_shared<nn::Sequential>();
//   mlp->push_back(std::make_shared<nn::Linear>(4, 16));
//   mlp->push_back(std::make_shared<nn::ReLU>());
//   mlp->push_back(std::make_shared<nn::Linear>(16, 2));
//   Tensor y = (*mlp)(x);  // (B, 4) -> (B, 2)
#pragma once
#include <initializer_list>
#include <memory>
#include <vector>

#include "nn/module.h"

namespace heed::nn {

using ModulePtr = std::shared_ptr<Module>;

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<ModulePtr> modules);
  void push_back(ModulePtr m);  // registered as "<size()>"
  // Each module's operator(), in order (so summary() shows every layer's output shape).
  Tensor forward(const Tensor& x) override;

  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  const ModulePtr& operator[](size_t i) const;  // range-checked
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<ModulePtr> modules_;
};

class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  ModuleList(std::initializer_list<ModulePtr> modules);
  void push_back(ModulePtr m);  // registered as "<size()>"

  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  const ModulePtr& operator[](size_t i) const;  // range-checked
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<ModulePtr> modules_;
};

}  // namespace heed::nn
