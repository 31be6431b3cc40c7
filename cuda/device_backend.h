// The Backend of a device that runs kernels (cuda/kernels.h): it turns the tensors of each
// primitive into plain arguments (pointers, layouts, GEMM parameters) and hands them to a
// Launcher, which is the GPU (cuda/backend.cu) or the host emulator (cuda/emulator.h).
#pragma once
#include "cuda/launcher.h"

namespace heed::cuda {

// Registers, as the cuda device's backend, one that runs on `launcher`. The backend lives as
// long as the program (tensors in static storage may free memory after main returns); so must
// the launcher.
void register_device_backend(kernels::Launcher& launcher);

}  // namespace heed::cuda
