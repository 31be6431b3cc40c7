// IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a magic
// of four bytes (0, 0, type, number of dimensions), each dimension as a big-endian int32, then
// the values, big-endian, row-major. Gzipped files are read as they are (found by their magic,
// not their name).
//
//   data::IdxArray images = data::read_idx("train-images-idx3-ubyte.gz");  // shape {60000, 28, 28}
//   Tensor x = images.to_tensor();                                           // uint8
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/tensor.h"

namespace heed::data {

enum class IdxType : uint8_t { UInt8 = 0x08, Int8 = 0x09, Int16 = 0x0B, Int32 = 0x0C, Float32 = 0x0D, Float64 = 0x0E };

struct IdxArray {
  IdxType type = IdxType::UInt8;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // the values in this machine's byte order, row-major

  int64_t numel() const;
  // uint8 -> UInt8, int8/int16/int32 -> Int64, float32 -> Float32, float64 -> Float64.
  Tensor to_tensor() const;
};

// A malformed file (bad magic, unknown type, no or too many dimensions, sizes that disagree with
// the data, truncation, trailing bytes, a corrupt gzip stream) or an unreadable one: heed::Error
// naming the file and the fault. Memory grows with the data actually read, never with the sizes
// a header claims.
IdxArray read_idx(const std::filesystem::path& file);
// The same on bytes in memory (not gzipped); `source_name` prefixes the error messages.
IdxArray parse_idx(std::string_view bytes, const std::string& source_name);

}  // namespace heed::data
