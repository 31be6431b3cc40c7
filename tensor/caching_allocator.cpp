#include "tensor/caching_allocator.h"

#include <algorithm>
#include <bit>

#include "tensor/error.h"

namespace heed {

std::string format_bytes(size_t nbytes) {
  const double b = static_cast<double>(nbytes);
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
  if (b >= 1024.0) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{} bytes", nbytes);
}

CachingAllocator::CachingAllocator(std::string name, System system, int device, size_t max_cached)
    : name_(std::move(name)), system_(system), device_(device), max_cached_(max_cached) {}

CachingAllocator::~CachingAllocator() { empty_cache(); }

size_t CachingAllocator::size_class(size_t nbytes) {
  if (nbytes <= 64) return 64;
  const size_t step = std::max<size_t>(64, std::bit_ceil(nbytes) / 4);
  return (nbytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t nbytes) {
  const size_t size = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.cached -= size;
  } else {
    p = system_.allocate(size, device_);
    if (!p && stats_.cached > 0) {  // give the cache back and try once more
      const size_t was_cached = stats_.cached;
      release_cached();
      p = system_.allocate(size, device_);
      HEED_CHECK(p != nullptr,
                 "{}: out of memory allocating {} ({} in use by tensors; the {} cache was emptied and the "
                 "allocation retried)",
                 name_, format_bytes(nbytes), format_bytes(stats_.in_use), format_bytes(was_cached));
    }
    HEED_CHECK(p != nullptr, "{}: out of memory allocating {} ({} in use by tensors, nothing cached)", name_,
               format_bytes(nbytes), format_bytes(stats_.in_use));
    ++stats_.system_allocations;
  }
  stats_.in_use += size;
  stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t size = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.in_use -= size;
  if (stats_.cached + size <= max_cached_) {
    free_[size].push_back(ptr);
    stats_.cached += size;
    return;
  }
  system_.free(ptr, device_);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached();
}

void CachingAllocator::release_cached() {
  for (auto& [_, blocks] : free_)
    for (void* p : blocks) system_.free(p, device_);
  free_.clear();
  stats_.cached = 0;
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_in_use = stats_.in_use;
}

}  // namespace heed
