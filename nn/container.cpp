// Sequential and ModuleList (see container.h).
#include "nn/container.h"

#include <string>

namespace heed::nn {

Sequential::Sequential(std::initializer_list<ModulePtr> modules) : Sequential() {
  for (const ModulePtr& m : modules) push_back(m);
}

void Sequential::push_back(ModulePtr m) {
  HEED_CHECK(m != nullptr, "Sequential: push_back of a null module at index {}", modules_.size());
  modules_.push_back(register_module(std::to_string(modules_.size()), std::move(m)));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const ModulePtr& m : modules_) y = (*m)(y);
  return y;
}

const ModulePtr& Sequential::operator[](size_t i) const {
  HEED_CHECK(i < modules_.size(), "Sequential: index {} out of range for {} modules", i, modules_.size());
  return modules_[i];
}

ModuleList::ModuleList(std::initializer_list<ModulePtr> modules) : ModuleList() {
  for (const ModulePtr& m : modules) push_back(m);
}

void ModuleList::push_back(ModulePtr m) {
  HEED_CHECK(m != nullptr, "ModuleList: push_back of a null module at index {}", modules_.size());
  modules_.push_back(register_module(std::to_string(modules_.size()), std::move(m)));
}

const ModulePtr& ModuleList::operator[](size_t i) const {
  HEED_CHECK(i < modules_.size(), "ModuleList: index {} out of range for {} modules", i, modules_.size());
  return modules_[i];
}

}  // namespace heed::nn
