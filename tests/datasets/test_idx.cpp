#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "datasets/idx.h"
#include "tensor/error.h"

using namespace heed;
using namespace heed::data;
namespace fs = std::filesystem;

namespace {

std::string header(uint8_t type, std::vector<uint32_t> dims) {
  std::string s = {'\0', '\0', char(type), char(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(char((d >> shift) & 0xff));
  return s;
}

fs::path temp_file(const std::string& name) { return fs::temp_directory_path() / ("heed_test_idx_" + name); }

void write_gz(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  gzclose(f);
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("parse_idx reads uint8 images with their shape") {
  std::string bytes = header(0x08, {2, 2, 3});
  for (int i = 0; i < 12; ++i) bytes.push_back(char(i * 20));
  IdxArray a = parse_idx(bytes, "mem");
  CHECK(a.type == IdxType::UInt8);
  CHECK(a.shape == std::vector<int64_t>{2, 2, 3});
  CHECK(a.numel() == 12);
  Tensor t = a.to_tensor();
  CHECK(t.dtype() == DType::UInt8);
  CHECK(t.shape() == Shape{2, 2, 3});
  CHECK(t.to_vector<int64_t>()[11] == 220);
}

TEST_CASE("parse_idx converts big-endian int16, int32, float32 and float64 values") {
  std::string s16 = header(0x0B, {2}) + std::string("\xff\xfe\x01\x02", 4);
  CHECK(parse_idx(s16, "mem").to_tensor().to_vector<int64_t>() == std::vector<int64_t>{-2, 258});
  std::string s32 = header(0x0C, {1}) + std::string("\x80\x00\x00\x01", 4);
  CHECK(parse_idx(s32, "mem").to_tensor().to_vector<int64_t>() == std::vector<int64_t>{-2147483647});
  std::string s8 = header(0x09, {1}) + std::string("\xff", 1);
  CHECK(parse_idx(s8, "mem").to_tensor().to_vector<int64_t>() == std::vector<int64_t>{-1});
  std::string f32 = header(0x0D, {1}) + std::string("\x3f\xc0\x00\x00", 4);  // 1.5
  Tensor f = parse_idx(f32, "mem").to_tensor();
  CHECK(f.dtype() == DType::Float32);
  CHECK(f.to_vector<double>()[0] == 1.5);
  std::string f64 = header(0x0E, {1}) + std::string("\xc0\x04\x00\x00\x00\x00\x00\x00", 8);  // -2.5
  CHECK(parse_idx(f64, "mem").to_tensor().to_vector<double>()[0] == -2.5);
}

TEST_CASE("parse_idx rejects malformed files with a clear error") {
  auto fails_with = [](const std::string& bytes, const std::string& words) {
    try {
      parse_idx(bytes, "bad.idx");
      FAIL("no error for: " << words);
    } catch (const Error& e) {
      std::string what = e.what();
      CHECK_MESSAGE(what.find(words) != std::string::npos, what);
      CHECK(what.find("bad.idx") != std::string::npos);
    }
  };
  fails_with("", "truncated in the magic");
  fails_with(std::string("\x01\x00\x08\x01", 4), "bad magic");
  fails_with(header(0x07, {1}) + "x", "unknown value type");
  fails_with(header(0x08, {}), "0 dimensions");
  fails_with(header(0x08, {4}).substr(0, 6), "truncated in the dimension sizes");
  fails_with(header(0x08, {4}) + "abc", "promises 4 bytes");
  fails_with(header(0x08, {2}) + "abc", "trailing bytes");
  fails_with(header(0x08, {0x7fffffff, 0x7fffffff, 0x7fffffff}), "absurd");
  fails_with(header(0x08, {0x80000000u}), "negative size");
  // A header promising 1 GiB over a few bytes fails on the bytes, without allocating the GiB.
  fails_with(header(0x0E, {1u << 27}) + "12345678", "truncated");
}

TEST_CASE("read_idx reads plain and gzipped files alike, and rejects a corrupt gzip stream") {
  std::string bytes = header(0x08, {3, 2});
  for (int i = 0; i < 6; ++i) bytes.push_back(char(i));
  const fs::path plain = temp_file("plain"), gz = temp_file("gz.gz");
  { std::ofstream(plain, std::ios::binary) << bytes; }
  write_gz(gz, bytes);
  CHECK(read_idx(plain).bytes == read_idx(gz).bytes);
  CHECK(read_idx(gz).shape == std::vector<int64_t>{3, 2});

  std::string compressed = read_all(gz);
  { std::ofstream(gz, std::ios::binary) << compressed.substr(0, compressed.size() / 2); }
  CHECK_THROWS_AS(read_idx(gz), Error);
  CHECK_THROWS_WITH_AS(read_idx(temp_file("missing")), doctest::Contains("not a readable file"), Error);
  fs::remove(plain), fs::remove(gz);
}

TEST_CASE("read_idx reads Fashion-MNIST's test set when Debian's dataset-fashion-mnist is installed") {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: dataset-fashion-mnist is not installed");
    return;
  }
  IdxArray images = read_idx(dir / "t10k-images-idx3-ubyte.gz"), labels = read_idx(dir / "t10k-labels-idx1-ubyte.gz");
  CHECK(images.shape == std::vector<int64_t>{10000, 28, 28});
  CHECK(labels.shape == std::vector<int64_t>{10000});
  std::vector<int64_t> counts(256, 0);
  for (uint8_t label : labels.bytes) ++counts[label];
  for (int c = 0; c < 10; ++c) CHECK(counts[c] == 1000);  // ten balanced classes, nothing else
}
