// Helpers shared by the optim tests: error-message checks, exact comparisons, fixture access.
#pragma once
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tensor/io.h"
#include "tests/helpers.h"

namespace heed::optim_test {

// The message of the heed::Error that f throws; "<no error>" when it throws none.
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// Checks that `expr` throws heed::Error and that its message contains each of the given parts
// (the component's name and the bad value, usually).
#define CHECK_HEED_ERROR(expr, ...)                                                                                 \
  do {                                                                                                              \
    const std::string heed_msg_ = ::heed::optim_test::error_message([&] { (void)(expr); });                         \
    for (const std::string& heed_part_ : std::initializer_list<std::string>{__VA_ARGS__})                           \
      CHECK_MESSAGE(heed_msg_.find(heed_part_) != std::string::npos, "error '", heed_msg_, "' lacks '", heed_part_, \
                    "'");                                                                                           \
  } while (0)

// Bit-for-bit equality of values (and shapes).
inline bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<double>() == b.to_vector<double>();
}

inline const SafetensorsFile& fixture(const std::string& file) {
  static std::map<std::string, SafetensorsFile> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, load_safetensors(std::string(HEED_FIXTURES_DIR) + "/" + file)).first;
  return it->second;
}

// Case names of a fixture: the part of each tensor name before the first '.', in file order,
// leaving out `skip` (e.g. "problem").
inline std::vector<std::string> fixture_cases(const SafetensorsFile& f, const std::string& skip = "") {
  std::vector<std::string> names;
  std::set<std::string> seen = {skip};
  for (const auto& [name, t] : f.tensors) {
    std::string c = name.substr(0, name.find('.'));
    if (seen.insert(c).second) names.push_back(c);
  }
  return names;
}

inline Tensor f64(std::initializer_list<double> v) { return tensor(v, {DType::Float64}); }

}  // namespace heed::optim_test
