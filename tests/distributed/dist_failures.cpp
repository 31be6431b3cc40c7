// A job that goes wrong on purpose, for the failure tests in tests.cmake:
//   dist_failures skip   rank 1 skips an all_reduce: rank 0 must end the job at the timeout
//   dist_failures die    rank 1 exits before the all_reduce: the job must end, not hang
#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include "distributed/process_group.h"

int main(int argc, char** argv) {
  using namespace heed;
  const std::string mode = argc > 1 ? argv[1] : "";
  auto world = dist::init();
  Tensor t = ones({4});
  if (world->rank() == 1) {
    if (mode == "die") std::_Exit(3);
    if (mode == "skip") return 0;
  }
  world->all_reduce(t, dist::ReduceOp::Sum);
  fmt::print("rank {}: all_reduce finished\n", world->rank());
  return 0;
}
