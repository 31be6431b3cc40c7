// Process groups, DistributedDataParallel and sharded loading. CTest runs this binary twice: as
// one process (the local group) and under `mpirun -np 2` (the MPI group); every case holds for
// any world size.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "../helpers.h"
#include "autograd/node.h"
#include "cuda/emulator.h"
#include "datasets/dataset.h"
#include "distributed/ddp.h"
#include "nn/linear.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "tensor/random.h"

using namespace heed;
using heed::test::values;

namespace {

int R() { return dist::rank(); }
int W() { return dist::world_size(); }

// A small float64 MLP with a parameter forward never uses.
class Net : public nn::Module {
 public:
  Net() : Module("Net") {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 16));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(16, 3));
    unused = register_parameter("unused", zeros({2}));
    to(DType::Float64);
  }
  Tensor forward(const Tensor& x) { return fc2->forward(tanh(fc1->forward(x))); }
  std::shared_ptr<nn::Linear> fc1, fc2;
  Tensor unused;
};

void copy_parameters(nn::Module& to, const nn::Module& from) {
  NoGradGuard no_grad;
  auto a = to.parameters(), b = from.parameters();
  for (size_t i = 0; i < a.size(); ++i) a[i].copy_(b[i].to(a[i].device()));
}

// The cuda device, as the host emulator (cuda/emulator.h): the GPU's code path without a GPU.
Device emulated_gpu() {
  static const bool registered = (cuda::use_host_emulator(), true);
  (void)registered;
  return Device::cuda();
}

std::string max_difference(const nn::Module& a, const nn::Module& b) {
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    if (auto r = heed::test::close_report(pa[i], pb[i], 1e-12, 1e-10); !r.empty())
      return fmt::format("parameter {}: {}", i, r);
  return "";
}

using IndexLoader = data::DataLoader<int, std::vector<int>>;
std::shared_ptr<const data::Dataset<int>> indices(int n) {
  std::vector<int> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return std::make_shared<data::VectorDataset<int>>(v);
}
std::vector<int> keep(std::vector<int>&& v) { return std::move(v); }
Tensor rows(const Tensor& x, const std::vector<int>& idx) {
  std::vector<int64_t> i(idx.begin(), idx.end());
  return index_select(x, 0, from_vector(i, {int64_t(i.size())}));
}

}  // namespace

TEST_CASE("collectives: all_reduce, broadcast, all_gather and barrier give exact results") {
  auto world = dist::init();
  const double r = R(), w = W();
  Tensor x = from_vector(std::vector<double>{1 * (r + 1), 2 * (r + 1), 3 * (r + 1)}, {3}, {DType::Float64});
  dist::all_reduce(x);
  const double total = w * (w + 1) / 2;
  CHECK(values(x) == std::vector<double>{total, 2 * total, 3 * total});
  Tensor m = full({2, 2}, r, {DType::Float32});
  dist::all_reduce(m, dist::ReduceOp::Mean);
  CHECK(values(m) == std::vector<double>(4, (w - 1) / 2));
  Tensor i = full({5}, r + 1, {DType::Int64});
  dist::all_reduce(i);
  CHECK(values(i) == std::vector<double>(5, total));
  CHECK_THROWS_WITH_AS(dist::all_reduce(i, dist::ReduceOp::Mean), doctest::Contains("use Sum"), Error);

  const int root = W() - 1;
  Tensor b = full({4}, r * 10 + 1, {DType::Float64});
  dist::broadcast(b, root);
  CHECK(values(b) == std::vector<double>(4, root * 10 + 1));

  Tensor gathered = world->all_gather(full({2}, r, {DType::Float64}));
  CHECK(gathered.shape() == Shape{W(), 2});
  for (int k = 0; k < W(); ++k) CHECK(values(gathered.select(0, k)) == std::vector<double>{double(k), double(k)});

  std::string bytes = R() == 0 ? std::string("run settings \0 with a zero", 26) : "";
  world->broadcast_bytes(bytes, 0);
  CHECK(bytes == std::string("run settings \0 with a zero", 26));
  dist::barrier();

  Tensor strided = zeros({4, 4}).t();
  CHECK_THROWS_WITH_AS(dist::all_reduce(strided), doctest::Contains("not contiguous"), Error);
  CHECK_THROWS_WITH_AS(dist::broadcast(b, W()), doctest::Contains("is not a rank"), Error);
}

TEST_CASE("collectives on tensors off the CPU (the emulated cuda device) go through host copies, in place") {
  auto world = dist::init();
  const Device gpu = emulated_gpu();
  const double r = R(), w = W(), total = w * (w + 1) / 2;
  Tensor x = from_vector(std::vector<double>{r + 1, 2 * (r + 1)}, {2}, {DType::Float64}).to(gpu);
  dist::all_reduce(x);
  CHECK(x.device() == gpu);
  CHECK(values(x) == std::vector<double>{total, 2 * total});
  Tensor m = full({3}, r, {DType::Float32, gpu});
  dist::all_reduce(m, dist::ReduceOp::Mean);
  CHECK(values(m) == std::vector<double>(3, (w - 1) / 2));
  Tensor a = full({4}, r + 1, {DType::Int64, gpu});
  auto work = world->all_reduce_async(a);
  work->wait();
  CHECK(values(a) == std::vector<double>(4, total));
  Tensor b = full({2}, r * 10 + 1, {DType::Float64, gpu});
  dist::broadcast(b, W() - 1);
  CHECK(values(b) == std::vector<double>(2, (W() - 1) * 10 + 1));
  Tensor gathered = world->all_gather(full({1}, r, {DType::Float64, gpu}));
  CHECK(gathered.device() == gpu);
  CHECK(gathered.shape() == Shape{W(), 1});
  for (int k = 0; k < W(); ++k) CHECK(values(gathered.select(0, k)) == std::vector<double>{double(k)});
}

TEST_CASE("DistributedDataParallel on N ranks with a global batch B matches one process with batch B, step by step") {
  dist::init();
  for (auto [device, overlap] : {std::pair{Device::cpu(), true}, {Device::cpu(), false}, {emulated_gpu(), true}}) {
    const std::string where = fmt::format("{}", device);
    CAPTURE(overlap);
    CAPTURE(where);
    manual_seed(uint64_t(7 + R()));  // different initialisations: DDP must broadcast rank 0's
    Net model;
    model.to(device);
    dist::DistributedDataParallel ddp(model, dist::world(), {.bucket_bytes = 200, .overlap = overlap});
    CHECK(ddp.num_buckets() > 2);  // several buckets, so their order and overlap are exercised
    Net reference;
    copy_parameters(reference, model);

    manual_seed(99);
    const int n = 53;  // 53 = 5 batches of 10 and a last one of 3: uneven parts on every rank count
    Tensor x = randn({n, 4}, {DType::Float64}), y = randn({n, 3}, {DType::Float64});
    data::LoaderOptions options{.batch_size = 10, .shuffle = true, .seed = 3};
    IndexLoader whole(indices(n), options, keep);
    options.shard = {R(), W()};
    IndexLoader mine(indices(n), options, keep);
    optim::Adam opt(model.parameters(), {.lr = 0.05});
    optim::Adam ref_opt(reference.parameters(), {.lr = 0.05});

    int step = 0;
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::vector<std::vector<int>> ref_batches;
      for (auto& b : whole) ref_batches.push_back(b);
      size_t k = 0;
      for (auto& batch : mine) {
        REQUIRE(k < ref_batches.size());
        Tensor loss = mse_loss(model.forward(rows(x, batch).to(device)), rows(y, batch).to(device));
        ddp.set_samples(double(batch.size()));
        ddp.backward(loss);
        CHECK_FALSE(model.unused.grad().defined());  // no rank produced one
        opt.step();
        opt.zero_grad();

        const auto& full_batch = ref_batches[k++];
        mse_loss(reference.forward(rows(x, full_batch)), rows(y, full_batch)).backward();
        ref_opt.step();
        ref_opt.zero_grad();
        std::string diff = max_difference(model, reference);
        CHECK_MESSAGE(diff.empty(), "step ", step, ": ", diff);
        ++step;
      }
      CHECK(k == ref_batches.size());
    }
    CHECK(ddp.stats().buckets == ddp.num_buckets());
    if (overlap) CHECK(ddp.stats().buckets_started_in_backward > 0);
    else CHECK(ddp.stats().buckets_started_in_backward == 0);
  }
}

TEST_CASE("DistributedDataParallel no_sync accumulates locally, and the next synchronised backward reduces the sum") {
  dist::init();
  manual_seed(11);
  Net model;
  dist::DistributedDataParallel ddp(model);
  Net reference;
  copy_parameters(reference, model);
  manual_seed(5);
  Tensor x = randn({8 * W(), 4}, {DType::Float64}), y = randn({8 * W(), 3}, {DType::Float64});
  // Each rank: two micro-batches of 4 rows of its own 8; the reference sums all 2·W micro-batch
  // losses' gradients divided by W (the average over ranks of each rank's sum).
  auto micro = [&](int rank, int part) { return x.narrow(0, rank * 8 + part * 4, 4); };
  auto micro_y = [&](int rank, int part) { return y.narrow(0, rank * 8 + part * 4, 4); };
  {
    auto guard = ddp.no_sync();
    ddp.backward(mse_loss(model.forward(micro(R(), 0)), micro_y(R(), 0)));
  }
  ddp.backward(mse_loss(model.forward(micro(R(), 1)), micro_y(R(), 1)));
  for (int r = 0; r < W(); ++r)
    for (int part = 0; part < 2; ++part)
      (mse_loss(reference.forward(micro(r, part)), micro_y(r, part)) / double(W())).backward();
  auto a = model.named_parameters(), b = reference.named_parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    if (a[i].first == "unused") CHECK_FALSE(a[i].second.grad().defined());
    else CHECK_CLOSE(a[i].second.grad(), b[i].second.grad(), 1e-12, 1e-10);
  }
}

TEST_CASE("DistributedDataParallel refuses a second backward before the first one's reduction") {
  dist::init();
  Net model;
  dist::DistributedDataParallel ddp(model);
  Tensor x = ones({2, 4}, {DType::Float64});
  sum(model.forward(x)).backward();  // a plain backward: buckets packed, not reduced
  CHECK_THROWS_WITH_AS(sum(model.forward(x)).backward(), doctest::Contains("a second backward"), Error);
  CHECK_THROWS_WITH_AS(ddp.set_samples(0), doctest::Contains("positive weight"), Error);
}

TEST_CASE("sharded loading: every example exactly once per epoch across the ranks, the same order for a seed") {
  auto world = dist::init();
  const int n = 103;
  for (uint64_t epoch : {0u, 1u}) {
    IndexLoader loader(indices(n), {.batch_size = 8, .shuffle = true, .seed = 42, .shard = {R(), W()}}, keep);
    loader.set_epoch(epoch);
    Tensor seen = zeros({n}, {DType::Int64});
    int64_t batches = 0;
    for (auto& batch : loader) {
      ++batches;
      for (int i : batch) seen.narrow(0, i, 1).copy_(seen.narrow(0, i, 1) + 1);
    }
    world->all_reduce(seen, dist::ReduceOp::Sum);
    CHECK(values(seen) == std::vector<double>(n, 1.0));
    Tensor counts = world->all_gather(full({1}, double(batches), {DType::Int64}));
    CHECK(values(counts) == std::vector<double>(size_t(W()), double(batches)));  // lockstep
  }
}
