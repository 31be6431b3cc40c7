#include "cuda/emulator.h"

#include <barrier>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
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

// A block body's view of its block on the host: its threads are host threads, and sync() a
// barrier between them.
template <class Shared>
struct HostBlock {
  int64_t block;
  int thread;
  Shared& shared;
  std::barrier<>& barrier;
  void sync() const { barrier.arrive_and_wait(); }
};

// Runs body(i) for every i in order, as a GPU would run one thread per index. A block body
// runs with as many host threads as its block has, all of them through every block in turn,
// so that its syncs really wait for each other.
struct HostExec {
  template <class Body>
  static void launch(int64_t n, const Body& body) {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
  template <class Body>
  static void launch_blocks(int64_t blocks, const Body& body) {
    if (blocks <= 0) return;
    using Shared = typename Body::Shared;
    auto shared = std::make_unique<Shared>();
    std::barrier<> barrier(Body::kThreads);
    std::vector<std::thread> threads;
    threads.reserve(Body::kThreads);
    for (int t = 0; t < Body::kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int64_t b = 0; b < blocks; ++b) {
          HostBlock<Shared> ctx{b, t, *shared, barrier};
          body(ctx);
          barrier.arrive_and_wait();  // the next block reuses the shared memory
        }
      });
    for (std::thread& thread : threads) thread.join();
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
