// NCCL between the GPUs of a job (one GPU per rank). Without a GPU the executable exits with 77,
// which CTest reports as "Skipped", and says why. scripts/gpu-check runs it under mpirun with one
// rank per GPU; CTest runs it as one process.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "../helpers.h"
#include "autograd/node.h"
#include "distributed/ddp.h"
#include "distributed/nccl.h"
#include "nn/container.h"
#include "nn/linear.h"
#include "optim/sgd.h"
#include "tensor/random.h"

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

TEST_CASE("the NCCL group reduces, broadcasts and gathers CUDA tensors in place on each rank's GPU") {
  auto world = dist::init();
  auto group = dist::make_nccl_group(world);
  CHECK(group->backend() == "nccl");
  const Device gpu = Device::cuda(world->local_rank());
  const double r = world->rank(), w = world->size(), total = w * (w + 1) / 2;
  Tensor x = full({1 << 16}, r + 1, {DType::Float32, gpu});
  group->all_reduce(x, dist::ReduceOp::Sum);
  CHECK(x.device() == gpu);
  CHECK(values(x) == std::vector<double>(size_t(1) << 16, total));
  Tensor a = full({5}, r + 1, {DType::Float64, gpu});
  group->all_reduce_async(a)->wait();
  CHECK(values(a) == std::vector<double>(5, total));
  Tensor b = full({3}, r * 10 + 1, {DType::Int64, gpu});
  group->broadcast(b, world->size() - 1);
  CHECK(values(b) == std::vector<double>(3, (w - 1) * 10 + 1));
  Tensor gathered = group->all_gather(full({2}, r, {DType::Float32, gpu}));
  CHECK(gathered.device() == gpu);
  for (int k = 0; k < world->size(); ++k) CHECK(values(gathered.select(0, k)) == std::vector<double>(2, k));
  Tensor on_cpu = full({2}, r, {DType::Float64});  // CPU tensors go through the base group
  group->all_reduce(on_cpu, dist::ReduceOp::Sum);
  CHECK(values(on_cpu) == std::vector<double>(2, w * (w - 1) / 2));
  Tensor strided = zeros({3, 3}, {DType::Float32, gpu}).t();
  CHECK_THROWS_WITH_AS(group->all_reduce(strided, dist::ReduceOp::Sum), doctest::Contains("contiguous"), Error);
}

TEST_CASE("DistributedDataParallel over NCCL on a GPU model takes the same steps as one CPU process on the whole batch") {
  auto world = dist::init();
  auto group = dist::make_nccl_group(world);
  const Device gpu = Device::cuda(world->local_rank());
  const int w = world->size(), r = world->rank();
  manual_seed(uint64_t(3 + r));  // different initialisations: DDP broadcasts rank 0's
  nn::Sequential model;
  model.push_back(std::make_shared<nn::Linear>(6, 32));
  model.push_back(std::make_shared<nn::Linear>(32, 2));
  model.to(DType::Float64);
  model.to(gpu);
  dist::DistributedDataParallel ddp(model, group, {.bucket_bytes = 512});
  nn::Sequential reference;
  reference.push_back(std::make_shared<nn::Linear>(6, 32));
  reference.push_back(std::make_shared<nn::Linear>(32, 2));
  reference.to(DType::Float64);
  {
    NoGradGuard no_grad;
    auto a = reference.parameters(), b = model.parameters();
    for (size_t i = 0; i < a.size(); ++i) a[i].copy_(b[i].to(Device::cpu()));
  }
  optim::SGD opt(model.parameters(), {.lr = 0.1});
  optim::SGD ref_opt(reference.parameters(), {.lr = 0.1});
  manual_seed(17);
  const int per_rank = 4;
  for (int step = 0; step < 3; ++step) {
    Tensor x = randn({per_rank * w, 6}, {DType::Float64}), y = randn({per_rank * w, 2}, {DType::Float64});
    Tensor mine_x = x.narrow(0, r * per_rank, per_rank).to(gpu), mine_y = y.narrow(0, r * per_rank, per_rank).to(gpu);
    ddp.backward(mse_loss(model.forward(mine_x), mine_y));
    opt.step();
    opt.zero_grad();
    mse_loss(reference.forward(x), y).backward();
    ref_opt.step();
    ref_opt.zero_grad();
    auto a = model.parameters(), b = reference.parameters();
    for (size_t i = 0; i < a.size(); ++i) CHECK_CLOSE(a[i].to(Device::cpu()), b[i], 1e-12, 1e-10);
  }
}

int main(int argc, char** argv) {
  if (std::string reason = dist::nccl_unavailable_reason(); !reason.empty()) {
    fmt::print("SKIPPED: NCCL tests need a GPU ({})\n", reason);
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
