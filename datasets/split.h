// Train / validation / test splits of a labelled dataset, and their JSON files, so that every
// run of an app (and its evaluation) sees the same examples in the same part.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

namespace heed::data {

struct Split {
  std::vector<int64_t> train, validation, test;  // example indices, each part ascending
  uint64_t seed = 0;
};

// Stratified: each class's indices shuffled by (seed) and cut by the fractions; the rest is test.
// A class with >= 3 examples gets at least one in each part whose fraction is positive.
// Deterministic for a seed. Fractions must be in [0, 1] with train + validation <= 1.
Split stratified_split(const std::vector<int64_t>& labels, double train_fraction, double validation_fraction,
                       uint64_t seed);

// JSON {"format": "heed-split", "version": 1, "seed", "train", "validation", "test"}, written
// atomically (temporary file, fsync, rename).
void save_split(const Split& split, const std::filesystem::path& file);
// Validates the file: the format, non-negative indices, no index twice.
Split load_split(const std::filesystem::path& file);
// Throws heed::Error unless every index of `split` is below `dataset_size` (a split made for
// another corpus).
void check_split(const Split& split, size_t dataset_size);

}  // namespace heed::data
