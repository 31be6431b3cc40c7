#include "datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "tensor/error.h"

namespace heed::data {

namespace {

constexpr int kMaxDims = 16;
constexpr size_t kChunk = size_t(1) << 20;

size_t type_size(uint8_t type) {
  switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}

// Reads up to n bytes into out; returns how many (fewer only at the end of the data).
using Reader = std::function<size_t(uint8_t* out, size_t n)>;

void read_exactly(const Reader& read, uint8_t* out, size_t n, const std::string& source, const char* what) {
  size_t got = read(out, n);
  HEED_CHECK(got == n, "idx {}: truncated in the {} ({} of {} bytes)", source, what, got, n);
}

IdxArray parse(const Reader& read, const std::string& source) {
  uint8_t magic[4];
  read_exactly(read, magic, 4, source, "magic");
  HEED_CHECK(magic[0] == 0 && magic[1] == 0,
             "idx {}: bad magic {:02x} {:02x} {:02x} {:02x} (an IDX file starts with two zero bytes)", source,
             magic[0], magic[1], magic[2], magic[3]);
  const size_t element = type_size(magic[2]);
  HEED_CHECK(element > 0, "idx {}: unknown value type 0x{:02x} (expected 08, 09, 0B, 0C, 0D or 0E)", source, magic[2]);
  const int ndims = magic[3];
  HEED_CHECK(ndims >= 1 && ndims <= kMaxDims, "idx {}: {} dimensions (expected 1 to {})", source, ndims, kMaxDims);

  IdxArray array;
  array.type = IdxType(magic[2]);
  uint64_t total = element;
  for (int d = 0; d < ndims; ++d) {
    uint8_t b[4];
    read_exactly(read, b, 4, source, "dimension sizes");
    const uint32_t size = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
    HEED_CHECK(size <= uint32_t(std::numeric_limits<int32_t>::max()), "idx {}: dimension {} has a negative size", source, d);
    array.shape.push_back(int64_t(size));
    HEED_CHECK(size == 0 || total <= (uint64_t(1) << 46) / size, "idx {}: the sizes {} describe an absurd amount of data",
               source, fmt::join(array.shape, " x "));
    total *= size;
  }

  // The data, in chunks, so that memory follows what is really there.
  while (array.bytes.size() < total) {
    const size_t want = size_t(std::min<uint64_t>(kChunk, total - array.bytes.size()));
    const size_t at = array.bytes.size();
    array.bytes.resize(at + want);
    const size_t got = read(array.bytes.data() + at, want);
    HEED_CHECK(got == want, "idx {}: truncated: the header ({}) promises {} bytes of values, the file holds {}", source,
               fmt::join(array.shape, " x "), total, at + got);
  }
  uint8_t extra;
  HEED_CHECK(read(&extra, 1) == 0, "idx {}: trailing bytes after the {} bytes of values the header ({}) describes",
             source, total, fmt::join(array.shape, " x "));

  // Big-endian to this machine's order.
  if (element > 1) {
    for (size_t i = 0; i < array.bytes.size(); i += element) std::reverse(&array.bytes[i], &array.bytes[i] + element);
  }
  return array;
}

}  // namespace

int64_t IdxArray::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Tensor IdxArray::to_tensor() const {
  const Shape dims(shape.begin(), shape.end());
  const size_t n = size_t(numel());
  auto copy_as = [&](auto sample) {
    using T = decltype(sample);
    std::vector<T> values(n);
    if (n > 0) std::memcpy(values.data(), bytes.data(), n * sizeof(T));
    return values;
  };
  switch (type) {
    case IdxType::UInt8: {
      Tensor out = empty(dims, {DType::UInt8});
      if (n > 0) std::memcpy(out.data_ptr<uint8_t>(), bytes.data(), n);
      return out;
    }
    case IdxType::Float32: return from_vector(copy_as(float{}), dims);
    case IdxType::Float64: return from_vector(copy_as(double{}), dims);
    default: {
      std::vector<int64_t> values(n);
      for (size_t i = 0; i < n; ++i) {
        if (type == IdxType::Int8) values[i] = int8_t(bytes[i]);
        else if (type == IdxType::Int16) values[i] = int16_t(bytes[2 * i] | (bytes[2 * i + 1] << 8));
        else {
          int32_t v;
          std::memcpy(&v, &bytes[4 * i], 4);
          values[i] = v;
        }
      }
      return from_vector(values, dims);
    }
  }
}

IdxArray parse_idx(std::string_view bytes, const std::string& source_name) {
  size_t at = 0;
  return parse(
      [&](uint8_t* out, size_t n) {
        const size_t got = std::min(n, bytes.size() - at);
        if (got > 0) std::memcpy(out, bytes.data() + at, got);
        at += got;
        return got;
      },
      source_name);
}

IdxArray read_idx(const std::filesystem::path& file) {
  std::error_code ec;
  HEED_CHECK(std::filesystem::is_regular_file(file, ec), "idx: {} is not a readable file", file.string());
  gzFile in = gzopen(file.c_str(), "rb");  // reads plain files unchanged
  HEED_CHECK(in != nullptr, "idx: cannot open {}", file.string());
  struct Closer {
    gzFile f;
    ~Closer() { gzclose(f); }
  } closer{in};
  const std::string source = file.string();
  return parse(
      [&](uint8_t* out, size_t n) {
        size_t done = 0;
        while (done < n) {
          const int got = gzread(in, out + done, unsigned(std::min<size_t>(n - done, kChunk)));
          if (got < 0) {
            int code = 0;
            const char* message = gzerror(in, &code);
            HEED_FAIL("idx {}: cannot decompress: {}", source, message ? message : "gzip error");
          }
          if (got == 0) break;
          done += size_t(got);
        }
        return done;
      },
      source);
}

}  // namespace heed::data
