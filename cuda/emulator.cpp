#include "cuda/emulator.h"

#include <ucontext.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEED_HAS_ASAN_FEATURE 1
#endif
#endif
#ifndef HEED_HAS_ASAN_FEATURE
#define HEED_HAS_ASAN_FEATURE 0
#endif
#if defined(__SANITIZE_ADDRESS__) || HEED_HAS_ASAN_FEATURE
#include <sanitizer/common_interface_defs.h>
#endif

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

// A fiber's saved execution context, and the switch between two: on x86-64 a few registers
// and the stack pointer (no system call, unlike swapcontext, which saves the signal mask each
// time and made block bodies 10x slower); elsewhere ucontext.
#if defined(__x86_64__)
extern "C" void heed_emulator_switch(void** save_sp, void* load_sp);
// Pushes the callee-saved registers, saves the stack pointer in *save_sp (rdi), loads load_sp
// (rsi), pops that context's registers and returns into it.
asm(R"(
  .text
  .local heed_emulator_switch
  .type heed_emulator_switch, @function
heed_emulator_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size heed_emulator_switch, .-heed_emulator_switch
)");
struct FiberContext {
  void* sp = nullptr;
  // A context that starts entry() on the stack [stack, stack + size) at the next switch to it.
  void start(char* stack, size_t size, void (*entry)()) {
    auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t{15};
    auto* slot = reinterpret_cast<void**>(top);
    *--slot = nullptr;                            // entry's return address: it never returns
    *--slot = reinterpret_cast<void*>(entry);     // where the switch's ret goes
    for (int r = 0; r < 6; ++r) *--slot = nullptr;  // rbp, rbx, r12-r15
    sp = slot;
  }
  static void swap(FiberContext& from, FiberContext& to) { heed_emulator_switch(&from.sp, to.sp); }
};
#else
struct FiberContext {
  ucontext_t context{};
  void start(char* stack, size_t size, void (*entry)()) {
    getcontext(&context);
    context.uc_stack.ss_sp = stack;
    context.uc_stack.ss_size = size;
    context.uc_link = nullptr;  // entry never returns
    makecontext(&context, entry, 0);
  }
  static void swap(FiberContext& from, FiberContext& to) { swapcontext(&from.context, &to.context); }
};
#endif

// The threads of one thread block as fibers on the calling host thread. Each runs until it
// reaches sync() or ends, then the next one runs; a round ends when every thread has, so no
// thread passes a sync before all have reached it, as with __syncthreads. The order is the same
// on every run.
class BlockFibers {
 public:
  // Runs fn(thread) for thread in [0, threads) until all return.
  template <class Fn>
  void run(int threads, Fn& fn) {
    fn_ = &fn;
    invoke_ = [](void* f, int thread) { (*static_cast<Fn*>(f))(thread); };
    while (fibers_.size() < size_t(threads)) fibers_.push_back(std::make_unique<Fiber>());
    for (int t = 0; t < threads; ++t) {
      Fiber& f = *fibers_[size_t(t)];
      f.context.start(f.stack.get(), kStackBytes, &BlockFibers::entry);
      f.state = State::Ready;
    }
    BlockFibers* const outer = current_;
    current_ = this;
    for (;;) {
      int done = 0;
      for (int t = 0; t < threads; ++t) {
        if (fibers_[size_t(t)]->state != State::Ready) continue;
        running_ = t;
        enter(*fibers_[size_t(t)]);
      }
      for (int t = 0; t < threads; ++t) done += fibers_[size_t(t)]->state == State::Done;
      if (done == threads) break;
      if (done > 0) {
        current_ = outer;
        HEED_FAIL("cuda emulator: {} of a block's {} threads ended while the others wait at a sync (every "
                  "thread of a block must reach every __syncthreads)", done, threads);
      }
      for (int t = 0; t < threads; ++t) fibers_[size_t(t)]->state = State::Ready;
    }
    current_ = outer;
  }

  // From inside a fiber: waits for the block's other threads.
  static void sync() {
    BlockFibers& self = *current_;
    Fiber& f = *self.fibers_[size_t(self.running_)];
    f.state = State::AtSync;
    start_switch(&f.fake_stack, self.main_bottom_, self.main_size_);
    FiberContext::swap(f.context, self.main_);
    finish_switch(f.fake_stack, &self.main_bottom_, &self.main_size_);
  }

 private:
  static constexpr size_t kStackBytes = size_t{256} << 10;
  enum class State { Ready, AtSync, Done };
  struct Fiber {
    FiberContext context;
    std::unique_ptr<char[]> stack{new char[kStackBytes]};
    State state = State::Ready;
    void* fake_stack = nullptr;
  };

  void enter(Fiber& f) {
    start_switch(&main_fake_stack_, f.stack.get(), kStackBytes);
    FiberContext::swap(main_, f.context);
    finish_switch(main_fake_stack_, nullptr, nullptr);
  }
  [[noreturn]] static void entry() {
    BlockFibers& self = *current_;
    finish_switch(nullptr, &self.main_bottom_, &self.main_size_);
    const int thread = self.running_;
    self.invoke_(self.fn_, thread);
    Fiber& f = *self.fibers_[size_t(thread)];
    f.state = State::Done;
    start_switch(nullptr, self.main_bottom_, self.main_size_);  // this fiber's stack is done with
    FiberContext::swap(f.context, self.main_);
    std::abort();  // never resumed
  }

  // AddressSanitizer must be told of each switch between stacks.
#if defined(__SANITIZE_ADDRESS__) || HEED_HAS_ASAN_FEATURE
  static void start_switch(void** fake, const void* bottom, size_t size) {
    __sanitizer_start_switch_fiber(fake, bottom, size);
  }
  static void finish_switch(void* fake, const void** bottom, size_t* size) {
    __sanitizer_finish_switch_fiber(fake, bottom, size);
  }
#else
  static void start_switch(void**, const void*, size_t) {}
  static void finish_switch(void*, const void**, size_t*) {}
#endif

  static thread_local BlockFibers* current_;
  std::vector<std::unique_ptr<Fiber>> fibers_;
  FiberContext main_;
  void* main_fake_stack_ = nullptr;
  const void* main_bottom_ = nullptr;
  size_t main_size_ = 0;
  int running_ = 0;
  void* fn_ = nullptr;
  void (*invoke_)(void*, int) = nullptr;
};
thread_local BlockFibers* BlockFibers::current_ = nullptr;

// One set of fibers (and their stacks) per host thread, for every block body.
BlockFibers& host_fibers() {
  thread_local BlockFibers fibers;
  return fibers;
}

// A block body's view of its block on the host: its threads are fibers, and sync() waits for
// all of them.
template <class Shared>
struct HostBlock {
  int64_t block;
  int thread;
  Shared& shared;
  void sync() const { BlockFibers::sync(); }
};

// Runs body(i) for every i in order, as a GPU would run one thread per index; a block body
// block after block, each block's threads as fibers.
struct HostExec {
  template <class Body>
  static void launch(int64_t n, const Body& body) {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
  template <class Body>
  static void launch_blocks(int64_t blocks, const Body& body) {
    using Shared = typename Body::Shared;
    BlockFibers& fibers = host_fibers();
    auto shared = std::make_unique<Shared>();
    for (int64_t b = 0; b < blocks; ++b) {
      auto thread = [&](int t) {
        HostBlock<Shared> ctx{b, t, *shared};
        body(ctx);
      };
      fibers.run(Body::kThreads, thread);
    }
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
