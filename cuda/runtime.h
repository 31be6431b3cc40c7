// CUDA device discovery and settings. Safe to call on any machine: without a GPU (or a driver)
// heed simply reports zero devices and CPU work is unaffected.
#pragma once
#include <string>

namespace heed::cuda {
int device_count();               // usable CUDA devices; 0 when there is no GPU or driver
std::string device_name(int index);
std::string unavailable_reason();  // why device_count() is 0, for messages ("" when a GPU is present)
// Waits until every kernel and copy queued on the device has finished (before reading a clock).
void synchronize(int index = 0);

// Whether float32 matmuls may use TF32 tensor cores (10-bit mantissa inputs, float32
// accumulation): faster, less exact. Off by default, as in PyTorch.
bool allow_tf32();
void set_allow_tf32(bool on);
}  // namespace heed::cuda
