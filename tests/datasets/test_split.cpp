// Stratified train/validation/test splits and their JSON files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "datasets/split.h"
#include "tensor/error.h"

using namespace heed::data;
namespace fs = std::filesystem;

namespace {
std::vector<int64_t> make_labels(const std::vector<int>& per_class) {
  std::vector<int64_t> labels;
  for (size_t c = 0; c < per_class.size(); ++c)
    for (int i = 0; i < per_class[c]; ++i) labels.push_back(static_cast<int64_t>(c));
  // Interleave so that classes are not contiguous: 7919 is prime, so i*7919 mod n permutes.
  std::vector<int64_t> mixed;
  for (size_t i = 0; i < labels.size(); ++i) mixed.push_back(labels[(i * 7919) % labels.size()]);
  return mixed;
}

std::map<int64_t, int> count_by_class(const std::vector<int64_t>& part, const std::vector<int64_t>& labels) {
  std::map<int64_t, int> counts;
  for (int64_t i : part) ++counts[labels[static_cast<size_t>(i)]];
  return counts;
}

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("heed-test-" + std::to_string(::getpid()) + "-" + name);
}
}  // namespace

TEST_CASE("stratified_split covers every index once and keeps class proportions") {
  const std::vector<int64_t> labels = make_labels({500, 120, 3, 2, 1});
  const Split split = stratified_split(labels, 0.8, 0.1, 42);
  std::vector<int64_t> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == labels.size());
  for (size_t i = 0; i < all.size(); ++i) CHECK(all[i] == static_cast<int64_t>(i));
  for (const auto* part : {&split.train, &split.validation, &split.test})
    CHECK(std::is_sorted(part->begin(), part->end()));

  auto train = count_by_class(split.train, labels), validation = count_by_class(split.validation, labels),
       test = count_by_class(split.test, labels);
  CHECK(train[0] == 400);
  CHECK(validation[0] == 50);
  CHECK(test[0] == 50);
  CHECK(train[1] == 96);
  CHECK(validation[1] == 12);
  CHECK(test[1] == 12);
  // Three examples: one in each part, although 0.1 * 3 rounds to 0.
  CHECK(train[2] == 1);
  CHECK(validation[2] == 1);
  CHECK(test[2] == 1);
  CHECK(train[3] + validation[3] + test[3] == 2);
  CHECK(train[4] + validation[4] + test[4] == 1);
  CHECK(split.seed == 42);
}

TEST_CASE("stratified_split is deterministic for a seed and differs between seeds") {
  const std::vector<int64_t> labels = make_labels({60, 40});
  const Split a = stratified_split(labels, 0.6, 0.2, 7), b = stratified_split(labels, 0.6, 0.2, 7);
  const Split c = stratified_split(labels, 0.6, 0.2, 8);
  CHECK(a.train == b.train);
  CHECK(a.validation == b.validation);
  CHECK(a.test == b.test);
  CHECK(a.train != c.train);
  CHECK(a.train.size() == c.train.size());
}

TEST_CASE("stratified_split with no test or no validation fraction") {
  const std::vector<int64_t> labels = make_labels({10, 5});
  const Split no_test = stratified_split(labels, 0.8, 0.2, 1);
  CHECK(no_test.test.empty());
  CHECK(no_test.train.size() + no_test.validation.size() == 15);
  const Split no_validation = stratified_split(labels, 0.5, 0.0, 1);
  CHECK(no_validation.validation.empty());
}

TEST_CASE("stratified_split rejects bad fractions and empty labels") {
  CHECK_THROWS_AS(stratified_split({0, 1}, 0.9, 0.2, 0), heed::Error);
  CHECK_THROWS_AS(stratified_split({0, 1}, -0.1, 0.2, 0), heed::Error);
  CHECK_THROWS_AS(stratified_split({0, 1}, std::nan(""), 0.2, 0), heed::Error);
  CHECK_THROWS_AS(stratified_split({}, 0.8, 0.1, 0), heed::Error);
}

TEST_CASE("save_split and load_split round-trip") {
  const Split split = stratified_split(make_labels({30, 20}), 0.7, 0.15, 1234567890123ull);
  const fs::path file = temp_path("split.json");
  save_split(split, file);
  const Split loaded = load_split(file);
  CHECK(loaded.train == split.train);
  CHECK(loaded.validation == split.validation);
  CHECK(loaded.test == split.test);
  CHECK(loaded.seed == split.seed);
  CHECK_NOTHROW(check_split(loaded, 50));
  CHECK_THROWS_AS(check_split(loaded, 49), heed::Error);
  int leftovers = 0;
  for (const auto& entry : fs::directory_iterator(file.parent_path()))
    leftovers += entry.path().filename().string().starts_with(file.filename().string() + ".tmp");
  CHECK(leftovers == 0);
  fs::remove(file);
}

TEST_CASE("load_split validates the file") {
  const fs::path file = temp_path("bad-split.json");
  auto write = [&](const std::string& text) { std::ofstream(file) << text; };
  const std::string head = R"({"format":"heed-split","version":1,"seed":0,)";
  write("not json");
  CHECK_THROWS_AS(load_split(file), heed::Error);
  write(R"({"format":"other"})");
  CHECK_THROWS_AS(load_split(file), heed::Error);
  write(head + R"("train":[0,1],"validation":[1],"test":[]})");
  CHECK_THROWS_WITH_AS(load_split(file), doctest::Contains("appears twice"), heed::Error);
  write(head + R"("train":[-1],"validation":[],"test":[]})");
  CHECK_THROWS_AS(load_split(file), heed::Error);
  write(head + R"("train":["0"],"validation":[],"test":[]})");
  CHECK_THROWS_AS(load_split(file), heed::Error);
  write(head + R"("train":[0],"validation":[]})");
  CHECK_THROWS_WITH_AS(load_split(file), doctest::Contains("\"test\""), heed::Error);
  write(head + R"("train":[0],"validation":[],"test":[2]})");
  CHECK(load_split(file).test == std::vector<int64_t>{2});
  fs::remove(file);
  CHECK_THROWS_AS(load_split(file), heed::Error);
}
