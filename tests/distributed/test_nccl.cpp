// NCCL between the GPUs of a job (one GPU per rank). Without a GPU the executable exits with 77,
// which CTest reports as "Skipped", and says why. scripts/gpu-check runs it under mpirun with one
// rank per GPU; CTest runs it as one process.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "../helpers.h"
#include "distributed/nccl.h"

using namespace heed;
using heed::test::values;

TEST_CASE("NCCL all_reduce and broadcast between the ranks' GPUs are exact") {
  auto world = dist::init();
  dist::NcclCommunicator nccl(world);
  const double r = world->rank(), w = world->size(), total = w * (w + 1) / 2;
  Tensor x = from_vector(std::vector<double>{r + 1, 2 * (r + 1), 3 * (r + 1)}, {3}, {DType::Float64});
  nccl.all_reduce_host(x, dist::ReduceOp::Sum);
  CHECK(values(x) == std::vector<double>{total, 2 * total, 3 * total});
  Tensor m = full({1000}, r, {DType::Float32});
  nccl.all_reduce_host(m, dist::ReduceOp::Mean);
  CHECK(values(m) == std::vector<double>(1000, (w - 1) / 2));
  Tensor i = full({7}, r + 1, {DType::Int64});
  nccl.all_reduce_host(i, dist::ReduceOp::Sum);
  CHECK(values(i) == std::vector<double>(7, total));
  CHECK_THROWS_WITH_AS(nccl.all_reduce_host(i, dist::ReduceOp::Mean), doctest::Contains("use Sum"), Error);
  Tensor strided = zeros({3, 3}).t();
  CHECK_THROWS_WITH_AS(nccl.all_reduce_host(strided, dist::ReduceOp::Sum), doctest::Contains("contiguous"), Error);
}

int main(int argc, char** argv) {
  if (std::string reason = dist::nccl_unavailable_reason(); !reason.empty()) {
    fmt::print("SKIPPED: NCCL tests need a GPU ({})\n", reason);
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
