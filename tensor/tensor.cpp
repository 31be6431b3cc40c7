// Storage, the backend registry, and Tensor's metadata methods.
#include "tensor/tensor.h"

#include <array>
#include <cstring>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace heed {

// ---- backend registry ----
namespace cpu {
Backend& cpu_backend();  // tensor/cpu/cpu_backend.cpp
}
namespace {
// Indexed by Device::Kind. The CPU is always there; cuda/ registers itself when linked.
std::array<Backend*, 2>& backends() {
  static std::array<Backend*, 2> table{&cpu::cpu_backend(), nullptr};
  return table;
}
}  // namespace

void register_backend(Device::Kind kind, Backend* backend) { backends()[static_cast<size_t>(kind)] = backend; }
bool has_backend(Device::Kind kind) { return backends()[static_cast<size_t>(kind)] != nullptr; }
Backend& backend_for(Device device) {
  Backend* b = backends()[static_cast<size_t>(device.kind)];
  HEED_CHECK(b != nullptr, "device {}: heed was built without this backend, or no such device is usable", device);
  return *b;
}

MemoryStats memory_stats(Device device) { return backend_for(device).memory_stats(device.index); }
void reset_peak_memory(Device device) { backend_for(device).reset_peak_memory(device.index); }
void empty_cache(Device device) { backend_for(device).empty_cache(device.index); }

// Fused kernels a backend does not provide (has_fused(kernel) false): callers never reach these.
void Backend::layer_norm_forward(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&, const Tensor&,
                                 const Tensor&) {
  HEED_FAIL("layer_norm: backend {} has no fused kernel", name());
}
void Backend::layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const Tensor&, const Tensor&, const Tensor&) {
  HEED_FAIL("layer_norm: backend {} has no fused kernel", name());
}
void Backend::lstm_cell_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  HEED_FAIL("lstm_step: backend {} has no fused kernel", name());
}
void Backend::lstm_cell_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                 const Tensor&, const Tensor&) {
  HEED_FAIL("lstm_step: backend {} has no fused kernel", name());
}
void Backend::attention_forward(const AttentionArgs&, const Tensor&, const Tensor&) {
  HEED_FAIL("scaled_dot_product_attention: backend {} has no fused kernel", name());
}
void Backend::adam_step(const fn::AdamUpdate&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                        const Tensor&) {
  HEED_FAIL("adam_step: backend {} has no fused kernel", name());
}
void Backend::flash_attention_forward(const AttentionArgs&, const Tensor&, const Tensor&) {
  HEED_FAIL("scaled_dot_product_attention: backend {} has no flash attention kernel", name());
}
void Backend::flash_attention_backward(const AttentionArgs&, const Tensor&, const Tensor&, const Tensor&,
                                       const Tensor&, const Tensor&, const Tensor&) {
  HEED_FAIL("scaled_dot_product_attention: backend {} has no flash attention kernel", name());
}
void Backend::attention_backward(const AttentionArgs&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                 const Tensor&, const Tensor&) {
  HEED_FAIL("scaled_dot_product_attention: backend {} has no fused kernel", name());
}

// ---- storage ----
Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device), owned_(true) {
  data_ = backend_for(device).allocate(nbytes, device.index);
}
Storage::Storage(void* data, size_t nbytes, Device device, void (*deleter)(void*, Device))
    : data_(data), nbytes_(nbytes), device_(device), deleter_(deleter) {}
Storage::~Storage() {
  if (deleter_) deleter_(data_, device_);
  else if (owned_ && data_) backend_for(device_).deallocate(data_, nbytes_, device_.index);
}

// ---- tensor metadata ----
// Here, not in autograd/, so heed_tensor links on its own.
Tensor& Tensor::requires_grad_(bool on) {
  auto& t = impl();
  HEED_CHECK(!(t.autograd && t.autograd->grad_fn) || on,
             "requires_grad_: can only turn gradients off on leaf tensors; use detach() instead");
  HEED_CHECK(!on || is_floating(t.dtype), "requires_grad_: only floating tensors can require gradients, got {}",
             t.dtype);
  t.meta().requires_grad = on;
  return *this;
}

int64_t Tensor::size(int64_t d) const { return impl().shape[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return impl().strides[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  const auto& t = impl();
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] == 1) continue;
    if (t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const auto& t = impl();
  return static_cast<char*>(t.storage->data()) + t.offset * static_cast<int64_t>(dtype_size(t.dtype));
}

double Tensor::item() const {
  HEED_CHECK(numel() == 1, "item: expected a tensor with one element, got shape {}", shape());
  Tensor c = raw::to_device(*this, Device::cpu());
  return dispatch(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(*static_cast<const T*>(c.raw_data()));
  });
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = raw::to_device(*this, Device::cpu());
  auto impl = std::make_shared<TensorImpl>();
  std::vector<T> out(static_cast<size_t>(c.numel()));
  impl->storage = std::make_shared<Storage>(out.data(), out.size() * sizeof(T), Device::cpu(), nullptr);
  impl->shape = c.shape();
  impl->strides = contiguous_strides(c.shape());
  impl->dtype = dtype_v<T>;
  backend_for(Device::cpu()).copy(c, Tensor(std::move(impl)));
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

}  // namespace heed
