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

TEST_CASE("DataLoader shards: together the shards yield exactly the unsharded batches, each example once") {
  for (int n : {100, 101, 103, 41, 7}) {
    for (int64_t count : {1, 2, 3, 4}) {
      for (bool drop_last : {false, true}) {
        CAPTURE(n);
        CAPTURE(count);
        CAPTURE(drop_last);
        LoaderOptions base{.batch_size = 10, .shuffle = true, .drop_last = drop_last, .seed = 5};
        Loader whole(range_dataset(n), base, identity_collate);
        std::vector<std::vector<std::vector<int>>> parts;
        for (int64_t k = 0; k < count; ++k) {
          LoaderOptions o = base;
          o.shard = {k, count};
          Loader shard(range_dataset(n), o, identity_collate);
          shard.set_epoch(3);
          parts.push_back(run_epoch(shard));
          CHECK(shard.num_batches() == parts[0].size());  // the same number of steps everywhere
        }
        whole.set_epoch(3);
        auto expected = run_epoch(whole);
        std::vector<int> joined_all;
        for (size_t b = 0; b < parts[0].size(); ++b) {
          std::vector<int> joined;
          size_t smallest = SIZE_MAX, largest = 0;
          for (const auto& p : parts) {
            joined.insert(joined.end(), p[b].begin(), p[b].end());
            smallest = std::min(smallest, p[b].size());
            largest = std::max(largest, p[b].size());
          }
          CHECK(smallest >= 1);
          CHECK(largest - smallest <= 1);  // near-equal parts
          joined_all.insert(joined_all.end(), joined.begin(), joined.end());
          if (count == 1 || n % 10 >= count || n % 10 == 0 || drop_last) {
            REQUIRE(b < expected.size());
            CHECK(joined == expected[b]);  // shard k's part is a slice of the same global batch
          }
        }
        CHECK(joined_all == flatten(expected));  // every example of the epoch exactly once, in order
      }
    }
  }
}

TEST_CASE("DataLoader shards: a last batch smaller than the shard count joins the one before") {
  LoaderOptions o{.batch_size = 10, .shard = {0, 4}};
  Loader loader(range_dataset(22), o, identity_collate);  // 10, 12 (the last 2 would leave shards empty)
  auto batches = run_epoch(loader);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0] == std::vector<int>{0, 1, 2});
  CHECK(batches[1] == std::vector<int>{10, 11, 12});
}

TEST_CASE("DataLoader shards: bad shards are refused with a reason") {
  auto make = [](int n, int64_t batch, Shard s) {
    return Loader(range_dataset(n), {.batch_size = batch, .shard = s}, identity_collate);
  };
  CHECK_THROWS_WITH_AS(make(10, 4, {2, 2}), doctest::Contains("shard 2 of 2 does not exist"), heed::Error);
  CHECK_THROWS_WITH_AS(make(10, 4, {0, 0}), doctest::Contains("does not exist"), heed::Error);
  CHECK_THROWS_WITH_AS(make(10, 2, {0, 3}), doctest::Contains("a batch of 2 cannot be split across 3"), heed::Error);
  CHECK_THROWS_WITH_AS(make(2, 4, {0, 3}), doctest::Contains("2 examples cannot be split across 3"), heed::Error);
}
