// CUDA tests on a real GPU: discovery and TF32 here, and every case of device_cases.cpp (CPU
// against the GPU). Without a usable GPU the whole executable exits with code 77, which CTest
// reports as "Skipped" (never as passed), and says why.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "../helpers.h"
#include "cuda/runtime.h"
#include "tensor/random.h"

using namespace heed;

TEST_CASE("cuda: a CUDA device is visible and named") {
  REQUIRE(cuda::device_count() > 0);
  CHECK_FALSE(cuda::device_name(0).empty());
  CHECK(cuda::unavailable_reason().empty());
}

TEST_CASE("cuda: TF32 matmuls are close to float32 ones, and off by default") {
  CHECK_FALSE(cuda::allow_tf32());
  manual_seed(1);
  Tensor a = randn({256, 512}, {DType::Float32, Device::cuda()});
  Tensor b = randn({512, 128}, {DType::Float32, Device::cuda()});
  Tensor exact = matmul(a, b);
  cuda::set_allow_tf32(true);
  Tensor fast = matmul(a, b);
  cuda::set_allow_tf32(false);
  CHECK_CLOSE(fast, exact, 0.5, 1e-2);  // TF32 keeps 10 mantissa bits of each input
  CHECK_CLOSE(matmul(a.to(Device::cpu()), b.to(Device::cpu())), exact, 1e-3, 1e-4);
}

int main(int argc, char** argv) {
  if (cuda::device_count() == 0) {
    fmt::print("SKIPPED: CUDA tests need a GPU ({})\n", cuda::unavailable_reason());
    return 77;
  }
  fmt::print("CUDA device 0: {}\n", cuda::device_name(0));
  doctest::Context context(argc, argv);
  return context.run();
}
