// Memory of a device as its caching allocator sees it (tensor/caching_allocator.h), and the
// calls that read and release it: heed::memory_stats(Device::cuda()) is
// torch.cuda.memory_allocated and friends in one struct.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/device.h"

namespace heed {

struct MemoryStats {
  size_t in_use = 0;       // bytes of the size classes handed out and not yet freed
  size_t peak_in_use = 0;  // the most in_use has been since the start (or reset_peak_memory)
  size_t cached = 0;       // bytes kept in the free lists
  uint64_t system_allocations = 0;  // blocks asked of the system (cache misses)
};

MemoryStats memory_stats(Device device = Device::cpu());
void reset_peak_memory(Device device = Device::cpu());
// Returns the device's cached blocks to the system (torch.cuda.empty_cache()).
void empty_cache(Device device = Device::cpu());

// "1.50 GiB", "12.0 MiB", "512 bytes": sizes in messages.
std::string format_bytes(size_t nbytes);

}  // namespace heed
