// CUDA tests. Without a usable GPU the whole executable exits with code 77, which CTest reports
// as "Skipped" (never as passed), and says why.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cuda/runtime.h"

TEST_CASE("a CUDA device is visible and named") {
  REQUIRE(heed::cuda::device_count() > 0);
  CHECK_FALSE(heed::cuda::device_name(0).empty());
  CHECK(heed::cuda::unavailable_reason().empty());
}

int main(int argc, char** argv) {
  if (heed::cuda::device_count() == 0) {
    fmt::print("SKIPPED: CUDA tests need a GPU ({})\n", heed::cuda::unavailable_reason());
    return 77;
  }
  fmt::print("CUDA device 0: {}\n", heed::cuda::device_name(0));
  doctest::Context context(argc, argv);
  return context.run();
}
