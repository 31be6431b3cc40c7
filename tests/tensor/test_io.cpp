// Tests for tensor/io.h: .npy and .safetensors round trips, files written by NumPy and by hand
// (tests/fixtures/io/, made by scripts/make_io_fixtures.py), a battery of malformed files that
// must each raise a clear heed::Error, and atomic saves.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "tensor/io.h"
#include "tensor/ops.h"
#include "tests/helpers.h"

namespace fs = std::filesystem;
using namespace heed;

namespace {

const std::string kFixtures = std::string(HEED_FIXTURES_DIR) + "/io/";

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / fmt::format("heed_test_io_{}_{}", ::getpid(), counter++);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(path)) names.insert(entry.path().filename().string());
    return names;
  }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le_bytes(uint64_t value, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}

// A contiguous CPU tensor with distinct values per element; floats include -0, NaN and infinities.
Tensor sample(const Shape& shape, DType dtype) {
  Tensor t = raw::empty(shape, dtype, Device::cpu());
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* data = static_cast<T*>(t.raw_data());
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        const T specials[] = {T(-0.0), std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                              -std::numeric_limits<T>::infinity()};
        data[i] = i % 5 == 4 && i / 5 < 4 ? specials[i / 5] : T(i) * T(0.75) - T(2.1);
      } else if constexpr (std::is_same_v<T, uint8_t>) {
        data[i] = static_cast<uint8_t>(i * 37 + 1);
      } else {
        data[i] = (i % 2 ? 1 : -1) * (i * 0x0123456789ABLL + 5);
      }
    }
  });
  return t;
}

// Same dtype and shape, and bit-identical values in logical order.
void check_identical(const Tensor& loaded, const Tensor& expected) {
  REQUIRE(loaded.defined());
  CHECK(loaded.device() == Device::cpu());
  // (tensor.cpp's is_contiguous says false for some zero-element shapes such as [2, 0, 3])
  if (loaded.numel() > 0) CHECK(loaded.is_contiguous());
  REQUIRE(loaded.dtype() == expected.dtype());
  REQUIRE(loaded.shape() == expected.shape());
  Tensor e = raw::contiguous(expected);
  const size_t nbytes = static_cast<size_t>(e.numel()) * dtype_size(e.dtype());
  if (nbytes > 0) CHECK(std::memcmp(loaded.raw_data(), e.raw_data(), nbytes) == 0);
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const heed::Error& e) {
    return e.what();
  }
  return "(no heed::Error thrown)";
}

// `expr` throws heed::Error whose message contains `fragment` and names `path`.
#define REQUIRE_IO_ERROR(expr, path, fragment)                                 \
  do {                                                                         \
    REQUIRE_THROWS_AS(expr, heed::Error);                                      \
    const std::string message_ = error_of([&] { (void)(expr); });              \
    CHECK_MESSAGE(message_.find(fragment) != std::string::npos, message_);     \
    CHECK_MESSAGE(message_.find(path) != std::string::npos, message_);         \
  } while (0)

// A .npy file with the given header dict and data bytes, padded as NumPy pads.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const size_t preamble = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  return out + le_bytes(header.size(), static_cast<int>(preamble - 8)) + header + data;
}

// A .safetensors file with the given header text and data bytes.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le_bytes(header.size(), 8) + header + data;
}

const std::vector<DType> kAllDTypes = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8};

}  // namespace

// ---------------------------------------------------------------- .npy

TEST_CASE("io: npy round trip of every dtype, including 0-d and empty tensors") {
  TempDir dir;
  for (DType dtype : kAllDTypes) {
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{2, 0, 3}, Shape{7}, Shape{2, 3}, Shape{2, 1, 3, 2}}) {
      const std::string what = fmt::format("{} {}", dtype, shape);
      CAPTURE(what);
      const std::string path = dir.file("t.npy");
      Tensor t = sample(shape, dtype);
      save_npy(path, t);
      check_identical(load_npy(path), t);
      // Header padded to 64 bytes, as NumPy writes it.
      const uint64_t data_bytes = static_cast<uint64_t>(t.numel()) * dtype_size(dtype);
      CHECK((fs::file_size(path) - data_bytes) % 64 == 0);
    }
  }
  CHECK(dir.entries() == std::set<std::string>{"t.npy"});
}

TEST_CASE("io: npy saves non-contiguous tensors in logical order") {
  TempDir dir;
  const std::string path = dir.file("view.npy");
  Tensor base = sample({3, 4}, DType::Float32);
  for (const Tensor& view : {raw::transpose(base, 0, 1), raw::slice(base, 1, 0, 4, 2), raw::select(base, 1, 2),
                             raw::expand(sample({1, 3}, DType::Int64), {4, 3}),
                             raw::permute(sample({2, 3, 4}, DType::Float64), {2, 0, 1})}) {
    const std::string shape = fmt::format("{}", view.shape());
    CAPTURE(shape);
    REQUIRE(!view.is_contiguous());
    save_npy(path, view);
    check_identical(load_npy(path), view);
  }
}

TEST_CASE("io: npy with a header too long for version 1.0 is written as version 2.0") {
  TempDir dir;
  const std::string path = dir.file("long.npy");
  Tensor t = sample(Shape(25000, 1), DType::Float32);  // 25000 dims of size 1: a 75 kB shape tuple
  save_npy(path, t);
  CHECK(read_bytes(path)[6] == 2);
  check_identical(load_npy(path), t);
}

TEST_CASE("io: npy reads files written by NumPy") {
  using test::values;
  Tensor f4 = load_npy(kFixtures + "f4_2x3.npy");
  CHECK(f4.dtype() == DType::Float32);
  CHECK(f4.shape() == Shape{2, 3});
  CHECK(values(f4) == std::vector<double>{-1, -0.5, 0, 0.5, 1, 1.5});

  Tensor f8 = load_npy(kFixtures + "f8_specials.npy");
  CHECK(f8.dtype() == DType::Float64);
  REQUIRE(f8.shape() == Shape{7});
  const double* d = f8.data_ptr<double>();
  CHECK(d[0] == 0.1);
  CHECK(d[1] == -2.5);
  CHECK(d[2] == 1e300);
  CHECK((d[3] == 0 && std::signbit(d[3])));
  CHECK(d[4] == std::numeric_limits<double>::infinity());
  CHECK(d[5] == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(d[6]));

  Tensor i8 = load_npy(kFixtures + "i8_2x2.npy");
  CHECK(i8.dtype() == DType::Int64);
  CHECK(i8.shape() == Shape{2, 2});
  CHECK(i8.to_vector<int64_t>() == std::vector<int64_t>{-(int64_t{1} << 62), -1, 0, int64_t{1} << 40});

  Tensor u1 = load_npy(kFixtures + "u1_5.npy");
  CHECK(u1.dtype() == DType::UInt8);
  CHECK(u1.to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 127, 128, 255});

  Tensor b1 = load_npy(kFixtures + "b1_2x3.npy");  // bool becomes uint8 0/1
  CHECK(b1.dtype() == kBool);
  CHECK(b1.shape() == Shape{2, 3});
  CHECK(b1.to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 1, 0, 0, 1});

  Tensor i4 = load_npy(kFixtures + "i4_4.npy");  // int32 widens to int64
  CHECK(i4.dtype() == DType::Int64);
  CHECK(i4.to_vector<int64_t>() == std::vector<int64_t>{-2147483648LL, -1, 0, 2147483647LL});

  Tensor scalar = load_npy(kFixtures + "f8_scalar.npy");
  CHECK(scalar.dim() == 0);
  CHECK(scalar.item() == 3.25);

  Tensor empty = load_npy(kFixtures + "f4_empty_0x3.npy");
  CHECK(empty.dtype() == DType::Float32);
  CHECK(empty.shape() == Shape{0, 3});

  for (const char* name : {"f4_v2.npy", "f4_v3.npy"}) {
    CAPTURE(name);
    Tensor t = load_npy(kFixtures + name);
    CHECK(t.shape() == Shape{4});
    CHECK(values(t) == std::vector<double>{0, 1, 2, 3});
  }
}

TEST_CASE("io: npy reads fortran_order arrays into C order") {
  Tensor f = load_npy(kFixtures + "f8_fortran_2x3x4.npy");  // element [i, j, k] = i*12 + j*4 + k
  CHECK(f.dtype() == DType::Float64);
  REQUIRE(f.shape() == Shape{2, 3, 4});
  CHECK(f.is_contiguous());
  std::vector<double> expected(24);
  for (int i = 0; i < 24; ++i) expected[i] = i;
  CHECK(test::values(f) == expected);

  Tensor i4 = load_npy(kFixtures + "i4_fortran_3x2.npy");  // int32 and column-major together
  CHECK(i4.dtype() == DType::Int64);
  REQUIRE(i4.shape() == Shape{3, 2});
  CHECK(i4.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("io: malformed .npy files raise heed::Error naming the file and the problem") {
  TempDir dir;
  const std::string path = dir.file("bad.npy");
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string data24(24, '\0');
  auto check_bad = [&](const std::string& bytes, const std::string& fragment) {
    CAPTURE(fragment);
    write_bytes(path, bytes);
    REQUIRE_IO_ERROR(load_npy(path), path, fragment);
  };
  write_bytes(path, npy_bytes(good_dict, data24));
  CHECK(load_npy(path).shape() == Shape{2, 3});  // the baseline is fine

  check_bad("", "too short");
  check_bad("\x93NUMPY\x01", "too short");
  check_bad("\x93NUMPZ" + npy_bytes(good_dict, data24).substr(6), "bad magic");
  check_bad("PK\x03\x04 this is a zip file", "bad magic");
  check_bad(npy_bytes(good_dict, data24, 4), "unsupported .npy version 4.0");
  std::string minor = npy_bytes(good_dict, data24);
  minor[7] = 1;
  check_bad(minor, "unsupported .npy version 1.1");
  check_bad("\x93NUMPY\x02" + std::string(1, '\0') + le_bytes(0xFFFFFFF0u, 4) + "{", "over the 100 MB limit");
  check_bad("\x93NUMPY\x01" + std::string(1, '\0') + le_bytes(60000, 2) + good_dict, "does not fit");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", data24), "malformed header");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False}", data24), "missing key 'shape'");
  check_bad(npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data24),
            "appears twice");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", data24), "unexpected key 'x'");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} junk", data24), "unexpected text");
  check_bad(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (3,)}", data24), "unsupported dtype descr '<c8'");
  check_bad(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3)}", data24), "unsupported dtype descr '>f4'");
  check_bad(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}", data24), "structured");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 3)}", data24), "True or False");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}", data24), "negative dimension");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", data24), "must be a tuple");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': 6}", data24), "expected '('");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", data24),
            "too large");
  check_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", data24),
            "overflows");
  check_bad(npy_bytes(good_dict, data24.substr(0, 20)), "truncated data");
  check_bad(npy_bytes(good_dict, ""), "truncated data");
  check_bad(npy_bytes(good_dict, data24 + "xyz"), "3 unexpected bytes");

  REQUIRE_IO_ERROR(load_npy(dir.file("missing.npy")), dir.file("missing.npy"), "No such file or directory");
  REQUIRE_IO_ERROR(load_npy(dir.path.string()), dir.path.string(), "not a regular file");
}

// ---------------------------------------------------------------- .safetensors

TEST_CASE("io: safetensors round trip keeps order, dtypes, shapes, values and metadata") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  Tensor matrix = sample({3, 4}, DType::Float32);
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"z.weight", matrix},
      {"a.bias", sample({5}, DType::Float64)},
      {"step", sample({}, DType::Int64)},
      {"empty", sample({0, 3}, DType::Float32)},
      {"bytes", sample({2, 3}, DType::UInt8)},
      {"transposed", raw::transpose(matrix, 0, 1)},
      {"every_other", raw::slice(sample({10}, DType::Int64), 0, 0, 10, 3)},
      {"scalar64", sample({}, DType::Float64)},
      {"m\u00fcnchen", sample({1, 1, 2}, DType::UInt8)},
  };
  const std::map<std::string, std::string> metadata = {{"format", "heed"}, {"note", "h\u00e9llo \"quoted\"\n"}, {"empty", ""}};
  save_safetensors(path, tensors, metadata);

  // Header length prefix, 8-byte aligned header, data exactly after it.
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK(header_len % 8 == 0);
  uint64_t data_bytes = 0;
  for (const auto& [name, t] : tensors) data_bytes += static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
  CHECK(bytes.size() == 8 + header_len + data_bytes);
  CHECK(bytes[8] == '{');

  SafetensorsFile file = load_safetensors(path);
  REQUIRE(file.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CAPTURE(tensors[i].first);
    CHECK(file.tensors[i].first == tensors[i].first);
    check_identical(file.tensors[i].second, tensors[i].second);
    CHECK(file.contains(tensors[i].first));
    CHECK(file.at(tensors[i].first).is_same(file.tensors[i].second));
  }
  CHECK(file.metadata == metadata);
  CHECK(!file.contains("nope"));
  CHECK(dir.entries() == std::set<std::string>{"ckpt.safetensors"});
}

TEST_CASE("io: safetensors with no tensors and no metadata") {
  TempDir dir;
  const std::string path = dir.file("none.safetensors");
  save_safetensors(path, {});
  SafetensorsFile file = load_safetensors(path);
  CHECK(file.tensors.empty());
  CHECK(file.metadata.empty());
  CHECK(fs::file_size(path) % 8 == 0);
  REQUIRE_THROWS_AS(file.at("w"), heed::Error);
  CHECK(error_of([&] { file.at("w"); }).find("holds no tensors") != std::string::npos);
}

TEST_CASE("io: safetensors reads a file written by hand in Python") {
  SafetensorsFile file = load_safetensors(kFixtures + "hand.safetensors");
  // The header lists names alphabetically; tensors come back in the order of their data.
  std::vector<std::string> names;
  for (const auto& entry : file.tensors) names.push_back(entry.first);
  CHECK(names == std::vector<std::string>{"weight", "bias", "step", "empty", "mask", "pixels"});
  CHECK(file.metadata == std::map<std::string, std::string>{{"format", "heed"}, {"note", "h\u00e9llo"}});

  const Tensor& weight = file.at("weight");
  CHECK(weight.dtype() == DType::Float32);
  CHECK(weight.shape() == Shape{2, 3});
  CHECK(test::values(weight) == std::vector<double>{0, 1, 2, 3, 4, 5});
  CHECK(file.at("bias").dtype() == DType::Float64);
  CHECK(test::values(file.at("bias")) == std::vector<double>{0.5, -1, 2});
  CHECK(file.at("step").dim() == 0);
  CHECK(file.at("step").to_vector<int64_t>() == std::vector<int64_t>{-7});
  CHECK(file.at("empty").shape() == Shape{0, 2});
  CHECK(file.at("mask").dtype() == kBool);
  CHECK(file.at("mask").shape() == Shape{2, 2});
  CHECK(file.at("mask").to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 0, 1});
  CHECK(file.at("pixels").to_vector<uint8_t>() == std::vector<uint8_t>{0, 9, 200, 255});
}

TEST_CASE("io: SafetensorsFile::at lists the available names when the name is absent") {
  SafetensorsFile file = load_safetensors(kFixtures + "hand.safetensors");
  REQUIRE_THROWS_AS(file.at("wieght"), heed::Error);
  const std::string message = error_of([&] { file.at("wieght"); });
  CHECK_MESSAGE(message.find("'wieght'") != std::string::npos, message);
  for (const char* name : {"weight", "bias", "step", "empty", "mask", "pixels"})
    CHECK_MESSAGE(message.find(fmt::format("'{}'", name)) != std::string::npos, message);
}

TEST_CASE("io: save_safetensors rejects bad arguments before touching the file") {
  TempDir dir;
  const std::string path = dir.file("out.safetensors");
  write_bytes(path, "old contents");
  Tensor t = sample({2}, DType::Float32);
  REQUIRE_IO_ERROR(save_safetensors(path, {{"a", t}, {"a", t}}), path, "given twice");
  REQUIRE_IO_ERROR(save_safetensors(path, {{"__metadata__", t}}), path, "reserved");
  REQUIRE_IO_ERROR(save_safetensors(path, {{"a", Tensor()}}), path, "undefined");
  REQUIRE_IO_ERROR(save_safetensors(path, {{"bad\xff", t}}), path, "UTF-8");
  REQUIRE_IO_ERROR(save_npy(path, Tensor()), path, "undefined");
  CHECK(read_bytes(path) == "old contents");
  CHECK(dir.entries() == std::set<std::string>{"out.safetensors"});
}

TEST_CASE("io: malformed .safetensors files raise heed::Error naming the file and the problem") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const std::string data24(24, '\0');
  auto check_bad = [&](const std::string& bytes, const std::string& fragment) {
    CAPTURE(fragment);
    write_bytes(path, bytes);
    REQUIRE_IO_ERROR(load_safetensors(path), path, fragment);
  };
  auto one = [](const std::string& entry) { return "{\"a\": " + entry + "}"; };
  write_bytes(path, safetensors_bytes(one(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]})"), data24));
  CHECK(load_safetensors(path).at("a").shape() == Shape{2, 3});  // the baseline is fine

  check_bad("", "too short");
  check_bad("\x10\0\0\0\0", "too short");
  check_bad(le_bytes(uint64_t{1} << 40, 8) + "{}", "over the 100 MB limit");
  check_bad(le_bytes(~uint64_t{0}, 8) + "{}", "over the 100 MB limit");
  check_bad(le_bytes(1000, 8) + "{}      ", "does not fit");
  check_bad(safetensors_bytes("", ""), "not valid JSON");
  check_bad(safetensors_bytes("{not json", data24), "not valid JSON");
  check_bad(safetensors_bytes("{\"a\": \"\xff\xfe\"}", ""), "not valid JSON");
  check_bad(safetensors_bytes("[1, 2]", ""), "must be a JSON object");
  check_bad(safetensors_bytes(one("5"), ""), "entry must be a JSON object");
  check_bad(safetensors_bytes(one(R"({"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]})"), data24),
            "unsupported dtype 'F16'");
  check_bad(safetensors_bytes(one(R"({"dtype": "Q9", "shape": [2, 3], "data_offsets": [0, 24]})"), data24),
            "unsupported dtype 'Q9'");
  check_bad(safetensors_bytes(one(R"({"dtype": 4, "shape": [2, 3], "data_offsets": [0, 24]})"), data24),
            "dtype must be a string");
  check_bad(safetensors_bytes(one(R"({"shape": [2, 3], "data_offsets": [0, 24]})"), data24), "missing key 'dtype'");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "data_offsets": [0, 24]})"), data24), "missing key 'shape'");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [2, 3]})"), data24), "missing key 'data_offsets'");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [6], "data_offsets": [0, 24], "x": 1})"), data24),
            "unexpected key 'x'");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [-2, 3], "data_offsets": [0, 24]})"), data24),
            "non-negative integer");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [2.5], "data_offsets": [0, 24]})"), data24),
            "non-negative integer");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": 6, "data_offsets": [0, 24]})"), data24),
            "shape must be an array");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]})"), ""),
            "overflows");
  check_bad(safetensors_bytes(one(R"({"dtype": "U8", "shape": [18446744073709551615], "data_offsets": [0, 0]})"), ""),
            "too large");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [6], "data_offsets": [0]})"), data24),
            "data_offsets must be an array");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [6], "data_offsets": [0, -24]})"), data24),
            "non-negative integer");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [250], "data_offsets": [0, 1000]})"), data24),
            "out of range");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [24, 28]})"), data24),
            "out of range");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [0], "data_offsets": [8, 4]})"), data24),
            "end before they begin");
  check_bad(safetensors_bytes(one(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]})"), data24),
            "needs 24 bytes");
  check_bad(safetensors_bytes(one(R"({"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 24]})"), data24),
            "needs 48 bytes");
  check_bad(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                              R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                              data24),
            "overlap");
  check_bad(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                              R"( "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                              data24),
            "duplicate tensor name 'a'");
  check_bad(safetensors_bytes(R"({"__metadata__": {"k": "v", "k": "w"}})", ""), "duplicate key 'k'");
  check_bad(safetensors_bytes(R"({"__metadata__": {"k": 1}})", ""), "must be a string");
  check_bad(safetensors_bytes(R"({"__metadata__": ["k"]})", ""), "must be an object of strings");
  check_bad(safetensors_bytes("{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}", ""),
            "nests deeper");
  REQUIRE_IO_ERROR(load_safetensors(dir.file("missing.safetensors")), dir.file("missing.safetensors"),
                   "No such file or directory");
}

// ---------------------------------------------------------------- atomic writes

TEST_CASE("io: saving over an existing file replaces it and leaves no temporary file") {
  TempDir dir;
  const std::string npy = dir.file("t.npy"), st = dir.file("t.safetensors");
  write_bytes(npy, std::string(10000, 'x'));  // longer than what replaces it
  write_bytes(st, std::string(10000, 'x'));
  Tensor t = sample({2, 2}, DType::Float64);
  save_npy(npy, t);
  save_safetensors(st, {{"t", t}});
  check_identical(load_npy(npy), t);
  check_identical(load_safetensors(st).at("t"), t);
  Tensor u = sample({3}, DType::UInt8);
  save_npy(npy, u);  // and again, over a file heed wrote
  check_identical(load_npy(npy), u);
  CHECK(dir.entries() == std::set<std::string>{"t.npy", "t.safetensors"});
}

TEST_CASE("io: a failed save throws heed::Error, keeps the old file and leaves no temporary file") {
  TempDir dir;
  Tensor t = sample({4}, DType::Float32);

  // Into a directory that does not exist: the temporary file cannot even be created.
  const std::string nowhere = dir.file("no/such/dir/t.npy");
  REQUIRE_IO_ERROR(save_npy(nowhere, t), nowhere, "No such file or directory");
  REQUIRE_IO_ERROR(save_safetensors(nowhere, {{"t", t}}), nowhere, "No such file or directory");
  CHECK(!fs::exists(dir.path / "no"));

  // Onto a path that is a non-empty directory: everything is written, then the rename fails.
  const std::string blocked = dir.file("blocked.npy");
  fs::create_directories(fs::path(blocked) / "inside");
  REQUIRE_IO_ERROR(save_npy(blocked, t), blocked, "cannot rename");
  REQUIRE_IO_ERROR(save_safetensors(blocked, {{"t", t}}), blocked, "cannot rename");
  CHECK(fs::is_directory(fs::path(blocked) / "inside"));
  CHECK(dir.entries() == std::set<std::string>{"blocked.npy"});
}
