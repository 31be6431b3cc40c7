// Datasets and the DataLoader that batches them.
//
//   auto data = std::make_shared<data::VectorDataset<Example>>(examples);
//   data::DataLoader<Example, Batch> loader(data, {.batch_size = 64, .shuffle = true, .seed = 1}, collate);
//   for (Batch& batch : loader) { ... }   // one epoch; the next loop runs the next epoch
//
// The order of epoch e depends only on (seed, e), so a resumed run (set_epoch) sees the same
// batches as an uninterrupted one. With a shard (data-parallel training, one loader per
// process), batch_size is the global batch: every process gets its near-equal part of each
// batch, so N processes see together exactly the batches one process would, each example once
// per epoch, and all of them the same number of batches. With prefetch, a worker thread builds the next batch while
// the consumer works on the current one; an exception in get() or collate reaches the consumer
// on its next ++ (or begin), and leaving the loop early stops and joins the worker.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "tensor/error.h"

namespace heed::data {

// ---------------------------------------------------------------- deterministic shuffling

// SplitMix64: a small, portable generator, so orders do not depend on the standard library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, bound), bound > 0, without modulo bias.
  uint64_t below(uint64_t bound) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = next();
    while (r >= limit);
    return r % bound;
  }

 private:
  uint64_t state_;
};

// Fisher-Yates shuffle of `items` by the stream (seed, stream).
template <class T>
void shuffle_in_place(std::vector<T>& items, uint64_t seed, uint64_t stream) {
  SplitMix64 rng(SplitMix64(seed ^ SplitMix64(stream).next()).next());
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

// ---------------------------------------------------------------- datasets

template <class Example>
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  virtual Example get(size_t index) const = 0;  // throws heed::Error when index >= size()
};

// A dataset that owns its examples.
template <class Example>
class VectorDataset : public Dataset<Example> {
 public:
  explicit VectorDataset(std::vector<Example> examples) : examples_(std::move(examples)) {}
  size_t size() const override { return examples_.size(); }
  Example get(size_t index) const override {
    HEED_CHECK(index < examples_.size(), "VectorDataset: index {} out of range for {} examples", index,
               examples_.size());
    return examples_[index];
  }
  const std::vector<Example>& examples() const { return examples_; }

 private:
  std::vector<Example> examples_;
};

// A view of `base` holding the examples at `indices` (in that order; repeats allowed).
template <class Example>
class SubsetDataset : public Dataset<Example> {
 public:
  SubsetDataset(std::shared_ptr<const Dataset<Example>> base, std::vector<int64_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {
    HEED_CHECK(base_ != nullptr, "SubsetDataset: the base dataset is null");
    const size_t n = base_->size();
    for (size_t i = 0; i < indices_.size(); ++i)
      HEED_CHECK(indices_[i] >= 0 && static_cast<uint64_t>(indices_[i]) < n,
                 "SubsetDataset: index {} (at position {}) out of range for a dataset of {} examples", indices_[i],
                 i, n);
  }
  size_t size() const override { return indices_.size(); }
  Example get(size_t index) const override {
    HEED_CHECK(index < indices_.size(), "SubsetDataset: index {} out of range for {} examples", index,
               indices_.size());
    return base_->get(static_cast<size_t>(indices_[index]));
  }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset<Example>> base_;
  std::vector<int64_t> indices_;
};

// ---------------------------------------------------------------- the loader

// Which part of every batch this loader yields: part `index` of `count` (a process's rank and
// the world size in data-parallel training).
struct Shard {
  int64_t index = 0;
  int64_t count = 1;
};

struct LoaderOptions {
  int64_t batch_size = 32;  // with a shard: the global batch, split across the shards
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;     // the order of epoch e is a function of (seed, e) only
  bool prefetch = true;  // build the next batch on a background thread
  Shard shard{};
};

template <class Example, class Batch>
class DataLoader {
 public:
  using Collate = std::function<Batch(std::vector<Example>&&)>;

  DataLoader(std::shared_ptr<const Dataset<Example>> dataset, LoaderOptions options, Collate collate)
      : dataset_(std::move(dataset)), options_(options), collate_(std::move(collate)) {
    HEED_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
    HEED_CHECK(collate_ != nullptr, "DataLoader: the collate function is empty");
    HEED_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got {}", options_.batch_size);
    const Shard& s = options_.shard;
    HEED_CHECK(s.count > 0 && s.index >= 0 && s.index < s.count, "DataLoader: shard {} of {} does not exist", s.index,
               s.count);
    HEED_CHECK(s.count <= options_.batch_size,
               "DataLoader: a batch of {} cannot be split across {} processes; use a batch of at least {}",
               options_.batch_size, s.count, s.count);
    HEED_CHECK(s.count == 1 || dataset_->size() >= static_cast<size_t>(s.count),
               "DataLoader: {} examples cannot be split across {} processes", dataset_->size(), s.count);
  }

  // The same for every shard. With a shard, a last batch smaller than the shard count joins the
  // batch before it, so that no shard gets an empty batch.
  size_t num_batches() const { return count_batches(dataset_->size(), options_); }
  // Positions [begin, end) in order(epoch) of this shard's part of batch `batch_index`.
  std::pair<size_t, size_t> batch_range(size_t batch_index) const {
    return shard_range(dataset_->size(), options_, batch_index);
  }
  uint64_t epoch() const { return epoch_; }
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }
  const LoaderOptions& options() const { return options_; }

  // The example indices epoch `epoch` visits, in order (before batching and drop_last).
  std::vector<int64_t> order(uint64_t epoch) const {
    std::vector<int64_t> indices(dataset_->size());
    for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int64_t>(i);
    if (options_.shuffle) shuffle_in_place(indices, options_.seed, epoch);
    return indices;
  }

 private:
  static size_t count_batches(size_t n, const LoaderOptions& o) {
    const size_t b = static_cast<size_t>(o.batch_size), full = n / b, rest = n % b;
    if (o.drop_last || rest == 0) return full;
    return rest < static_cast<size_t>(o.shard.count) && full > 0 ? full : full + 1;
  }
  static std::pair<size_t, size_t> shard_range(size_t n, const LoaderOptions& o, size_t batch_index) {
    const size_t b = static_cast<size_t>(o.batch_size), batches = count_batches(n, o);
    if (o.drop_last) n = std::min(n, batches * b);
    const size_t begin = batch_index * b, end = batch_index + 1 == batches ? n : std::min(begin + b, n);
    const size_t size = end - begin, count = static_cast<size_t>(o.shard.count);
    auto part_start = [&](size_t k) { return begin + size / count * k + std::min(k, size % count); };
    const size_t index = static_cast<size_t>(o.shard.index);
    return {part_start(index), part_start(index + 1)};
  }

  // One epoch in progress: the batches, produced inline or by a worker thread.
  class Run {
   public:
    Run(const DataLoader& loader, uint64_t epoch)
        : dataset_(loader.dataset_),
          collate_(loader.collate_),
          order_(loader.order(epoch)),
          options_(loader.options_),
          num_batches_(loader.num_batches()),
          prefetch_(loader.options_.prefetch) {
      if (prefetch_) worker_ = std::thread([this] { work(); });
    }
    ~Run() {
      if (worker_.joinable()) {
        {
          std::lock_guard lock(mutex_);
          stop_ = true;
        }
        changed_.notify_all();
        worker_.join();
      }
    }
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

    // The next batch, or nothing at the end of the epoch; rethrows a failure of get/collate.
    std::optional<Batch> next() {
      if (!prefetch_) {
        if (consumed_ >= num_batches_) return std::nullopt;
        return build(consumed_++);
      }
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return !ready_.empty() || finished_; });
      if (ready_.empty()) {
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
        return std::nullopt;
      }
      Batch batch = std::move(ready_.front());
      ready_.pop_front();
      lock.unlock();
      changed_.notify_all();
      return batch;
    }

   private:
    static constexpr size_t kDepth = 2;  // batches the worker may build ahead

    Batch build(size_t batch_index) {
      const auto [begin, end] = shard_range(order_.size(), options_, batch_index);
      std::vector<Example> examples;
      examples.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) examples.push_back(dataset_->get(static_cast<size_t>(order_[i])));
      return collate_(std::move(examples));
    }

    void work() {
      try {
        for (size_t b = 0; b < num_batches_; ++b) {
          {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [this] { return ready_.size() < kDepth || stop_; });
            if (stop_) break;
          }
          Batch batch = build(b);
          {
            std::lock_guard lock(mutex_);
            ready_.push_back(std::move(batch));
          }
          changed_.notify_all();
        }
      } catch (...) {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        finished_ = true;
      }
      changed_.notify_all();
    }

    std::shared_ptr<const Dataset<Example>> dataset_;
    Collate collate_;
    std::vector<int64_t> order_;
    LoaderOptions options_;
    size_t num_batches_;
    bool prefetch_;
    size_t consumed_ = 0;  // without prefetch: batches handed out

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> ready_;
    std::exception_ptr error_;
    bool stop_ = false, finished_ = false;
    std::thread worker_;  // joined by ~Run
  };

 public:
  // An input iterator over one epoch's batches; the end iterator holds no run.
  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;

    Iterator() = default;
    Batch& operator*() { return *current_; }
    Batch* operator->() { return &*current_; }
    Iterator& operator++() {
      current_.reset();
      advance();
      return *this;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.at_end() == b.at_end(); }

   private:
    friend class DataLoader;
    explicit Iterator(std::unique_ptr<Run> run) : run_(std::move(run)) { advance(); }
    bool at_end() const { return !current_.has_value(); }
    void advance() {
      try {
        current_ = run_->next();
      } catch (...) {
        run_.reset();
        throw;
      }
      if (!current_) run_.reset();
    }
    std::unique_ptr<Run> run_;
    std::optional<Batch> current_;
  };

  // Runs the current epoch, then advances the epoch counter.
  Iterator begin() { return Iterator(std::make_unique<Run>(*this, epoch_++)); }
  Iterator end() { return Iterator(); }

 private:
  std::shared_ptr<const Dataset<Example>> dataset_;
  LoaderOptions options_;
  Collate collate_;
  uint64_t epoch_ = 0;
};

}  // namespace heed::data
