// BpeTokenizer: byte-level BPE. Training counts the pre-split words once, then merges on the
// word-frequency table, updating the pair counts of only the words a merge touches; a lazy
// max-heap finds the most frequent pair. Encoding merges by rank within each word, with a cache.
#include <algorithm>
#include <mutex>
#include <queue>

#include "datasets/tokenizer.h"

namespace heed::data {
namespace {

enum class CharClass { Space, Letter, Digit, Other };

CharClass classify(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return CharClass::Space;
  if (c >= '0' && c <= '9') return CharClass::Digit;
  if (c >= 0x80 || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return CharClass::Letter;
  return CharClass::Other;
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Calls on_word for text[start, end) in pieces of at most kMaxWordBytes, cut between code points
// where the bytes allow it.
template <typename Fn>
void emit_chunks(std::string_view text, size_t start, size_t end, Fn& on_word) {
  constexpr size_t kMax = BpeTokenizer::kMaxWordBytes;
  while (end - start > kMax) {
    size_t cut = start + kMax;
    while (cut > start + kMax - 3 && is_continuation(text[cut])) --cut;
    if (is_continuation(text[cut])) cut = start + kMax;  // not UTF-8 there: cut anywhere
    on_word(text.substr(start, cut - start));
    start = cut;
  }
  on_word(text.substr(start, end - start));
}

// GPT-2's pre-split, without the contraction rules: " ?letters", " ?digits", " ?other
// characters", and whitespace runs, whose last space goes with the word after them.
template <typename Fn>
void for_each_word(std::string_view text, Fn&& on_word) {
  const size_t n = text.size();
  auto run_end = [&](size_t i, CharClass c) {
    while (i < n && classify(text[i]) == c) ++i;
    return i;
  };
  for (size_t i = 0; i < n;) {
    CharClass c = classify(text[i]);
    size_t end;
    if (text[i] == ' ' && i + 1 < n && classify(text[i + 1]) != CharClass::Space) {
      end = run_end(i + 1, classify(text[i + 1]));
    } else if (c != CharClass::Space) {
      end = run_end(i, c);
    } else {
      end = run_end(i, CharClass::Space);
      if (end < n && text[end - 1] == ' ' && end - 1 > i) --end;  // leave the space for the next word
    }
    emit_chunks(text, i, end, on_word);
    i = end;
  }
}

uint64_t pair_key(int64_t left, int64_t right) {
  return (static_cast<uint64_t>(left) << 32) | static_cast<uint64_t>(right);
}

struct HeapEntry {
  int64_t count;
  uint64_t key;
  // The most frequent pair on top; ties to the smaller (left, right).
  bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : key > o.key; }
};

}  // namespace

struct BpeTokenizer::Cache {
  static constexpr size_t kMaxEntries = size_t{1} << 20;
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<int64_t>, StringHash, std::equal_to<>> words;
};

std::vector<std::string_view> BpeTokenizer::split(std::string_view text) {
  std::vector<std::string_view> words;
  for_each_word(text, [&](std::string_view w) { words.push_back(w); });
  return words;
}

BpeTokenizer BpeTokenizer::train(const std::vector<std::string>& texts, const BpeOptions& options) {
  constexpr int64_t kMaxVocab = int64_t{1} << 30;
  HEED_CHECK(options.vocab_size >= kFirstMerge && options.vocab_size <= kMaxVocab,
             "BpeTokenizer::train: vocab_size must be in [{}, {}] (3 special tokens + 256 bytes at least), got {}",
             kFirstMerge, kMaxVocab, options.vocab_size);
  HEED_CHECK(options.min_frequency >= 1, "BpeTokenizer::train: min_frequency must be at least 1, got {}",
             options.min_frequency);

  // The word-frequency table (views into `texts`).
  std::unordered_map<std::string_view, int64_t> word_counts;
  for (const std::string& text : texts) for_each_word(text, [&](std::string_view w) { ++word_counts[w]; });
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> frequency;
  words.reserve(word_counts.size());
  frequency.reserve(word_counts.size());
  for (const auto& [word, count] : word_counts) {
    std::vector<int32_t>& symbols = words.emplace_back();
    for (char b : word) symbols.push_back(static_cast<int32_t>(kFirstByte + static_cast<unsigned char>(b)));
    frequency.push_back(count);
  }
  word_counts.clear();

  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // pair -> words that had it (may be stale)
  auto note_word = [&](uint64_t key, int32_t w) {
    std::vector<int32_t>& list = where[key];
    if (list.empty() || list.back() != w) list.push_back(w);
  };
  for (size_t w = 0; w < words.size(); ++w)
    for (size_t k = 0; k + 1 < words[w].size(); ++k) {
      uint64_t key = pair_key(words[w][k], words[w][k + 1]);
      pair_counts[key] += frequency[w];
      note_word(key, static_cast<int32_t>(w));
    }
  std::priority_queue<HeapEntry> heap;
  for (const auto& [key, count] : pair_counts)
    if (count >= options.min_frequency) heap.push({count, key});

  std::vector<std::pair<int64_t, int64_t>> merges;
  std::vector<uint64_t> new_pairs;
  std::vector<int32_t> merged;
  while (kFirstMerge + static_cast<int64_t>(merges.size()) < options.vocab_size && !heap.empty()) {
    HeapEntry top = heap.top();
    heap.pop();
    auto found = pair_counts.find(top.key);
    int64_t count = found == pair_counts.end() ? 0 : found->second;
    if (count != top.count) {  // stale: counts of old pairs only fall
      if (count >= options.min_frequency) heap.push({count, top.key});
      continue;
    }
    const auto left = static_cast<int32_t>(top.key >> 32), right = static_cast<int32_t>(top.key & 0xFFFFFFFFu);
    const auto made = static_cast<int32_t>(kFirstMerge + static_cast<int64_t>(merges.size()));
    merges.emplace_back(left, right);

    std::vector<int32_t> affected = std::move(where[top.key]);
    where.erase(top.key);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    new_pairs.clear();
    for (int32_t w : affected) {
      std::vector<int32_t>& symbols = words[static_cast<size_t>(w)];
      const int64_t f = frequency[static_cast<size_t>(w)];
      merged.clear();
      for (size_t k = 0; k < symbols.size();) {
        if (k + 1 < symbols.size() && symbols[k] == left && symbols[k + 1] == right) {
          merged.push_back(made);
          k += 2;
        } else {
          merged.push_back(symbols[k++]);
        }
      }
      if (merged.size() == symbols.size()) continue;  // stale entry: the pair is gone from this word
      for (size_t k = 0; k + 1 < symbols.size(); ++k) {
        auto it = pair_counts.find(pair_key(symbols[k], symbols[k + 1]));
        if ((it->second -= f) == 0) pair_counts.erase(it);
      }
      for (size_t k = 0; k + 1 < merged.size(); ++k) {
        uint64_t key = pair_key(merged[k], merged[k + 1]);
        pair_counts[key] += f;
        if (merged[k] == made || merged[k + 1] == made) {
          note_word(key, w);
          new_pairs.push_back(key);
        }
      }
      symbols.swap(merged);
    }
    std::sort(new_pairs.begin(), new_pairs.end());
    new_pairs.erase(std::unique(new_pairs.begin(), new_pairs.end()), new_pairs.end());
    for (uint64_t key : new_pairs) {
      int64_t c = pair_counts[key];
      if (c >= options.min_frequency) heap.push({c, key});
    }
  }
  return from_merges(std::move(merges));
}

BpeTokenizer BpeTokenizer::from_merges(std::vector<std::pair<int64_t, int64_t>> merges) {
  HEED_CHECK(merges.size() < (size_t{1} << 30), "BpeTokenizer: {} merges is too many", merges.size());
  BpeTokenizer t;
  const size_t vocab = static_cast<size_t>(kFirstMerge) + merges.size();
  t.bytes_.resize(vocab);
  t.display_.resize(vocab);
  for (int64_t id = 0; id < kNumSpecial; ++id) t.display_[id] = std::string(kSpecialTokens[id]);
  for (int b = 0; b < 256; ++b) t.bytes_[kFirstByte + b] = std::string(1, static_cast<char>(b));
  t.ranks_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto [left, right] = merges[i];
    const int64_t made = kFirstMerge + static_cast<int64_t>(i);
    HEED_CHECK(left >= kFirstByte && left < made && right >= kFirstByte && right < made,
               "BpeTokenizer: merge {} is ({}, {}); both ids must be in [{}, {}), the tokens made before it", i, left,
               right, kFirstByte, made);
    auto [it, inserted] = t.ranks_.emplace(pair_key(left, right), static_cast<int64_t>(i));
    HEED_CHECK(inserted, "BpeTokenizer: merge {} ({}, {}) repeats merge {}", i, left, right, it->second);
    t.bytes_[made] = t.bytes_[left] + t.bytes_[right];
  }
  for (size_t id = kFirstByte; id < vocab; ++id) t.display_[id] = valid_utf8(t.bytes_[id]);
  t.merges_ = std::move(merges);
  t.cache_ = std::make_shared<Cache>();
  return t;
}

std::vector<int64_t> BpeTokenizer::encode_word(std::string_view word) const {
  {
    std::lock_guard lock(cache_->mutex);
    auto it = cache_->words.find(word);
    if (it != cache_->words.end()) return it->second;
  }
  std::vector<int64_t> ids;
  ids.reserve(word.size());
  for (char b : word) ids.push_back(kFirstByte + static_cast<unsigned char>(b));
  // Repeatedly merge every occurrence of the adjacent pair with the lowest rank.
  while (ids.size() >= 2) {
    int64_t best = -1;
    for (size_t k = 0; k + 1 < ids.size(); ++k) {
      auto it = ranks_.find(pair_key(ids[k], ids[k + 1]));
      if (it != ranks_.end() && (best < 0 || it->second < best)) best = it->second;
    }
    if (best < 0) break;
    const auto [left, right] = merges_[static_cast<size_t>(best)];
    size_t out = 0;
    for (size_t k = 0; k < ids.size();) {
      if (k + 1 < ids.size() && ids[k] == left && ids[k + 1] == right) {
        ids[out++] = kFirstMerge + best;
        k += 2;
      } else {
        ids[out++] = ids[k++];
      }
    }
    ids.resize(out);
  }
  std::lock_guard lock(cache_->mutex);
  if (cache_->words.size() >= Cache::kMaxEntries) cache_->words.clear();
  cache_->words.emplace(std::string(word), ids);
  return ids;
}

Encoding BpeTokenizer::encode(std::string_view text) const {
  Encoding e;
  for_each_word(text, [&](std::string_view w) {
    for (int64_t id : encode_word(w)) {
      e.ids.push_back(id);
      e.pieces.push_back(display_[static_cast<size_t>(id)]);
    }
  });
  return e;
}

std::string BpeTokenizer::token(int64_t id) const {
  check_id(id);
  return display_[static_cast<size_t>(id)];
}

const std::string& BpeTokenizer::bytes(int64_t id) const {
  check_id(id);
  return bytes_[static_cast<size_t>(id)];
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) out += bytes(id);
  return out;
}

}  // namespace heed::data
