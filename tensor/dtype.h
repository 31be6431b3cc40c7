// Element types: float32 (the working dtype), float64 (gradient checks), int64 (indices),
// uint8 (bytes, and bool as 0/1).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tensor/error.h"

namespace heed {

enum class DType : uint8_t { Float32, Float64, Int64, UInt8 };
inline constexpr DType kBool = DType::UInt8;  // bool tensors are uint8 holding 0 or 1

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// The dtype a binary op computes in: the wider of the two, floats above integers.
constexpr DType promote(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::UInt8: return 0;
      case DType::Int64: return 1;
      case DType::Float32: return 2;
      case DType::Float64: return 3;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <typename T> inline constexpr DType dtype_v = dtype_of<T>::value;

// Calls fn with a value of the C++ type behind `t`: dispatch(t, [&](auto tag) { using T = decltype(tag); ... }).
template <typename Fn>
decltype(auto) dispatch(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Int64: return fn(int64_t{});
    case DType::UInt8: return fn(uint8_t{});
  }
  HEED_FAIL("dispatch: unknown dtype");
}

// Same, for floating dtypes only; `op` names the caller in the error.
template <typename Fn>
decltype(auto) dispatch_floating(DType t, std::string_view op, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: HEED_FAIL("{}: expected a floating dtype (float32 or float64), got {}", op, dtype_name(t));
  }
}

}  // namespace heed

template <> struct fmt::formatter<heed::DType> : fmt::formatter<std::string_view> {
  auto format(heed::DType t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(heed::dtype_name(t), ctx);
  }
};
