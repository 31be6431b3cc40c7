// A caching allocator, one per device: freed blocks are kept in free lists by size class and
// handed out again, so a training loop that allocates the same shapes every step stops paying
// for the system's allocator (malloc and page faults on the CPU, cudaMalloc's synchronisation
// on a GPU). Size classes are a quarter of the next power of two apart (under 50% slack just
// above a power of two, under 25% just below the next). When the system refuses, the cache is
// emptied and the allocation tried once more before the error, which names the size asked for
// and what was in use and cached.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tensor/memory.h"

namespace heed {

class CachingAllocator {
 public:
  // The system's allocator: returns null when it has no memory; `device` is passed through.
  struct System {
    void* (*allocate)(size_t nbytes, int device);
    void (*free)(void* ptr, int device);
  };

  // `name` names the device in errors ("cpu", "cuda:0"); at most max_cached bytes stay cached.
  CachingAllocator(std::string name, System system, int device, size_t max_cached);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t nbytes);
  void deallocate(void* ptr, size_t nbytes);  // nbytes as allocated
  void empty_cache();
  MemoryStats stats() const;
  void reset_peak();

  static size_t size_class(size_t nbytes);

 private:
  void release_cached();  // every cached block back to the system; the caller holds mutex_

  std::string name_;
  System system_;
  int device_;
  size_t max_cached_;
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> blocks
  MemoryStats stats_;
};

}  // namespace heed
