// tests/cuda/device_cases.cpp against the host emulator of the CUDA backend (cuda/emulator.h):
// runs on every machine, GPU or not.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "cuda/emulator.h"

int main(int argc, char** argv) {
  heed::cuda::use_host_emulator();
  doctest::Context context(argc, argv);
  return context.run();
}
