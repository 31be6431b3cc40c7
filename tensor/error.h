// heed::Error — the one error type heed throws, and HEED_CHECK to raise it.
// A failed check names the op, the shapes and dtypes involved, and what was expected:
//   matmul: inner dimensions differ: [32, 64] @ [128, 10]
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace heed {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace heed

// HEED_CHECK(cond, "op: message {}", args...) throws heed::Error when cond is false.
#define HEED_CHECK(cond, ...)                                  \
  do {                                                         \
    if (!(cond)) throw ::heed::Error(::fmt::format(__VA_ARGS__)); \
  } while (0)

#define HEED_FAIL(...) throw ::heed::Error(::fmt::format(__VA_ARGS__))
