// CUDA device discovery. Safe to call on any machine: without a GPU (or a driver) heed simply
// reports zero devices and CPU work is unaffected.
#pragma once
#include <string>

namespace heed::cuda {
int device_count();               // usable CUDA devices; 0 when there is no GPU or driver
std::string device_name(int index);
std::string unavailable_reason();  // why device_count() is 0, for messages ("" when a GPU is present)
}  // namespace heed::cuda
