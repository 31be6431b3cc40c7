// WordTokenizer: words and single punctuation characters, a frequency-ranked vocabulary.
#include <algorithm>

#include "datasets/tokenizer.h"

namespace heed::data {
namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
// In valid UTF-8 every byte of a non-ASCII code point is >= 0x80, and those all count as letters.
bool is_word_byte(unsigned char c) { return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// Calls on_word(word) for each word of already valid UTF-8 text.
template <typename Fn>
void for_each_word(std::string_view text, Fn&& on_word) {
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (is_space(c)) {
      ++i;
    } else if (is_word_byte(c)) {
      size_t j = i;
      while (j < text.size() && is_word_byte(static_cast<unsigned char>(text[j]))) ++j;
      on_word(text.substr(i, j - i));
      i = j;
    } else {
      on_word(text.substr(i, 1));  // any other character is ASCII: one byte
      ++i;
    }
  }
}

std::string prepare(std::string_view text, bool lowercase) {
  std::string s = valid_utf8(text);
  if (lowercase)
    for (char& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

WordTokenizer WordTokenizer::train(const std::vector<std::string>& texts, const WordTokenizerOptions& options) {
  HEED_CHECK(options.min_frequency >= 1, "WordTokenizer::train: min_frequency must be at least 1, got {}",
             options.min_frequency);
  HEED_CHECK(options.max_size >= kNumSpecial, "WordTokenizer::train: max_size must be at least {} (the special tokens), got {}",
             kNumSpecial, options.max_size);
  std::unordered_map<std::string, int64_t> counts;
  for (const std::string& text : texts)
    for_each_word(prepare(text, options.lowercase), [&](std::string_view w) { ++counts[std::string(w)]; });

  std::vector<std::pair<std::string, int64_t>> ranked;
  for (auto& [word, count] : counts)
    if (count >= options.min_frequency) ranked.emplace_back(word, count);
  auto before = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
  const size_t keep = std::min(ranked.size(), static_cast<size_t>(options.max_size - kNumSpecial));
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), before);

  std::vector<std::string> vocabulary(std::begin(kSpecialTokens), std::end(kSpecialTokens));
  for (size_t i = 0; i < keep; ++i) vocabulary.push_back(std::move(ranked[i].first));
  return from_vocabulary(std::move(vocabulary), options.lowercase);
}

WordTokenizer WordTokenizer::from_vocabulary(std::vector<std::string> vocabulary, bool lowercase) {
  HEED_CHECK(vocabulary.size() >= static_cast<size_t>(kNumSpecial), "WordTokenizer: the vocabulary has {} entries, "
             "it must start with the {} special tokens", vocabulary.size(), kNumSpecial);
  for (int64_t id = 0; id < kNumSpecial; ++id)
    HEED_CHECK(vocabulary[id] == kSpecialTokens[id], "WordTokenizer: vocabulary entry {} is \"{}\", expected \"{}\"", id,
               valid_utf8(vocabulary[id]), kSpecialTokens[id]);
  WordTokenizer t;
  t.lowercase_ = lowercase;
  t.ids_.reserve(vocabulary.size());
  for (size_t id = 0; id < vocabulary.size(); ++id) {
    const std::string& word = vocabulary[id];
    HEED_CHECK(!word.empty(), "WordTokenizer: vocabulary entry {} is empty", id);
    HEED_CHECK(valid_utf8(word) == word, "WordTokenizer: vocabulary entry {} is not valid UTF-8", id);
    auto [it, inserted] = t.ids_.emplace(word, static_cast<int64_t>(id));
    HEED_CHECK(inserted, "WordTokenizer: \"{}\" appears twice in the vocabulary (entries {} and {})", word, it->second, id);
  }
  t.vocabulary_ = std::move(vocabulary);
  return t;
}

std::vector<std::string> WordTokenizer::split(std::string_view text) const {
  std::vector<std::string> words;
  for_each_word(prepare(text, lowercase_), [&](std::string_view w) { words.emplace_back(w); });
  return words;
}

Encoding WordTokenizer::encode(std::string_view text) const {
  Encoding e;
  for_each_word(prepare(text, lowercase_), [&](std::string_view w) {
    auto it = ids_.find(w);
    e.ids.push_back(it == ids_.end() ? kUnk : it->second);
    e.pieces.emplace_back(w);
  });
  return e;
}

std::string WordTokenizer::token(int64_t id) const {
  check_id(id);
  return vocabulary_[static_cast<size_t>(id)];
}

}  // namespace heed::data
