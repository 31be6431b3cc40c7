#include <cuda_runtime.h>

#include "cuda/runtime.h"
#include "tensor/error.h"

namespace heed::cuda {

namespace {
cudaError_t query(int* count) {
  *count = 0;
  cudaError_t err = cudaGetDeviceCount(count);
  if (err != cudaSuccess) {
    *count = 0;
    cudaGetLastError();  // clear the sticky error
  }
  return err;
}
}  // namespace

int device_count() {
  int n = 0;
  query(&n);
  return n;
}

std::string unavailable_reason() {
  int n = 0;
  cudaError_t err = query(&n);
  if (err != cudaSuccess) return cudaGetErrorString(err);
  return n == 0 ? "no CUDA device found" : "";
}

std::string device_name(int index) {
  const int n = device_count();
  HEED_CHECK(index >= 0 && index < n, "cuda: device {} does not exist ({} devices)", index, n);
  cudaDeviceProp prop{};
  cudaError_t err = cudaGetDeviceProperties(&prop, index);
  HEED_CHECK(err == cudaSuccess, "cuda: cannot read properties of device {}: {}", index, cudaGetErrorString(err));
  return prop.name;
}

void synchronize(int index) {
  cudaError_t err = cudaSetDevice(index);
  if (err == cudaSuccess) err = cudaDeviceSynchronize();
  HEED_CHECK(err == cudaSuccess, "cuda: synchronize device {}: {}", index, cudaGetErrorString(err));
}

}  // namespace heed::cuda
