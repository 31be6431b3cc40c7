#include "cuda/emulator.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "cuda/device_backend.h"
#include "cuda/kernels.h"

namespace heed::cuda {
namespace {

// A block of "device memory": 256-byte aligned as cudaMalloc's; a request larger than the
// emulated device's memory fails, as it would on a GPU (and before the host's allocator sees it).
constexpr size_t kEmulatedMemory = size_t{16} << 30;
void* emulated_malloc(size_t nbytes, int) {
  if (nbytes > kEmulatedMemory) return nullptr;
  return std::aligned_alloc(256, (nbytes + 255) / 256 * 256);
}

// Runs body(i) for every i in order, as a GPU would run one thread per index.
struct HostExec {
  template <class Body>
  static void launch(int64_t n, const Body& body) {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
};

class HostLauncher final : public kernels::KernelLauncher<HostExec> {
 public:
  explicit HostLauncher(int devices) {
    for (int d = 0; d < devices; ++d)
      memory_.push_back(std::make_unique<CachingAllocator>(
          fmt::format("cuda:{} (host emulator)", d),
          CachingAllocator::System{emulated_malloc, [](void* p, int) { std::free(p); }},
          d, size_t{1} << 30));
  }
  const char* name() const override { return "cuda (host emulator)"; }
  int device_count() const override { return static_cast<int>(memory_.size()); }
  void* allocate(size_t nbytes, int device) override { return memory_[device]->allocate(nbytes); }
  void deallocate(void* p, size_t nbytes, int device) override { memory_[device]->deallocate(p, nbytes); }
  void empty_cache(int device) override { memory_[device]->empty_cache(); }
  MemoryStats memory_stats(int device) const override { return memory_[device]->stats(); }
  void reset_peak_memory(int device) override { memory_[device]->reset_peak(); }
  void copy_from_host(void* dst, const void* src, size_t nbytes) override { std::memcpy(dst, src, nbytes); }
  void copy_to_host(void* dst, const void* src, size_t nbytes) override { std::memcpy(dst, src, nbytes); }
  void set_device(int) override {}
  void gemm(const kernels::GemmArgs& a) override { reference_gemm(a); }

 private:
  std::vector<std::unique_ptr<CachingAllocator>> memory_;
};

}  // namespace

void use_host_emulator(int devices) {
  HEED_CHECK(devices >= 1, "use_host_emulator: expected at least one device, got {}", devices);
  // Never destroyed, like every backend: tensors may outlive main.
  register_device_backend(*new HostLauncher(devices));
}

}  // namespace heed::cuda
