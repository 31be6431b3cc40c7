// Shared machinery of the PyTorch-fixture tests: a fixture file holds cases whose tensors are
// named "<case>.<what>"; each test keeps a table from case name to the heed call that must
// reproduce it, runs every case as its own SUBCASE, and checks the table against the file.
#pragma once
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/helpers.h"
#include "tensor/io.h"

namespace heed::test {

// Case names in file order: the part of each tensor name before the first '.'.
inline std::vector<std::string> fixture_case_names(const SafetensorsFile& f) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& [name, t] : f.tensors) {
    std::string c = name.substr(0, name.find('.'));
    if (seen.insert(c).second) names.push_back(c);
  }
  return names;
}

struct Tolerance {
  double atol64 = 1e-10, rtol64 = 1e-8;  // float64 on both sides: rounding order only
  double atol32 = 1e-5, rtol32 = 1e-5;
};

// `got` against PyTorch's `want`: defined, same dtype, values close.
inline void check_against_torch(const std::string& what, const Tensor& got, const Tensor& want, Tolerance tol = {}) {
  INFO(what);
  REQUIRE_MESSAGE(got.defined(), what, " is undefined");
  CHECK_MESSAGE(got.dtype() == want.dtype(), what, ": dtype ", std::string(dtype_name(got.dtype())), " vs PyTorch's ",
                std::string(dtype_name(want.dtype())));
  const bool f32 = want.dtype() == DType::Float32;
  CHECK_CLOSE(got, want, f32 ? tol.atol32 : tol.atol64, f32 ? tol.rtol32 : tol.rtol64);
}

// Runs run(case, table entry) for every case of the file found in `table`, each as a SUBCASE;
// an exception fails that case only. Cases for which skip(case) holds are left out.
template <typename Table, typename Run, typename Skip>
void run_fixture_cases(const SafetensorsFile& f, const Table& table, Run run, Skip skip) {
  for (const std::string& c : fixture_case_names(f)) {
    if (skip(c)) continue;
    auto it = table.find(c);
    if (it == table.end()) continue;  // reported by the coverage test
    SUBCASE(c.c_str()) {
      try {
        run(c, it->second);
      } catch (const std::exception& e) {
        FAIL_CHECK(c, " threw: ", std::string(e.what()));
      }
    }
  }
}
template <typename Table, typename Run>
void run_fixture_cases(const SafetensorsFile& f, const Table& table, Run run) {
  run_fixture_cases(f, table, run, [](const std::string&) { return false; });
}

}  // namespace heed::test
