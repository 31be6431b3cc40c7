#include "tensor/cpu/allocator.h"

#include <bit>
#include <cstdlib>

#include "tensor/error.h"

namespace heed::cpu {

size_t CachingAllocator::size_class(size_t nbytes) {
  if (nbytes <= 64) return 64;
  const size_t step = std::max<size_t>(64, std::bit_ceil(nbytes) / 4);
  return (nbytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t nbytes) {
  const size_t size = size_class(nbytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= size;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, size);
  if (!p) {  // give the cache back and try once more
    empty_cache();
    p = std::aligned_alloc(64, size);
  }
  HEED_CHECK(p != nullptr, "cpu: out of memory allocating {} bytes", nbytes);
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t size = size_class(nbytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + size <= kMaxCachedBytes) {
      free_[size].push_back(ptr);
      cached_ += size;
      return;
    }
  }
  std::free(ptr);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [_, blocks] : free_)
    for (void* p : blocks) std::free(p);
  free_.clear();
  cached_ = 0;
}

size_t CachingAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_;
}

CachingAllocator::~CachingAllocator() { empty_cache(); }

}  // namespace heed::cpu
