// Datasets and the DataLoader: order, determinism, batching, prefetch, errors, early exits.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "datasets/dataset.h"

using namespace heed::data;

namespace {
using Loader = DataLoader<int, std::vector<int>>;

std::shared_ptr<const Dataset<int>> range_dataset(int n) {
  std::vector<int> values(static_cast<size_t>(n));
  std::iota(values.begin(), values.end(), 0);
  return std::make_shared<VectorDataset<int>>(values);
}

std::vector<int> identity_collate(std::vector<int>&& examples) { return std::move(examples); }

// One epoch's batches.
std::vector<std::vector<int>> run_epoch(Loader& loader) {
  std::vector<std::vector<int>> batches;
  for (auto& batch : loader) batches.push_back(batch);
  return batches;
}

std::vector<int> flatten(const std::vector<std::vector<int>>& batches) {
  std::vector<int> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

// A dataset whose get() throws at one index, and counts calls.
class FailingDataset : public Dataset<int> {
 public:
  explicit FailingDataset(size_t fail_at) : fail_at_(fail_at) {}
  size_t size() const override { return 100; }
  int get(size_t index) const override {
    ++calls;
    if (index == fail_at_) throw std::runtime_error("broken example " + std::to_string(index));
    return static_cast<int>(index);
  }
  mutable std::atomic<int> calls{0};

 private:
  size_t fail_at_;
};
}  // namespace

TEST_CASE("VectorDataset and SubsetDataset check their indices") {
  auto base = range_dataset(5);
  CHECK(base->size() == 5);
  CHECK(base->get(4) == 4);
  CHECK_THROWS_AS(base->get(5), heed::Error);
  SubsetDataset<int> subset(base, {4, 0, 0});
  CHECK(subset.size() == 3);
  CHECK(subset.get(0) == 4);
  CHECK(subset.get(2) == 0);
  CHECK_THROWS_AS(subset.get(3), heed::Error);
  CHECK_THROWS_AS(SubsetDataset<int>(base, {0, 5}), heed::Error);
  CHECK_THROWS_AS(SubsetDataset<int>(base, {-1}), heed::Error);
  CHECK_THROWS_AS(SubsetDataset<int>(nullptr, {}), heed::Error);
}

TEST_CASE("DataLoader rejects bad options") {
  CHECK_THROWS_AS(Loader(range_dataset(3), {.batch_size = 0}, identity_collate), heed::Error);
  CHECK_THROWS_AS(Loader(nullptr, {}, identity_collate), heed::Error);
  CHECK_THROWS_AS(Loader(range_dataset(3), {}, nullptr), heed::Error);
}

TEST_CASE("DataLoader without shuffle yields the examples in order, last batch partial") {
  Loader loader(range_dataset(10), {.batch_size = 4}, identity_collate);
  CHECK(loader.num_batches() == 3);
  auto batches = run_epoch(loader);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0] == std::vector<int>{0, 1, 2, 3});
  CHECK(batches[2] == std::vector<int>{8, 9});
  CHECK(loader.epoch() == 1);
}

TEST_CASE("DataLoader drop_last drops the partial batch") {
  Loader loader(range_dataset(10), {.batch_size = 4, .drop_last = true}, identity_collate);
  CHECK(loader.num_batches() == 2);
  auto batches = run_epoch(loader);
  CHECK(batches.size() == 2);
  for (const auto& b : batches) CHECK(b.size() == 4);
  Loader too_small(range_dataset(3), {.batch_size = 4, .drop_last = true}, identity_collate);
  CHECK(too_small.num_batches() == 0);
  CHECK(run_epoch(too_small).empty());
}

TEST_CASE("DataLoader shuffle: each example once per epoch, epochs differ, seeds reproduce") {
  Loader a(range_dataset(50), {.batch_size = 8, .shuffle = true, .seed = 3}, identity_collate);
  Loader b(range_dataset(50), {.batch_size = 8, .shuffle = true, .seed = 3}, identity_collate);
  Loader c(range_dataset(50), {.batch_size = 8, .shuffle = true, .seed = 4}, identity_collate);
  std::vector<int> expected(50);
  std::iota(expected.begin(), expected.end(), 0);
  auto a0 = flatten(run_epoch(a)), a1 = flatten(run_epoch(a));
  auto b0 = flatten(run_epoch(b)), c0 = flatten(run_epoch(c));
  for (auto order : {a0, a1, c0}) {
    CHECK(order != expected);
    std::sort(order.begin(), order.end());
    CHECK(order == expected);
  }
  CHECK(a0 == b0);
  CHECK(a0 != a1);
  CHECK(a0 != c0);
  // The order is a function of (seed, epoch) only: resuming at epoch 1 gives epoch 1's order.
  b.set_epoch(1);
  CHECK(flatten(run_epoch(b)) == a1);
  CHECK(b.epoch() == 2);
  CHECK(flatten(run_epoch(b)) == flatten(run_epoch(a)));
}

TEST_CASE("DataLoader prefetch on and off give identical batches") {
  for (bool shuffle : {false, true}) {
    Loader on(range_dataset(37), {.batch_size = 5, .shuffle = shuffle, .seed = 9, .prefetch = true}, identity_collate);
    Loader off(range_dataset(37), {.batch_size = 5, .shuffle = shuffle, .seed = 9, .prefetch = false},
               identity_collate);
    for (int epoch = 0; epoch < 3; ++epoch) CHECK(run_epoch(on) == run_epoch(off));
  }
}

TEST_CASE("DataLoader collate builds the batch type") {
  DataLoader<int, long> loader(range_dataset(6), {.batch_size = 3},
                               [](std::vector<int>&& xs) { return std::accumulate(xs.begin(), xs.end(), 0L); });
  std::vector<long> sums;
  for (long s : loader) sums.push_back(s);
  CHECK(sums == std::vector<long>{3, 12});
}

TEST_CASE("DataLoader: breaking out early is safe and the next epoch starts cleanly") {
  for (bool prefetch : {false, true}) {
    Loader loader(range_dataset(1000), {.batch_size = 2, .shuffle = true, .prefetch = prefetch}, identity_collate);
    int seen = 0;
    for (auto& batch : loader) {
      CHECK(batch.size() == 2);
      if (++seen == 3) break;
    }
    CHECK(seen == 3);
    CHECK(loader.epoch() == 1);
    CHECK(run_epoch(loader).size() == 500);
  }
}

TEST_CASE("DataLoader: destroying an iterator mid-epoch with a slow collate does not hang") {
  Loader loader(range_dataset(100), {.batch_size = 1},
                [](std::vector<int>&& xs) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(5));
                  return std::move(xs);
                });
  const auto start = std::chrono::steady_clock::now();
  {
    auto it = loader.begin();
    CHECK((*it)[0] == 0);
    ++it;
    CHECK((*it)[0] == 1);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("DataLoader rethrows get and collate errors to the consumer") {
  for (bool prefetch : {false, true}) {
    auto failing = std::make_shared<FailingDataset>(25);
    Loader loader(failing, {.batch_size = 10, .prefetch = prefetch}, identity_collate);
    std::vector<std::vector<int>> got;
    CHECK_THROWS_WITH_AS(
        [&] {
          for (auto& batch : loader) got.push_back(batch);
        }(),
        "broken example 25", std::runtime_error);
    CHECK(got.size() == 2);  // the batches before the failing one arrive first
    CHECK(failing->calls.load() <= 30);

    Loader failing_first(std::make_shared<FailingDataset>(0), {.batch_size = 10, .prefetch = prefetch},
                         identity_collate);
    CHECK_THROWS_AS(failing_first.begin(), std::runtime_error);

    int collated = 0;
    Loader bad_collate(range_dataset(30), {.batch_size = 10, .prefetch = prefetch}, [&](std::vector<int>&& xs) {
      if (++collated == 2) throw heed::Error("collate failed");
      return std::move(xs);
    });
    auto it = bad_collate.begin();
    CHECK(it->size() == 10);
    CHECK_THROWS_WITH_AS(++it, "collate failed", heed::Error);
  }
}

TEST_CASE("DataLoader over an empty dataset yields nothing") {
  Loader loader(range_dataset(0), {.batch_size = 3}, identity_collate);
  CHECK(loader.num_batches() == 0);
  CHECK(loader.begin() == loader.end());
}
