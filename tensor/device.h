// Where a tensor's bytes live: the CPU, or a CUDA device (index 0, 1, ...).
#pragma once
#include <fmt/format.h>

namespace heed {

struct Device {
  enum class Kind : uint8_t { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static constexpr Device cpu() { return {Kind::CPU, 0}; }
  static constexpr Device cuda(int index = 0) { return {Kind::CUDA, index}; }
  constexpr bool is_cpu() const { return kind == Kind::CPU; }
  constexpr bool is_cuda() const { return kind == Kind::CUDA; }
  // Written out, not defaulted: nvcc reads this header as C++17 (cuda/backend.cu).
  friend constexpr bool operator==(Device a, Device b) { return a.kind == b.kind && a.index == b.index; }
  friend constexpr bool operator!=(Device a, Device b) { return !(a == b); }
};

}  // namespace heed

template <> struct fmt::formatter<heed::Device> : fmt::formatter<std::string_view> {
  auto format(heed::Device d, fmt::format_context& ctx) const {
    if (d.is_cpu()) return fmt::format_to(ctx.out(), "cpu");
    return fmt::format_to(ctx.out(), "cuda:{}", d.index);
  }
};
