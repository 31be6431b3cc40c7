#include "datasets/split.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "datasets/dataset.h"
#include "tensor/error.h"

namespace heed::data {
namespace {

// How many of a class's n examples go to train and to validation.
std::pair<size_t, size_t> class_counts(size_t n, double train_fraction, double validation_fraction) {
  const double test_fraction = 1.0 - train_fraction - validation_fraction;
  size_t train = static_cast<size_t>(std::llround(static_cast<double>(n) * train_fraction));
  size_t validation = static_cast<size_t>(std::llround(static_cast<double>(n) * validation_fraction));
  train = std::min(train, n);
  validation = std::min(validation, n - train);
  if (n < 3) return {train, validation};
  if (train_fraction > 0) train = std::max<size_t>(train, 1);
  if (validation_fraction > 0) validation = std::max<size_t>(validation, 1);
  const size_t test_needed = test_fraction > 1e-12 ? 1 : 0;
  while (train + validation + test_needed > n) {  // take from the larger part, never below 1
    if (train >= validation && train > 1) --train;
    else --validation;
  }
  return {train, validation};
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

Split stratified_split(const std::vector<int64_t>& labels, double train_fraction, double validation_fraction,
                       uint64_t seed) {
  HEED_CHECK(!labels.empty(), "stratified_split: no labels");
  HEED_CHECK(std::isfinite(train_fraction) && std::isfinite(validation_fraction) && train_fraction >= 0 &&
                 validation_fraction >= 0 && train_fraction + validation_fraction <= 1.0 + 1e-12,
             "stratified_split: fractions must be in [0, 1] with train + validation <= 1, got train {} validation {}",
             train_fraction, validation_fraction);
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));

  Split split;
  split.seed = seed;
  for (auto& [label, indices] : by_class) {
    shuffle_in_place(indices, seed, static_cast<uint64_t>(label));
    auto [train, validation] = class_counts(indices.size(), train_fraction, validation_fraction);
    auto first = indices.begin();
    split.train.insert(split.train.end(), first, first + train);
    split.validation.insert(split.validation.end(), first + train, first + train + validation);
    split.test.insert(split.test.end(), first + train + validation, indices.end());
  }
  for (auto* part : {&split.train, &split.validation, &split.test}) std::sort(part->begin(), part->end());
  return split;
}

void save_split(const Split& split, const std::filesystem::path& file) {
  nlohmann::json json = {{"format", "heed-split"}, {"version", 1},           {"seed", split.seed},
                         {"train", split.train},   {"validation", split.validation}, {"test", split.test}};
  const std::string text = json.dump() + "\n";
  const std::string temp = file.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  HEED_CHECK(fd >= 0, "save_split: cannot create '{}': {}", temp, errno_text(errno));
  size_t written = 0;
  while (written < text.size()) {
    ssize_t put = ::write(fd, text.data() + written, text.size() - written);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      HEED_FAIL("save_split: cannot write '{}': {}", temp, errno_text(err));
    }
    written += static_cast<size_t>(put);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_err = errno;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed || ::rename(temp.c_str(), file.c_str()) != 0) {
    int err = !synced ? sync_err : errno;
    ::unlink(temp.c_str());
    HEED_FAIL("save_split: cannot save '{}': {}", file.string(), errno_text(err));
  }
}

Split load_split(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  HEED_CHECK(in, "load_split: cannot open '{}'", file.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("load_split: '{}' is not valid JSON: {}", file.string(), e.what());
  }
  const std::string name = file.string();
  HEED_CHECK(json.is_object() && json.value("format", "") == "heed-split",
             "load_split: '{}' is not a heed split file (no \"format\": \"heed-split\")", name);
  HEED_CHECK(json.contains("version") && json["version"] == 1, "load_split: '{}': unsupported version {}", name,
             json.contains("version") ? json["version"].dump() : "(none)");
  HEED_CHECK(json.contains("seed") && json["seed"].is_number_unsigned(),
             "load_split: '{}': \"seed\" must be a non-negative integer", name);
  Split split;
  split.seed = json["seed"].get<uint64_t>();
  std::set<int64_t> seen;
  for (auto [key, part] : {std::pair{"train", &split.train}, {"validation", &split.validation}, {"test", &split.test}}) {
    HEED_CHECK(json.contains(key) && json[key].is_array(), "load_split: '{}': \"{}\" must be an array", name, key);
    for (const auto& item : json[key]) {
      HEED_CHECK(item.is_number_integer() && item.get<int64_t>() >= 0,
                 "load_split: '{}': \"{}\" holds {}, not a non-negative integer index", name, key, item.dump());
      const int64_t index = item.get<int64_t>();
      HEED_CHECK(seen.insert(index).second, "load_split: '{}': index {} appears twice", name, index);
      part->push_back(index);
    }
  }
  return split;
}

void check_split(const Split& split, size_t dataset_size) {
  for (const auto* part : {&split.train, &split.validation, &split.test})
    for (int64_t index : *part)
      HEED_CHECK(index >= 0 && static_cast<uint64_t>(index) < dataset_size,
                 "split: index {} is out of range for a dataset of {} examples (a split of another corpus?)", index,
                 dataset_size);
}

}  // namespace heed::data
