// The host emulator of the CUDA backend: registers, as the cuda device, the backend that runs
// the GPU's kernel bodies (cuda/kernels.h) one index at a time on the CPU, with host memory
// standing in for device memory. Everything between a Tensor and a kernel (argument packing,
// layouts, the row- to column-major GEMM mapping, every op and layer on the cuda device) is then
// tested on machines without a GPU; what it cannot show is how the CUDA runtime, cuBLAS and the
// hardware behave (tests/cuda/test_cuda.cpp, on a GPU, does). Slow: for tests and teaching.
// An allocation larger than 16 GiB fails on an emulated device, as on a GPU of that size.
#pragma once

namespace heed::cuda {

// Makes Device::cuda(0 … devices − 1) the emulator, in place of any real GPU backend.
void use_host_emulator(int devices = 1);

}  // namespace heed::cuda
