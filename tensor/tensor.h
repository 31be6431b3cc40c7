// Tensor: a view (shape, strides, offset, dtype) onto a shared Storage, plus the autograd
// fields that autograd/ reads and writes. A Tensor is a cheap handle: copies share the same
// TensorImpl, so `Tensor b = a;` aliases `a` (as in PyTorch).
//
// What lives where:
//   tensor/   the data: this class, storage, creation, the Backend primitives, and raw ops (ops.h)
//             that compute without recording a graph.
//   autograd/ every differentiable op (the methods below marked [autograd] are defined there,
//             in autograd/ops/*.cpp), the engine, gradcheck.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace heed {

namespace autograd {
class Node;
}
class Tensor;
struct TensorImpl;

// Autograd state of one tensor. Plain tensors carry none (the pointer stays null).
struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;                 // accumulated .grad (leaves, or retain_grad)
  std::shared_ptr<autograd::Node> grad_fn;          // the node that made this tensor; null for leaves
  uint32_t output_nr = 0;                           // which output of grad_fn this tensor is
  bool retains_grad = false;
  std::vector<std::function<std::optional<Tensor>(const Tensor&)>> hooks;  // leaf hooks
  std::vector<std::function<void(const Tensor&)>> post_accumulate_hooks;  // leaf: .grad final for a backward
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;
  std::unique_ptr<AutogradMeta> autograd;

  AutogradMeta& meta() {
    if (!autograd) autograd = std::make_unique<AutogradMeta>();
    return *autograd;
  }
};

class Tensor {
 public:
  Tensor() = default;  // undefined: holds no data
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  int64_t offset() const { return impl().offset; }
  int64_t numel() const { return numel_of(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  TensorImpl* impl_ptr() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_shared() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // Pointer to the first element of this view (CPU tensors only for dereferencing).
  void* raw_data() const;
  template <typename T> T* data_ptr() const {
    HEED_CHECK(dtype_v<T> == dtype(), "data_ptr: tensor is {}, asked for {}", dtype(), dtype_v<T>);
    HEED_CHECK(device().is_cpu(), "data_ptr: the tensor is on {}; copy it to the CPU first (.to(Device::cpu()))",
               device());
    return static_cast<T*>(raw_data());
  }

  // ---- values out ----
  double item() const;  // the single value of a one-element tensor
  template <typename T> T item() const { return static_cast<T>(item()); }
  template <typename T> std::vector<T> to_vector() const;  // row-major copy, converted to T

  // ---- autograd state [autograd: defined in autograd/engine.cpp] ----
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  Tensor grad() const;                       // undefined until backward fills it
  void set_grad(const Tensor& g);
  void zero_grad();                          // drops .grad
  bool is_leaf() const;
  std::shared_ptr<autograd::Node> grad_fn() const;
  void retain_grad();
  // Runs backward from this tensor. `gradient` is required unless the tensor has one element.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  // The hook sees the gradient flowing into this tensor and may return a replacement.
  void register_hook(std::function<std::optional<Tensor>(const Tensor&)> hook);
  // Leaves only: the hook runs once per backward(), as soon as every gradient that backward
  // sends to this tensor has been added to .grad; it receives the tensor (read .grad()).
  // DistributedDataParallel starts its all-reduce from here while backward goes on.
  void register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook);
  Tensor detach() const;  // same data, no graph
  // Writes src (broadcast, dtype converted) into this tensor's memory. Refused on a tensor that
  // requires grad while grad mode is on (that would corrupt the graph): use a NoGradGuard.
  Tensor& copy_(const Tensor& src);

  // ---- views [autograd] ----
  Tensor view(const Shape& shape) const;     // no copy; errors when strides do not allow it
  Tensor reshape(const Shape& shape) const;  // view when possible, else a copy
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;  // -1 keeps a size
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor contiguous() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor clone() const;

  // ---- elementwise [autograd] ----
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor abs() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor pow(double exponent) const;
  Tensor clamp(std::optional<double> lo, std::optional<double> hi) const;

  // ---- reductions [autograd]; empty dims = all dims ----
  Tensor sum(const Shape& dims = {}, bool keepdim = false) const;
  Tensor mean(const Shape& dims = {}, bool keepdim = false) const;
  Tensor var(const Shape& dims = {}, int64_t correction = 1, bool keepdim = false) const;
  Tensor max(const Shape& dims = {}, bool keepdim = false) const;
  Tensor min(const Shape& dims = {}, bool keepdim = false) const;
  Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor argmin(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;
  Tensor matmul(const Tensor& other) const;

 private:
  TensorImpl& impl() const {
    HEED_CHECK(impl_ != nullptr, "tensor: use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

// ---- creation (tensor/creation.cpp); all on `device`, default float32 on the CPU ----
struct Options {
  DType dtype = DType::Float32;
  Device device = Device::cpu();
  bool requires_grad = false;
};
Tensor empty(const Shape& shape, Options o = {});
Tensor zeros(const Shape& shape, Options o = {});
Tensor ones(const Shape& shape, Options o = {});
Tensor full(const Shape& shape, double value, Options o = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);  // same shape, dtype, device; contiguous
Tensor scalar_tensor(double value, Options o = {});  // 0-d
Tensor arange(double start, double end, double step = 1, Options o = {DType::Int64});
Tensor arange(double end, Options o = {DType::Int64});
Tensor linspace(double start, double end, int64_t steps, Options o = {});
Tensor eye(int64_t n, Options o = {});
// From values (row-major); shape defaults to 1-D of the values' length.
Tensor from_vector(const std::vector<double>& values, const Shape& shape = {}, Options o = {});
Tensor from_vector(const std::vector<float>& values, const Shape& shape = {}, Options o = {});
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape = {}, Options o = {DType::Int64});
Tensor tensor(std::initializer_list<double> values, Options o = {});
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Options o = {});

}  // namespace heed
