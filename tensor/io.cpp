// .npy and .safetensors reading and writing (declared in tensor/io.h).
//
// Writing: the bytes go to a temporary file next to the target, which is fsynced and renamed
// over it, then the directory is fsynced; on any failure the temporary file is removed.
// Reading: the file size is known before anything is allocated, every header field is checked
// against it, and each tensor is read straight from the file into its own storage, so a hostile
// file can make the reader throw heed::Error but never crash, hang or allocate more than the
// file holds.
#include "tensor/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "tensor/ops.h"

namespace heed {
namespace {

static_assert(std::endian::native == std::endian::little, "heed's file formats assume a little-endian host");

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // 100 MB, for both formats

std::string errno_text(int err) { return std::generic_category().message(err); }

// The operation and file an error is about: every message starts "load_npy: 'x.npy': ".
struct Where {
  std::string_view op;
  const std::string& path;
};

template <typename... Args>
[[noreturn]] void fail(const Where& w, fmt::format_string<Args...> format, Args&&... args) {
  HEED_FAIL("{}: '{}': {}", w.op, w.path, fmt::format(format, std::forward<Args>(args)...));
}

// numel and byte count of `shape`; false when either overflows.
bool checked_sizes(const Shape& shape, size_t itemsize, int64_t& numel, uint64_t& nbytes) {
  numel = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(numel, d, &numel)) return false;
  return !__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(itemsize), &nbytes);
}

uint64_t nbytes_of(const Tensor& t) { return static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype()); }

// The tensor's values as one contiguous block in CPU memory.
Tensor host_contiguous(const Tensor& t) { return raw::contiguous(raw::to_device(t, Device::cpu())); }

// Bool bytes read from a file become exactly 0 or 1.
void normalize_bools(const Tensor& t) {
  auto* bytes = static_cast<uint8_t*>(t.raw_data());
  for (int64_t i = 0; i < t.numel(); ++i) bytes[i] = bytes[i] != 0;
}

// ---------------------------------------------------------------- reading a file

class InputFile {
 public:
  explicit InputFile(const Where& where) : where_(where) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is rejected just below.
    fd_ = ::open(where.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) fail(where_, "cannot open: {}", errno_text(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      int err = errno;
      ::close(fd_);
      fail(where_, "cannot stat: {}", errno_text(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      fail(where_, "not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const { return size_; }

  // Reads exactly n bytes at `offset`; the caller has checked that they lie within size().
  void read_at(uint64_t offset, void* dst, uint64_t n) const {
    auto* out = static_cast<char*>(dst);
    while (n > 0) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1ull << 30));
      ssize_t got = ::pread(fd_, out, chunk, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(where_, "read error at byte {}: {}", offset, errno_text(errno));
      if (got == 0) fail(where_, "file ended at byte {} while reading (truncated while open?)", offset);
      out += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<uint64_t>(got);
    }
  }

  std::string read_string(uint64_t offset, uint64_t n) const {
    std::string s(static_cast<size_t>(n), '\0');
    read_at(offset, s.data(), n);
    return s;
  }

 private:
  Where where_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

uint64_t read_le(const unsigned char* bytes, int count) {
  uint64_t v = 0;
  for (int i = count; i-- > 0;) v = (v << 8) | bytes[i];
  return v;
}

// ---------------------------------------------------------------- writing a file atomically

class AtomicWriter {
 public:
  explicit AtomicWriter(const Where& where) : where_(where) {
    static std::atomic<uint64_t> counter{0};
    for (int attempt = 0; fd_ < 0; ++attempt) {
      temp_path_ = fmt::format("{}.tmp.{}.{}", where.path, ::getpid(), counter++);
      fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && (errno != EEXIST || attempt >= 100))
        fail(where_, "cannot create the temporary file '{}': {}", temp_path_, errno_text(errno));
    }
  }
  ~AtomicWriter() {  // not committed: an error is on its way; drop the temporary file
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());
  }
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  void write(const void* data, uint64_t n) {
    const auto* in = static_cast<const char*>(data);
    while (n > 0) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1ull << 30));
      ssize_t put = ::write(fd_, in, chunk);
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) fail(where_, "cannot write '{}': {}", temp_path_, errno_text(errno));
      in += put;
      n -= static_cast<uint64_t>(put);
    }
  }
  void write(std::string_view s) { write(s.data(), s.size()); }

  // Makes the file durable under its final name.
  void commit() {
    if (::fsync(fd_) != 0) fail(where_, "cannot sync '{}': {}", temp_path_, errno_text(errno));
    int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) fail(where_, "cannot close '{}': {}", temp_path_, errno_text(errno));
    if (::rename(temp_path_.c_str(), where_.path.c_str()) != 0)
      fail(where_, "cannot rename '{}' over it: {}", temp_path_, errno_text(errno));
    committed_ = true;
    sync_directory();
  }

 private:
  // The rename itself is durable only once the directory is synced.
  void sync_directory() {
    const std::string dir = std::filesystem::path(where_.path).parent_path().string();
    int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) fail(where_, "saved, but cannot open its directory to sync it: {}", errno_text(errno));
    int err = ::fsync(dir_fd) == 0 ? 0 : errno;
    ::close(dir_fd);
    // EINVAL: the file system cannot sync directories; nothing more to do there.
    if (err != 0 && err != EINVAL) fail(where_, "saved, but cannot sync its directory: {}", errno_text(err));
  }

  Where where_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// ---------------------------------------------------------------- .npy

// How the bytes of one .npy dtype become a heed tensor.
enum class NpyKind { Plain, Bool, Int32 };
struct NpyType {
  std::string_view descr;
  DType dtype;
  size_t file_itemsize;
  NpyKind kind;
};
constexpr NpyType kNpyTypes[] = {
    {"<f4", DType::Float32, 4, NpyKind::Plain}, {"<f8", DType::Float64, 8, NpyKind::Plain},
    {"<i8", DType::Int64, 8, NpyKind::Plain},   {"|u1", DType::UInt8, 1, NpyKind::Plain},
    {"|b1", DType::UInt8, 1, NpyKind::Bool},    {"<i4", DType::Int64, 4, NpyKind::Int32},
};

std::string_view npy_descr(DType t) {
  for (const auto& type : kNpyTypes)
    if (type.dtype == t && type.kind == NpyKind::Plain) return type.descr;
  HEED_FAIL("save_npy: no .npy descr for dtype {}", t);
}

const NpyType* find_npy_type(std::string descr) {
  // '=' is native order (little-endian here); one-byte types may carry any order mark.
  if (descr.size() == 3 && descr[0] == '=') descr[0] = '<';
  if (descr.size() == 3 && descr[2] == '1' && (descr[0] == '<' || descr[0] == '>')) descr[0] = '|';
  for (const auto& type : kNpyTypes)
    if (type.descr == descr) return &type;
  return nullptr;
}

std::string npy_header(DType dtype, const Shape& shape) {
  std::string tuple = "(";
  for (size_t i = 0; i < shape.size(); ++i) tuple += fmt::format("{}{}", i ? ", " : "", shape[i]);
  tuple += shape.size() == 1 ? ",)" : ")";
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", npy_descr(dtype), tuple);
  // magic + version + header length + dict + spaces + '\n' is a multiple of 64 bytes, as NumPy writes it.
  for (int major : {1, 2}) {
    size_t preamble = major == 1 ? 10 : 12;
    size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
    size_t header_len = total - preamble;
    if (major == 1 && header_len > 0xFFFF) continue;  // too long for version 1.0's 2-byte length
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    for (size_t i = 0; i < preamble - 8; ++i) out += static_cast<char>((header_len >> (8 * i)) & 0xFF);
    out += dict;
    out.append(header_len - dict.size() - 1, ' ');
    out += '\n';
    return out;
  }
  HEED_FAIL("save_npy: header too long");
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// Parses the Python dict literal of a .npy header:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const Where& where) : text_(text), where_(where) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (consume('}')) break;
      std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        check_first(seen_descr, key);
        skip_space();
        if (peek() != '\'' && peek() != '"') bad("'descr' is not a plain dtype string (structured dtypes are not supported)");
        header.descr = parse_string();
      } else if (key == "fortran_order") {
        check_first(seen_fortran, key);
        header.fortran_order = parse_bool();
      } else if (key == "shape") {
        check_first(seen_shape, key);
        header.shape = parse_shape();
      } else {
        bad(fmt::format("unexpected key '{}'", key));
      }
      skip_space();
      if (consume('}')) break;
      expect(',');
    }
    skip_space();
    if (pos_ != text_.size()) bad("unexpected text after the closing '}'");
    if (!seen_descr) bad("missing key 'descr'");
    if (!seen_fortran) bad("missing key 'fortran_order'");
    if (!seen_shape) bad("missing key 'shape'");
    return header;
  }

 private:
  [[noreturn]] void bad(std::string_view what) {
    std::string shown;
    for (char c : text_.substr(0, 200)) shown += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    if (text_.size() > 200) shown += "...";
    fail(where_, "malformed header: {} (at character {} of \"{}\")", what, pos_, shown);
  }
  void check_first(bool& seen, const std::string& key) {
    if (seen) bad(fmt::format("key '{}' appears twice", key));
    seen = true;
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) ++pos_;
  }
  bool consume(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    skip_space();
    if (!consume(c)) bad(fmt::format("expected '{}'", c));
  }
  std::string parse_string() {
    skip_space();
    char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') bad("escapes in strings are not supported");
      ++pos_;
    }
    if (pos_ >= text_.size()) bad("unterminated string");
    return std::string(text_.substr(start, pos_++ - start));
  }
  bool parse_bool() {
    skip_space();
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    bad("'fortran_order' must be True or False");
  }
  Shape parse_shape() {
    expect('(');
    Shape shape;
    bool trailing_comma = false;
    while (true) {
      skip_space();
      if (consume(')')) break;
      if (peek() == '-') bad("negative dimension in 'shape'");
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("'shape' must be a tuple of integers");
      int64_t dim = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (__builtin_mul_overflow(dim, 10, &dim) || __builtin_add_overflow(dim, peek() - '0', &dim))
          bad("dimension in 'shape' too large");
        ++pos_;
      }
      consume('L');  // Python 2 long, as old NumPy wrote them
      shape.push_back(dim);
      skip_space();
      trailing_comma = consume(',');
      if (!trailing_comma) {
        expect(')');
        break;
      }
    }
    if (shape.size() == 1 && !trailing_comma) bad("'shape' must be a tuple, as in (3,)");
    return shape;
  }

  std::string_view text_;
  const Where& where_;
  size_t pos_ = 0;
};

}  // namespace

void save_npy(const std::string& path, const Tensor& t) {
  const Where where{"save_npy", path};
  if (!t.defined()) fail(where, "the tensor is undefined");
  std::string header = npy_header(t.dtype(), t.shape());
  Tensor data = host_contiguous(t);
  AtomicWriter out(where);
  out.write(header);
  out.write(data.raw_data(), nbytes_of(data));
  out.commit();
}

Tensor load_npy(const std::string& path) {
  const Where where{"load_npy", path};
  InputFile in(where);
  if (in.size() < 10) fail(where, "file is {} bytes, too short to be a .npy file", in.size());
  unsigned char preamble[12] = {};
  in.read_at(0, preamble, 10);
  if (std::memcmp(preamble, "\x93NUMPY", 6) != 0) fail(where, "not a .npy file (bad magic; expected \\x93NUMPY)");
  const int major = preamble[6], minor = preamble[7];
  if (major < 1 || major > 3 || minor != 0) fail(where, "unsupported .npy version {}.{} (heed reads 1.0, 2.0, 3.0)", major, minor);

  const uint64_t length_bytes = major == 1 ? 2 : 4;
  const uint64_t header_start = 8 + length_bytes;
  if (in.size() < header_start) fail(where, "file is {} bytes, too short for a version {}.0 preamble", in.size(), major);
  in.read_at(8, preamble + 8, length_bytes);
  const uint64_t header_len = read_le(preamble + 8, static_cast<int>(length_bytes));
  if (header_len > kMaxHeaderBytes) fail(where, "header length {} is over the 100 MB limit", header_len);
  if (header_start + header_len > in.size())
    fail(where, "header length {} does not fit in the file ({} bytes)", header_len, in.size());

  const std::string text = in.read_string(header_start, header_len);
  const NpyHeader header = NpyHeaderParser(text, where).parse();
  const NpyType* type = find_npy_type(header.descr);
  if (type == nullptr)
    fail(where, "unsupported dtype descr '{}' (heed reads <f4, <f8, <i8, |u1, |b1, <i4)", header.descr);

  int64_t numel = 0;
  uint64_t nbytes = 0;
  if (!checked_sizes(header.shape, type->file_itemsize, numel, nbytes))
    fail(where, "shape {} is too large (element count overflows)", header.shape);
  const uint64_t data_start = header_start + header_len;
  const uint64_t available = in.size() - data_start;
  if (available < nbytes)
    fail(where, "truncated data: shape {} of {} needs {} bytes, the file holds {}", header.shape, header.descr, nbytes,
         available);
  if (available > nbytes)
    fail(where, "{} unexpected bytes after the data of shape {} of {}", available - nbytes, header.shape, header.descr);

  // Fortran order is C order of the reversed shape; read it so, then transpose back.
  const bool fortran = header.fortran_order && header.shape.size() > 1;
  Shape file_shape = header.shape;
  if (fortran) std::reverse(file_shape.begin(), file_shape.end());
  Tensor out = raw::empty(file_shape, type->dtype, Device::cpu());
  if (type->kind == NpyKind::Int32) {
    std::vector<int32_t> staging(static_cast<size_t>(numel));
    if (nbytes > 0) in.read_at(data_start, staging.data(), nbytes);
    std::copy(staging.begin(), staging.end(), static_cast<int64_t*>(out.raw_data()));
  } else if (nbytes > 0) {
    in.read_at(data_start, out.raw_data(), nbytes);
  }
  if (type->kind == NpyKind::Bool) normalize_bools(out);
  if (fortran) {
    Shape reversed_dims(header.shape.size());
    for (size_t i = 0; i < reversed_dims.size(); ++i) reversed_dims[i] = static_cast<int64_t>(reversed_dims.size() - 1 - i);
    out = raw::contiguous(raw::permute(out, reversed_dims));
  }
  return out;
}

// ---------------------------------------------------------------- .safetensors

namespace {

using OrderedJson = nlohmann::ordered_json;
constexpr std::string_view kMetadataKey = "__metadata__";
constexpr int kMaxJsonDepth = 16;  // a valid header nests 3 deep

struct SafetensorsType {
  std::string_view name;
  DType dtype;
  bool is_bool;
};
constexpr SafetensorsType kSafetensorsTypes[] = {
    {"F32", DType::Float32, false}, {"F64", DType::Float64, false}, {"I64", DType::Int64, false},
    {"U8", DType::UInt8, false},    {"BOOL", DType::UInt8, true},
};

std::string_view safetensors_dtype(DType t) {
  for (const auto& type : kSafetensorsTypes)
    if (type.dtype == t && !type.is_bool) return type.name;
  HEED_FAIL("save_safetensors: no safetensors dtype for {}", t);
}

// One tensor's header entry, validated.
struct Entry {
  std::string name;
  const SafetensorsType* type = nullptr;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

// A non-negative JSON integer; `what` names it in the error.
uint64_t json_size(const OrderedJson& v, const Where& where, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  fail(where, "{} must be a non-negative integer, got {}", what, v.dump());
}

Entry parse_entry(const std::string& name, const OrderedJson& info, uint64_t buffer_size, const Where& where) {
  Entry e;
  e.name = name;
  if (!info.is_object()) fail(where, "tensor '{}': entry must be a JSON object, got {}", name, info.type_name());
  bool has_dtype = false, has_shape = false, has_offsets = false;
  for (const auto& [key, value] : info.items()) {
    if (key == "dtype") {
      has_dtype = true;
      if (!value.is_string()) fail(where, "tensor '{}': dtype must be a string", name);
      const auto& dtype = value.get_ref<const std::string&>();
      for (const auto& type : kSafetensorsTypes)
        if (type.name == dtype) e.type = &type;
      if (e.type == nullptr)
        fail(where, "tensor '{}': unsupported dtype '{}' (heed reads F32, F64, I64, U8, BOOL)", name, dtype);
    } else if (key == "shape") {
      has_shape = true;
      if (!value.is_array()) fail(where, "tensor '{}': shape must be an array", name);
      for (const auto& dim : value) {
        uint64_t d = json_size(dim, where, fmt::format("tensor '{}': shape entry", name));
        if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          fail(where, "tensor '{}': shape entry {} is too large", name, d);
        e.shape.push_back(static_cast<int64_t>(d));
      }
    } else if (key == "data_offsets") {
      has_offsets = true;
      if (!value.is_array() || value.size() != 2)
        fail(where, "tensor '{}': data_offsets must be an array [begin, end], got {}", name, value.dump());
      e.begin = json_size(value[0], where, fmt::format("tensor '{}': data_offsets begin", name));
      e.end = json_size(value[1], where, fmt::format("tensor '{}': data_offsets end", name));
    } else {
      fail(where, "tensor '{}': unexpected key '{}'", name, key);
    }
  }
  if (!has_dtype) fail(where, "tensor '{}': missing key 'dtype'", name);
  if (!has_shape) fail(where, "tensor '{}': missing key 'shape'", name);
  if (!has_offsets) fail(where, "tensor '{}': missing key 'data_offsets'", name);

  if (e.begin > e.end) fail(where, "tensor '{}': data_offsets [{}, {}] end before they begin", name, e.begin, e.end);
  if (e.end > buffer_size)
    fail(where, "tensor '{}': data_offsets [{}, {}] out of range of the {}-byte data buffer", name, e.begin, e.end,
         buffer_size);
  int64_t numel = 0;
  uint64_t nbytes = 0;
  if (!checked_sizes(e.shape, dtype_size(e.type->dtype), numel, nbytes))
    fail(where, "tensor '{}': shape {} is too large (element count overflows)", name, e.shape);
  if (e.end - e.begin != nbytes)
    fail(where, "tensor '{}': shape {} of {} needs {} bytes, but data_offsets [{}, {}] span {}", name, e.shape,
         e.type->name, nbytes, e.begin, e.end, e.end - e.begin);
  return e;
}

// Parses the JSON header, rejecting duplicate keys (nlohmann would keep only one) and deep nesting.
OrderedJson parse_header_json(const std::string& text, const Where& where) {
  std::vector<std::set<std::string>> open_objects;  // keys seen so far in each open object
  auto on_event = [&](int depth, OrderedJson::parse_event_t event, OrderedJson& parsed) {
    using Event = OrderedJson::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxJsonDepth)
      fail(where, "header JSON nests deeper than {} levels", kMaxJsonDepth);
    if (event == Event::object_start) open_objects.emplace_back();
    if (event == Event::object_end) open_objects.pop_back();
    if (event == Event::key && !open_objects.back().insert(parsed.get<std::string>()).second) {
      if (depth == 1) fail(where, "duplicate tensor name '{}' in the header", parsed.get<std::string>());
      fail(where, "duplicate key '{}' in the header", parsed.get<std::string>());
    }
    return true;
  };
  try {
    return OrderedJson::parse(text, on_event);
  } catch (const nlohmann::json::exception& e) {
    fail(where, "header is not valid JSON: {}", e.what());
  }
}

}  // namespace

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  std::string names;
  for (size_t i = 0; i < tensors.size() && i < 50; ++i) names += fmt::format("{}'{}'", i ? ", " : "", tensors[i].first);
  if (tensors.size() > 50) names += fmt::format(" and {} more", tensors.size() - 50);
  if (tensors.empty()) HEED_FAIL("SafetensorsFile::at: no tensor named '{}'; the file holds no tensors", name);
  HEED_FAIL("SafetensorsFile::at: no tensor named '{}'; the file holds {}", name, names);
}

bool SafetensorsFile::contains(const std::string& name) const {
  return std::any_of(tensors.begin(), tensors.end(), [&](const auto& entry) { return entry.first == name; });
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const Where where{"save_safetensors", path};
  // The header needs only shapes and dtypes; each tensor's data is fetched while writing.
  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::set<std::string_view> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == kMetadataKey) fail(where, "'{}' is reserved and cannot name a tensor", kMetadataKey);
    if (!names.insert(name).second) fail(where, "tensor name '{}' given twice", name);
    if (!t.defined()) fail(where, "tensor '{}' is undefined", name);
    const uint64_t nbytes = nbytes_of(t);
    header[name] = {{"dtype", std::string(safetensors_dtype(t.dtype()))}, {"shape", t.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(where, "cannot encode the header (names and metadata must be UTF-8): {}", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  AtomicWriter out(where);
  out.write(length);
  out.write(text);
  for (const auto& entry : tensors) {
    Tensor data = host_contiguous(entry.second);
    out.write(data.raw_data(), nbytes_of(data));
  }
  out.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  const Where where{"load_safetensors", path};
  InputFile in(where);
  if (in.size() < 8) fail(where, "file is {} bytes, too short for the 8-byte header length", in.size());
  unsigned char length_bytes[8];
  in.read_at(0, length_bytes, 8);
  const uint64_t header_len = read_le(length_bytes, 8);
  if (header_len > kMaxHeaderBytes) fail(where, "header length {} is over the 100 MB limit", header_len);
  if (8 + header_len > in.size())
    fail(where, "header length {} does not fit in the file ({} bytes)", header_len, in.size());
  const uint64_t data_start = 8 + header_len;
  const uint64_t buffer_size = in.size() - data_start;

  const OrderedJson header = parse_header_json(in.read_string(8, header_len), where);
  if (!header.is_object()) fail(where, "header must be a JSON object, got {}", header.type_name());

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) fail(where, "'{}' must be an object of strings", kMetadataKey);
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) fail(where, "'{}' value for '{}' must be a string, got {}", kMetadataKey, key, text.dump());
        file.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, value, buffer_size, where));
  }

  // File order is the order of the data; no two tensors may share bytes.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return std::pair(a.begin, a.end) < std::pair(b.begin, b.end); });
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry& prev = entries[i - 1];
    const Entry& next = entries[i];
    if (next.begin < prev.end)
      fail(where, "tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev.name, prev.begin, prev.end, next.name,
           next.begin, next.end);
  }

  for (const Entry& e : entries) {
    Tensor t = raw::empty(e.shape, e.type->dtype, Device::cpu());
    if (e.end > e.begin) in.read_at(data_start + e.begin, t.raw_data(), e.end - e.begin);
    if (e.type->is_bool) normalize_bools(t);
    file.tensors.emplace_back(e.name, std::move(t));
  }
  return file;
}

}  // namespace heed
