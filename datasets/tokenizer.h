// Tokenizers: text to ids for the sequence models.
//   WordTokenizer  words (runs of letters/digits) and single punctuation characters
//   BpeTokenizer   byte-level BPE (GPT-2 style): every byte string encodes, no unknown tokens
// Both share the special ids kPad, kUnk, kCls, save to JSON (atomically) and load back through
// Tokenizer::load, which validates the file and throws heed::Error naming what is wrong.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace heed::data {

// Hashes std::string keys so that maps can be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<std::string> pieces;  // display text of each id, valid UTF-8 (for attention highlights)
};

class Tokenizer {
 public:
  static constexpr int64_t kPad = 0, kUnk = 1, kCls = 2;  // the same ids in every tokenizer
  static constexpr int64_t kNumSpecial = 3;
  virtual ~Tokenizer() = default;
  virtual std::string type() const = 0;                      // "word" or "bpe"
  virtual Encoding encode(std::string_view text) const = 0;  // no special tokens added
  virtual int64_t vocab_size() const = 0;
  virtual std::string token(int64_t id) const = 0;  // throws on an id out of range
  virtual void save(const std::filesystem::path& file) const = 0;  // JSON, written atomically
  static std::unique_ptr<Tokenizer> load(const std::filesystem::path& file);  // either kind, by "type"; validates

 protected:
  void check_id(int64_t id) const;
};

// The display names of kPad, kUnk, kCls.
inline constexpr std::string_view kSpecialTokens[] = {"[PAD]", "[UNK]", "[CLS]"};

// `bytes` with every invalid UTF-8 sequence (stray continuation bytes, truncated or overlong
// sequences, surrogates, code points past U+10FFFF) replaced by U+FFFD.
std::string valid_utf8(std::string_view bytes);

struct WordTokenizerOptions {
  int64_t min_frequency = 2;
  int64_t max_size = 20000;
  bool lowercase = true;
};

// Words are runs of letters/digits (UTF-8 aware: any non-ASCII code point counts as a letter),
// each other non-space character is a token of its own. Vocabulary: PAD, UNK, CLS, then words by
// descending frequency (ties by the word), at most max_size entries in all. Input is first made
// valid UTF-8 (valid_utf8); lowercasing covers ASCII letters only.
class WordTokenizer : public Tokenizer {
 public:
  static WordTokenizer train(const std::vector<std::string>& texts, const WordTokenizerOptions& options = {});
  // From a vocabulary that starts with kSpecialTokens; validates it (unique, non-empty, UTF-8).
  static WordTokenizer from_vocabulary(std::vector<std::string> vocabulary, bool lowercase);

  std::string type() const override { return "word"; }
  // An unknown word gets kUnk; its piece is still the word as written (after lowercasing).
  Encoding encode(std::string_view text) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(vocabulary_.size()); }
  std::string token(int64_t id) const override;
  void save(const std::filesystem::path& file) const override;

  const std::vector<std::string>& vocabulary() const { return vocabulary_; }
  bool lowercase() const { return lowercase_; }
  // The words of `text` as encode splits them (after valid_utf8 and lowercasing).
  std::vector<std::string> split(std::string_view text) const;

 private:
  WordTokenizer() = default;
  std::vector<std::string> vocabulary_;
  StringMap ids_;
  bool lowercase_ = true;
};

struct BpeOptions {
  int64_t vocab_size = 8000;
  int64_t min_frequency = 2;
};

// Byte-level BPE (GPT-2 style): pre-split into words (a leading space kept with the word), start
// from the 256 bytes (ids 3..258, so no unknown tokens ever), merge the most frequent adjacent
// pair until vocab_size or no pair reaches min_frequency. Pieces for display are the decoded
// bytes, made valid UTF-8. Merge i makes id 259 + i; frequency ties go to the smaller
// (left id, right id). Pre-split words longer than kMaxWordBytes are cut into chunks.
class BpeTokenizer : public Tokenizer {
 public:
  static constexpr int64_t kFirstByte = 3;     // id of byte 0
  static constexpr int64_t kFirstMerge = 259;  // id made by merge 0
  static constexpr size_t kMaxWordBytes = 64;

  static BpeTokenizer train(const std::vector<std::string>& texts, const BpeOptions& options = {});
  // From merges (left id, right id), each of ids that exist before it; validates them.
  static BpeTokenizer from_merges(std::vector<std::pair<int64_t, int64_t>> merges);

  std::string type() const override { return "bpe"; }
  Encoding encode(std::string_view text) const override;
  int64_t vocab_size() const override { return kFirstMerge + static_cast<int64_t>(merges_.size()); }
  std::string token(int64_t id) const override;  // the display text (valid UTF-8)
  void save(const std::filesystem::path& file) const override;

  const std::vector<std::pair<int64_t, int64_t>>& merges() const { return merges_; }
  // The raw bytes of a token (empty for the special tokens).
  const std::string& bytes(int64_t id) const;
  // The bytes of the ids concatenated: decode(encode(text).ids) == text for any text.
  std::string decode(const std::vector<int64_t>& ids) const;
  // The pre-split words of `text` (byte strings, concatenating to `text`).
  static std::vector<std::string_view> split(std::string_view text);

 private:
  struct Cache;
  BpeTokenizer() = default;
  std::vector<int64_t> encode_word(std::string_view word) const;

  std::vector<std::pair<int64_t, int64_t>> merges_;
  std::vector<std::string> bytes_;    // per id
  std::vector<std::string> display_;  // per id, valid UTF-8
  std::unordered_map<uint64_t, int64_t> ranks_;  // pair key -> merge index
  std::shared_ptr<Cache> cache_;      // word -> ids; shared by copies, thread-safe
};

struct BatchEncoding {
  Tensor ids;           // int64 (B, T)
  Tensor padding_mask;  // bool (B, T), true at padding (heed's and PyTorch's key_padding_mask convention)
  std::vector<Encoding> encodings;  // per text, after truncation, CLS included when added
};

// Truncates each text to max_length tokens (CLS counted when add_cls puts it first), pads with
// kPad to the longest in the batch.
BatchEncoding encode_batch(const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                           int64_t max_length, bool add_cls = true);

}  // namespace heed::data
