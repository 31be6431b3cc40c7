// Storage: one block of bytes on one device, shared by every tensor that views it.
#pragma once
#include <cstddef>
#include <memory>

#include "tensor/device.h"

namespace heed {

class Storage {
 public:
  // Allocates `nbytes` on `device` through that device's backend allocator.
  Storage(size_t nbytes, Device device);
  // Wraps memory owned elsewhere; `deleter` (may be null: nothing to free) runs when the storage dies.
  Storage(void* data, size_t nbytes, Device device, void (*deleter)(void*, Device));
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  void (*deleter_)(void*, Device) = nullptr;
  bool owned_ = false;  // allocated by the backend, so freed by it
};

}  // namespace heed
