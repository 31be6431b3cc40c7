#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "tensor/caching_allocator.h"
#include "tensor/error.h"
#include "tensor/memory.h"
#include "tensor/tensor.h"

using namespace heed;

namespace {
// A system allocator with a budget, to run the allocator out of memory on purpose.
size_t budget = 0, held = 0;
std::map<void*, size_t> blocks;
void* limited_alloc(size_t n, int) {
  if (held + n > budget) return nullptr;
  held += n;
  void* p = std::malloc(n);
  blocks[p] = n;
  return p;
}
void limited_free(void* p, int) {
  held -= blocks.at(p);
  blocks.erase(p);
  std::free(p);
}
}  // namespace

TEST_CASE("caching allocator: size classes step by a quarter of the next power of two") {
  CHECK(CachingAllocator::size_class(1) == 64);
  CHECK(CachingAllocator::size_class(4096) == 4096);
  CHECK(CachingAllocator::size_class(4097) == 6144);  // steps of 8192 / 4
  CHECK(CachingAllocator::size_class(7000) == 8192);
  for (size_t n : {size_t{100}, size_t{1000}, size_t{12345}, size_t{1} << 20, (size_t{1} << 20) + 1}) {
    CHECK(CachingAllocator::size_class(n) >= n);
    CHECK(CachingAllocator::size_class(n) < n + n / 2 + 64);
  }
}

TEST_CASE("caching allocator: counts, reuses, caps the cache and empties it") {
  budget = 1 << 20;
  held = 0;
  CachingAllocator a("test", {limited_alloc, limited_free}, 0, 8192);
  void* p = a.allocate(4096);
  void* q = a.allocate(4096);
  CHECK(a.stats().in_use == 8192);
  CHECK(a.stats().system_allocations == 2);
  a.deallocate(p, 4096);
  CHECK(a.stats().cached == 4096);
  void* r = a.allocate(4000);  // same size class: the cached block comes back
  CHECK(r == p);
  CHECK(a.stats().system_allocations == 2);
  CHECK(a.stats().peak_in_use == 8192);
  a.deallocate(q, 4096);
  a.deallocate(r, 4096);
  CHECK(a.stats().cached == 8192);
  void* s = a.allocate(4096);
  void* t = a.allocate(4096);
  void* u = a.allocate(4096);
  a.deallocate(s, 4096);
  a.deallocate(t, 4096);
  a.deallocate(u, 4096);  // over the 8 KiB cap: returned to the system
  CHECK(a.stats().cached == 8192);
  CHECK(held == 8192);
  a.empty_cache();
  CHECK(a.stats().cached == 0);
  CHECK(held == 0);
  a.reset_peak();
  CHECK(a.stats().peak_in_use == 0);
}

TEST_CASE("caching allocator: out of memory empties the cache, retries, then names the sizes") {
  budget = 3 * 4096;
  held = 0;
  CachingAllocator a("test:0", {limited_alloc, limited_free}, 0, 1 << 20);
  void* p = a.allocate(4096);
  void* q = a.allocate(4096);
  void* r = a.allocate(4096);
  a.deallocate(q, 4096);
  a.deallocate(r, 4096);
  // A larger block fits only once the two cached ones go back to the system.
  void* big = a.allocate(8192);
  CHECK(big != nullptr);
  CHECK(a.stats().cached == 0);
  try {
    a.allocate(4096);
    FAIL("the budget was exceeded");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "test:0: out of memory allocating 4.0 KiB (12.0 KiB in use by tensors, nothing cached)");
  }
  a.deallocate(p, 4096);
  a.deallocate(big, 8192);
  a.empty_cache();
  CHECK(held == 0);
}

TEST_CASE("memory_stats: the CPU's allocator sees tensors come and go") {
  const MemoryStats before = memory_stats();
  {
    Tensor t = empty({1 << 18});  // 1 MiB of float32
    CHECK(memory_stats().in_use >= before.in_use + (1 << 20));
  }
  CHECK(memory_stats().in_use == before.in_use);
  empty_cache();
  CHECK(memory_stats().cached == 0);
}
