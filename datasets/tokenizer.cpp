// The parts every tokenizer shares: UTF-8 repair, the JSON files, batching.
#include "datasets/tokenizer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace heed::data {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

// The length of the valid UTF-8 sequence at s[i], or 0 with `bad` = bytes to skip.
size_t utf8_sequence(std::string_view s, size_t i, size_t& bad) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  if (b < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    length = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    length = 3;
    if (b == 0xE0) low = 0xA0;   // overlong
    if (b == 0xED) high = 0x9F;  // surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    length = 4;
    if (b == 0xF0) low = 0x90;   // overlong
    if (b == 0xF4) high = 0x8F;  // past U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    bool ok = i + k < s.size() && byte(i + k) >= (k == 1 ? low : 0x80) && byte(i + k) <= (k == 1 ? high : 0xBF);
    if (!ok) {
      bad = k;  // the maximal valid prefix becomes one U+FFFD
      return 0;
    }
  }
  return length;
}

[[noreturn]] void fail_file(const std::filesystem::path& file, const std::string& what) {
  HEED_FAIL("tokenizer '{}': {}", file.string(), what);
}

std::string errno_text(int err) { return std::strerror(err); }

// Temporary file next to the target, fsync, rename, fsync of the directory.
void write_atomically(const std::filesystem::path& file, std::string_view text) {
  static std::atomic<uint64_t> counter{0};
  const std::string temp = fmt::format("{}.tmp.{}.{}", file.string(), ::getpid(), counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail_file(file, fmt::format("cannot create '{}': {}", temp, errno_text(errno)));
  auto give_up = [&](const std::string& what) {
    ::close(fd);
    ::unlink(temp.c_str());
    fail_file(file, what);
  };
  while (!text.empty()) {
    ssize_t put = ::write(fd, text.data(), text.size());
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) give_up(fmt::format("cannot write '{}': {}", temp, errno_text(errno)));
    text.remove_prefix(static_cast<size_t>(put));
  }
  if (::fsync(fd) != 0) give_up(fmt::format("cannot sync '{}': {}", temp, errno_text(errno)));
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    fail_file(file, fmt::format("cannot close '{}': {}", temp, errno_text(errno)));
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    fail_file(file, fmt::format("cannot rename '{}' over it: {}", temp, errno_text(err)));
  }
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);  // best effort: the file itself is complete either way
    ::close(dir_fd);
  }
}

void write_json(const std::filesystem::path& file, const json& j) { write_atomically(file, j.dump(1) + "\n"); }

const json& field(const std::filesystem::path& file, const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) fail_file(file, fmt::format("missing field \"{}\"", name));
  return *it;
}

void check_version(const std::filesystem::path& file, const json& j) {
  const json& v = field(file, j, "version");
  if (!v.is_number_integer() || v.get<int64_t>() != kFormatVersion)
    fail_file(file, fmt::format("\"version\" is {}, this build reads version {}", v.dump(), kFormatVersion));
}

int64_t read_id(const std::filesystem::path& file, const json& j, const std::string& where) {
  if (!j.is_number_integer()) fail_file(file, fmt::format("{} is {}, not an integer id", where, j.dump()));
  if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail_file(file, fmt::format("{} is {}, out of range", where, j.dump()));
  return j.get<int64_t>();
}

std::unique_ptr<Tokenizer> load_word(const std::filesystem::path& file, const json& j) {
  const json& lowercase = field(file, j, "lowercase");
  if (!lowercase.is_boolean()) fail_file(file, "\"lowercase\" must be true or false");
  const json& vocab = field(file, j, "vocab");
  if (!vocab.is_array()) fail_file(file, "\"vocab\" must be an array of strings");
  std::vector<std::string> words;
  words.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (!vocab[i].is_string()) fail_file(file, fmt::format("vocab[{}] is {}, not a string", i, vocab[i].dump()));
    words.push_back(vocab[i].get<std::string>());
  }
  try {
    return std::make_unique<WordTokenizer>(WordTokenizer::from_vocabulary(std::move(words), lowercase.get<bool>()));
  } catch (const Error& e) {
    fail_file(file, e.what());
  }
}

std::unique_ptr<Tokenizer> load_bpe(const std::filesystem::path& file, const json& j) {
  const json& merges = field(file, j, "merges");
  if (!merges.is_array()) fail_file(file, "\"merges\" must be an array of [left, right] id pairs");
  std::vector<std::pair<int64_t, int64_t>> pairs;
  pairs.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    if (!m.is_array() || m.size() != 2) fail_file(file, fmt::format("merges[{}] is {}, not a [left, right] pair", i, m.dump()));
    pairs.emplace_back(read_id(file, m[0], fmt::format("merges[{}][0]", i)),
                       read_id(file, m[1], fmt::format("merges[{}][1]", i)));
  }
  const int64_t vocab_size = read_id(file, field(file, j, "vocab_size"), "\"vocab_size\"");
  const int64_t expected = BpeTokenizer::kFirstMerge + static_cast<int64_t>(pairs.size());
  if (vocab_size != expected)
    fail_file(file, fmt::format("\"vocab_size\" is {}, but {} merges make {}", vocab_size, pairs.size(), expected));
  try {
    return std::make_unique<BpeTokenizer>(BpeTokenizer::from_merges(std::move(pairs)));
  } catch (const Error& e) {
    fail_file(file, e.what());
  }
}

}  // namespace

std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t bad = 0;
    size_t length = utf8_sequence(bytes, i, bad);
    if (length > 0) {
      out.append(bytes.substr(i, length));
      i += length;
    } else {
      out.append("\xEF\xBF\xBD");
      i += bad;
    }
  }
  return out;
}

void Tokenizer::check_id(int64_t id) const {
  HEED_CHECK(id >= 0 && id < vocab_size(), "tokenizer: id {} out of range for a {} vocabulary of {}", id, type(),
             vocab_size());
}

void WordTokenizer::save(const std::filesystem::path& file) const {
  write_json(file, json{{"type", "word"}, {"version", kFormatVersion}, {"lowercase", lowercase_}, {"vocab", vocabulary_}});
}

void BpeTokenizer::save(const std::filesystem::path& file) const {
  json merges = json::array();
  for (const auto& [left, right] : merges_) merges.push_back({left, right});
  write_json(file, json{{"type", "bpe"}, {"version", kFormatVersion}, {"vocab_size", vocab_size()}, {"merges", merges}});
}

std::unique_ptr<Tokenizer> Tokenizer::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_file(file, fmt::format("cannot open: {}", errno_text(errno)));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) fail_file(file, "read error");
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::exception& e) {
    fail_file(file, fmt::format("not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) fail_file(file, "the top level must be a JSON object");
  const json& type = field(file, j, "type");
  if (!type.is_string()) fail_file(file, fmt::format("\"type\" is {}, expected \"word\" or \"bpe\"", type.dump()));
  check_version(file, j);
  if (type == "word") return load_word(file, j);
  if (type == "bpe") return load_bpe(file, j);
  fail_file(file, fmt::format("unknown \"type\" {}, expected \"word\" or \"bpe\"", type.dump()));
}

BatchEncoding encode_batch(const Tokenizer& tokenizer, const std::vector<std::string>& texts, int64_t max_length,
                           bool add_cls) {
  HEED_CHECK(max_length >= 1, "encode_batch: max_length must be at least 1, got {}", max_length);
  BatchEncoding batch;
  batch.encodings.reserve(texts.size());
  const size_t room = static_cast<size_t>(max_length - (add_cls ? 1 : 0));
  size_t longest = 0;
  for (const std::string& text : texts) {
    Encoding e = tokenizer.encode(text);
    if (e.ids.size() > room) {
      e.ids.resize(room);
      e.pieces.resize(room);
    }
    if (add_cls) {
      e.ids.insert(e.ids.begin(), Tokenizer::kCls);
      e.pieces.insert(e.pieces.begin(), std::string(kSpecialTokens[Tokenizer::kCls]));
    }
    longest = std::max(longest, e.ids.size());
    batch.encodings.push_back(std::move(e));
  }
  const auto rows = static_cast<int64_t>(texts.size()), cols = static_cast<int64_t>(longest);
  batch.ids = full({rows, cols}, static_cast<double>(Tokenizer::kPad), {DType::Int64});
  batch.padding_mask = ones({rows, cols}, {kBool});
  int64_t* ids = batch.ids.data_ptr<int64_t>();
  uint8_t* mask = batch.padding_mask.data_ptr<uint8_t>();
  for (size_t r = 0; r < texts.size(); ++r) {
    const std::vector<int64_t>& row = batch.encodings[r].ids;
    std::copy(row.begin(), row.end(), ids + r * longest);
    std::fill(mask + r * longest, mask + r * longest + row.size(), uint8_t{0});
  }
  return batch;
}

}  // namespace heed::data
