// Tokenizers: splitting, training (checked against a naive BPE trainer), encoding, batching,
// JSON round trips and hostile files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "datasets/tokenizer.h"
#include "tensor/error.h"

using namespace heed;
using namespace heed::data;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed with its contents at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / fmt::format("heed_tokenizer_test_{}_{}", ::getpid(), counter++);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path file(const std::string& name, const std::string& contents) const {
    std::ofstream(path / name, std::ios::binary) << contents;
    return path / name;
  }
};

bool is_valid_utf8(const std::string& s) { return valid_utf8(s) == s; }

std::vector<std::string> random_corpus(uint32_t seed, int texts, int words_per_text) {
  const std::vector<std::string> alphabet = {"a", "b", "c", "d", "e", "é", "ß", "1", "2", ".", ",", "!"};
  std::mt19937 rng(seed);
  std::vector<std::string> corpus;
  for (int t = 0; t < texts; ++t) {
    std::string text;
    for (int w = 0; w < words_per_text; ++w) {
      int length = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < length; ++k) text += alphabet[rng() % (rng() % 2 ? 5 : alphabet.size())];
      text += rng() % 7 == 0 ? "\n" : " ";
    }
    corpus.push_back(text);
  }
  return corpus;
}

std::vector<std::string> random_bytes(uint32_t seed, int count, int max_length) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s(rng() % static_cast<uint32_t>(max_length + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? ' ' : rng() % 256);
    out.push_back(s);
  }
  return out;
}

// Applies merges to a byte string one after the other, each to every occurrence left to right.
std::vector<int64_t> apply_merges(std::string_view word, const std::vector<std::pair<int64_t, int64_t>>& merges) {
  std::vector<int64_t> ids;
  for (char b : word) ids.push_back(BpeTokenizer::kFirstByte + static_cast<unsigned char>(b));
  for (size_t m = 0; m < merges.size(); ++m) {
    std::vector<int64_t> next;
    for (size_t k = 0; k < ids.size();) {
      if (k + 1 < ids.size() && ids[k] == merges[m].first && ids[k + 1] == merges[m].second) {
        next.push_back(BpeTokenizer::kFirstMerge + static_cast<int64_t>(m));
        k += 2;
      } else {
        next.push_back(ids[k++]);
      }
    }
    ids.swap(next);
  }
  return ids;
}

// Textbook BPE training: recount every pair before every merge.
std::vector<std::pair<int64_t, int64_t>> naive_bpe(const std::vector<std::string>& texts, int64_t vocab_size,
                                                   int64_t min_frequency) {
  std::map<std::string, int64_t> word_counts;
  for (const std::string& t : texts)
    for (std::string_view w : BpeTokenizer::split(t)) ++word_counts[std::string(w)];
  std::vector<std::pair<int64_t, int64_t>> merges;
  while (BpeTokenizer::kFirstMerge + static_cast<int64_t>(merges.size()) < vocab_size) {
    std::map<std::pair<int64_t, int64_t>, int64_t> pairs;
    for (const auto& [word, count] : word_counts) {
      std::vector<int64_t> ids = apply_merges(word, merges);
      for (size_t k = 0; k + 1 < ids.size(); ++k) pairs[{ids[k], ids[k + 1]}] += count;
    }
    std::pair<int64_t, int64_t> best;
    int64_t best_count = 0;
    for (const auto& [pair, count] : pairs)  // ascending pairs: the first of the top count wins
      if (count > best_count) best = pair, best_count = count;
    if (best_count < min_frequency) break;
    merges.push_back(best);
  }
  return merges;
}

}  // namespace

TEST_CASE("tokenizer: valid_utf8 keeps valid text and replaces each bad sequence") {
  CHECK(valid_utf8("plain ascii") == "plain ascii");
  CHECK(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(valid_utf8("a\xFF" "b") == "a" + fffd + "b");                   // never a lead byte
  CHECK(valid_utf8("a\x80" "b") == "a" + fffd + "b");                   // stray continuation
  CHECK(valid_utf8("a\xE2\x82") == "a" + fffd);                         // truncated: one U+FFFD
  CHECK(valid_utf8("\xC0\xAF") == fffd + fffd);                         // overlong
  CHECK(valid_utf8("\xED\xA0\x80") == fffd + fffd + fffd);              // surrogate
  CHECK(valid_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // past U+10FFFF
  CHECK(valid_utf8(std::string("a\0b", 3)) == std::string("a\0b", 3));
}

TEST_CASE("tokenizer: word splitting - letter and digit runs, one token per other character") {
  WordTokenizer t = WordTokenizer::from_vocabulary({"[PAD]", "[UNK]", "[CLS]"}, true);
  CHECK(t.split("Hello, World!! x2 42abc") ==
        std::vector<std::string>{"hello", ",", "world", "!", "!", "x2", "42abc"});
  CHECK(t.split("Caf\xC3\xA9\tna\xC3\xAFve\n\xE2\x80\x94ok") ==
        std::vector<std::string>{"caf\xC3\xA9", "na\xC3\xAFve", "\xE2\x80\x94ok"});  // non-ASCII: letters
  CHECK(t.split("  \n\t ").empty());
  WordTokenizer cased = WordTokenizer::from_vocabulary({"[PAD]", "[UNK]", "[CLS]"}, false);
  CHECK(cased.split("Hello WORLD") == std::vector<std::string>{"Hello", "WORLD"});
}

TEST_CASE("tokenizer: word training orders by frequency then word and honours min_frequency and max_size") {
  std::vector<std::string> texts = {"the cat sat on the mat", "The dog sat", "a cat, a dog. the end"};
  // the 4; cat 2, sat 2, a 2, dog 2; on, mat, ",", ".", end 1
  WordTokenizer t = WordTokenizer::train(texts, {.min_frequency = 2, .max_size = 100, .lowercase = true});
  CHECK(t.vocabulary() == std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "the", "a", "cat", "dog", "sat"});
  CHECK(t.vocab_size() == 8);

  WordTokenizer small = WordTokenizer::train(texts, {.min_frequency = 1, .max_size = 5, .lowercase = true});
  CHECK(small.vocabulary() == std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "the", "a"});

  WordTokenizer all = WordTokenizer::train(texts, {.min_frequency = 1, .max_size = 1000, .lowercase = false});
  CHECK(all.vocab_size() == 3 + 11);  // "The" and "the" apart
  CHECK(all.token(3) == "the");       // 3 of them
  CHECK(all.token(4) == "a");         // 2 each for a, cat, dog, sat

  CHECK(WordTokenizer::train(texts, {.min_frequency = 5}).vocab_size() == 3);
  CHECK_THROWS_AS(WordTokenizer::train(texts, {.min_frequency = 0}), Error);
  CHECK_THROWS_AS(WordTokenizer::train(texts, {.max_size = 2}), Error);
}

TEST_CASE("tokenizer: word encoding maps unknown words to UNK and keeps their text as the piece") {
  WordTokenizer t = WordTokenizer::train({"red green red green blue"}, {.min_frequency = 2});
  Encoding e = t.encode("Red, purple GREEN");
  CHECK(e.ids == std::vector<int64_t>{t.encode("red").ids[0], Tokenizer::kUnk, Tokenizer::kUnk, t.encode("green").ids[0]});
  CHECK(e.pieces == std::vector<std::string>{"red", ",", "purple", "green"});
  CHECK(t.token(e.ids[0]) == "red");
  CHECK(t.token(Tokenizer::kUnk) == "[UNK]");
  CHECK_THROWS_AS(t.token(-1), Error);
  CHECK_THROWS_AS(t.token(t.vocab_size()), Error);
}

TEST_CASE("tokenizer: bpe pre-split keeps one leading space with each word and covers the text") {
  CHECK(BpeTokenizer::split("Hello world, 2024!!  ok\n\nend") ==
        std::vector<std::string_view>{"Hello", " world", ",", " 2024", "!!", " ", " ok", "\n\n", "end"});
  for (const std::string& text : random_bytes(7, 200, 300)) {
    std::string joined;
    for (std::string_view w : BpeTokenizer::split(text)) {
      CHECK(!w.empty());
      CHECK(w.size() <= BpeTokenizer::kMaxWordBytes);
      joined += w;
    }
    CHECK(joined == text);
  }
  std::string long_word;
  for (int i = 0; i < 50; ++i) long_word += "\xC3\xA9";  // 100 bytes of 2-byte characters
  for (std::string_view w : BpeTokenizer::split(long_word)) CHECK(is_valid_utf8(std::string(w)));
}

TEST_CASE("tokenizer: bpe training matches a naive trainer merge for merge") {
  std::vector<std::string> corpus = random_corpus(1, 60, 40);
  for (int64_t min_frequency : {1, 2, 5}) {
    BpeTokenizer t = BpeTokenizer::train(corpus, {.vocab_size = 259 + 120, .min_frequency = min_frequency});
    auto expected = naive_bpe(corpus, 259 + 120, min_frequency);
    CHECK(t.merges() == expected);
    CHECK(t.vocab_size() == 259 + static_cast<int64_t>(expected.size()));
  }
  CHECK(BpeTokenizer::train(corpus, {.vocab_size = 300}).vocab_size() == 300);  // vocab_size honoured
}

TEST_CASE("tokenizer: bpe min_frequency stops the merges") {
  BpeTokenizer none = BpeTokenizer::train({"ab cd ef"}, {.vocab_size = 1000, .min_frequency = 2});
  CHECK(none.merges().empty());
  BpeTokenizer some = BpeTokenizer::train({"ab ab cd ef"}, {.vocab_size = 1000, .min_frequency = 2});
  CHECK(some.merges() == std::vector<std::pair<int64_t, int64_t>>{{3 + 'a', 3 + 'b'}});  // " ab" twice, "ab" once
  CHECK(BpeTokenizer::train({"ab cd ef"}, {.vocab_size = 1000, .min_frequency = 1}).vocab_size() > 259);
  CHECK_THROWS_AS(BpeTokenizer::train({"x"}, {.vocab_size = 258}), Error);
  CHECK_THROWS_AS(BpeTokenizer::train({"x"}, {.min_frequency = 0}), Error);
}

TEST_CASE("tokenizer: bpe encodes any bytes without UNK and its token bytes rebuild the input") {
  BpeTokenizer t = BpeTokenizer::train(random_corpus(2, 80, 40), {.vocab_size = 500, .min_frequency = 2});
  std::vector<std::string> inputs = random_bytes(3, 100, 200);
  for (const std::string& s : random_corpus(4, 20, 30)) inputs.push_back(s);
  inputs.push_back("");
  inputs.push_back(std::string("nul\0byte", 8));
  for (const std::string& text : inputs) {
    Encoding e;
    REQUIRE_NOTHROW(e = t.encode(text));
    REQUIRE(e.ids.size() == e.pieces.size());
    std::string joined;
    for (size_t i = 0; i < e.ids.size(); ++i) {
      CHECK(e.ids[i] >= BpeTokenizer::kFirstByte);  // no special token, no UNK
      CHECK(e.ids[i] < t.vocab_size());
      CHECK(is_valid_utf8(e.pieces[i]));
      CHECK(e.pieces[i] == t.token(e.ids[i]));
      joined += t.bytes(e.ids[i]);
    }
    CHECK(joined == text);
    CHECK(t.decode(e.ids) == text);
    // Rank-ordered merging per word is the same as applying the merges one after the other.
    std::vector<int64_t> expected;
    for (std::string_view w : BpeTokenizer::split(text))
      for (int64_t id : apply_merges(w, t.merges())) expected.push_back(id);
    CHECK(e.ids == expected);
    CHECK(t.encode(text).ids == e.ids);  // the cached path agrees
  }
  CHECK(t.encode("abc abc").ids.size() < 7);  // the merges are used
  CHECK(t.token(Tokenizer::kCls) == "[CLS]");
  CHECK_THROWS_AS(t.token(t.vocab_size()), Error);
  CHECK_THROWS_AS(t.decode({-1}), Error);
}

TEST_CASE("tokenizer: invalid UTF-8 never throws and pieces stay valid UTF-8") {
  WordTokenizer word = WordTokenizer::train(random_corpus(5, 30, 20), {.min_frequency = 1});
  BpeTokenizer bpe = BpeTokenizer::train(random_corpus(5, 30, 20), {.vocab_size = 400});
  for (const std::string& text : random_bytes(6, 200, 100)) {
    for (const Tokenizer* t : {static_cast<const Tokenizer*>(&word), static_cast<const Tokenizer*>(&bpe)}) {
      Encoding e;
      REQUIRE_NOTHROW(e = t->encode(text));
      CHECK(e.ids.size() == e.pieces.size());
      for (const std::string& p : e.pieces) CHECK(is_valid_utf8(p));
    }
  }
}

TEST_CASE("tokenizer: save and load round trip both kinds with identical encodings") {
  TempDir dir;
  std::vector<std::string> corpus = random_corpus(8, 50, 30);
  WordTokenizer word = WordTokenizer::train(corpus, {.min_frequency = 2, .max_size = 50, .lowercase = false});
  BpeTokenizer bpe = BpeTokenizer::train(corpus, {.vocab_size = 450});
  word.save(dir.path / "word.json");
  bpe.save(dir.path / "bpe.json");
  bpe.save(dir.path / "bpe.json");  // overwriting is fine
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 2);  // no temporary left

  std::unique_ptr<Tokenizer> word2 = Tokenizer::load(dir.path / "word.json");
  std::unique_ptr<Tokenizer> bpe2 = Tokenizer::load(dir.path / "bpe.json");
  CHECK(word2->type() == "word");
  CHECK(bpe2->type() == "bpe");
  CHECK(word2->vocab_size() == word.vocab_size());
  CHECK(bpe2->vocab_size() == bpe.vocab_size());
  CHECK(dynamic_cast<WordTokenizer&>(*word2).lowercase() == false);
  CHECK(dynamic_cast<BpeTokenizer&>(*bpe2).merges() == bpe.merges());
  std::vector<std::string> inputs = random_corpus(9, 20, 30);
  for (const std::string& s : random_bytes(10, 20, 100)) inputs.push_back(s);
  for (const std::string& text : inputs) {
    CHECK(word2->encode(text).ids == word.encode(text).ids);
    CHECK(word2->encode(text).pieces == word.encode(text).pieces);
    CHECK(bpe2->encode(text).ids == bpe.encode(text).ids);
    CHECK(bpe2->encode(text).pieces == bpe.encode(text).pieces);
  }
  for (int64_t id = 0; id < word.vocab_size(); ++id) CHECK(word2->token(id) == word.token(id));
  for (int64_t id = 0; id < bpe.vocab_size(); ++id) CHECK(bpe2->token(id) == bpe.token(id));
}

TEST_CASE("tokenizer: encode_batch truncates, pads, masks and puts CLS first") {
  WordTokenizer t = WordTokenizer::train({"a b c d e f a b c d e f"}, {.min_frequency = 1});
  const std::vector<std::string> texts = {"a b c d e f", "b", ""};
  BatchEncoding batch = encode_batch(t, texts, 4);
  REQUIRE(batch.ids.shape() == Shape{3, 4});
  REQUIRE(batch.padding_mask.shape() == Shape{3, 4});
  CHECK(batch.ids.dtype() == DType::Int64);
  CHECK(batch.padding_mask.dtype() == kBool);
  auto id = [&](std::string_view w) { return t.encode(w).ids.at(0); };
  const int64_t P = Tokenizer::kPad, C = Tokenizer::kCls;
  CHECK(batch.ids.to_vector<int64_t>() == std::vector<int64_t>{C, id("a"), id("b"), id("c"),  //
                                                              C, id("b"), P, P,              //
                                                              C, P, P, P});
  CHECK(batch.padding_mask.to_vector<uint8_t>() == std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1});
  CHECK(batch.encodings.size() == 3);
  CHECK(batch.encodings[0].pieces == std::vector<std::string>{"[CLS]", "a", "b", "c"});
  CHECK(batch.encodings[1].ids == std::vector<int64_t>{C, id("b")});

  BatchEncoding plain = encode_batch(t, texts, 10, false);  // longest is 6: no padding past it
  REQUIRE(plain.ids.shape() == Shape{3, 6});
  CHECK(plain.ids.to_vector<int64_t>()[0] == id("a"));
  CHECK(plain.padding_mask.to_vector<uint8_t>() ==
        std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  CHECK(plain.encodings[0].ids.size() == 6);

  BatchEncoding only_cls = encode_batch(t, texts, 1);
  CHECK(only_cls.ids.shape() == Shape{3, 1});
  CHECK(only_cls.ids.to_vector<int64_t>() == std::vector<int64_t>{C, C, C});
  CHECK(encode_batch(t, {}, 8).ids.numel() == 0);
  CHECK_THROWS_AS(encode_batch(t, texts, 0), Error);
}

TEST_CASE("tokenizer: malformed or hostile files give heed::Error") {
  TempDir dir;
  const std::string specials = R"("[PAD]", "[UNK]", "[CLS]")";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"empty", ""},
      {"not json", "{\"type\": \"word\","},
      {"not an object", "[1, 2]"},
      {"no type", R"({"version": 1, "lowercase": true, "vocab": [)" + specials + "]}"},
      {"wrong type", R"({"type": "sentencepiece", "version": 1})"},
      {"type not a string", R"({"type": 3, "version": 1})"},
      {"no version", R"({"type": "word", "lowercase": true, "vocab": [)" + specials + "]}"},
      {"future version", R"({"type": "word", "version": 2, "lowercase": true, "vocab": [)" + specials + "]}"},
      {"word no vocab", R"({"type": "word", "version": 1, "lowercase": true})"},
      {"word no lowercase", R"({"type": "word", "version": 1, "vocab": [)" + specials + "]}"},
      {"word lowercase not bool", R"({"type": "word", "version": 1, "lowercase": 1, "vocab": [)" + specials + "]}"},
      {"word vocab not array", R"({"type": "word", "version": 1, "lowercase": true, "vocab": "abc"})"},
      {"word entry not string", R"({"type": "word", "version": 1, "lowercase": true, "vocab": [)" + specials + ", 5]}"},
      {"word duplicate", R"({"type": "word", "version": 1, "lowercase": true, "vocab": [)" + specials + R"(, "a", "a"]})"},
      {"word empty entry", R"({"type": "word", "version": 1, "lowercase": true, "vocab": [)" + specials + R"(, ""]})"},
      {"word specials missing", R"({"type": "word", "version": 1, "lowercase": true, "vocab": ["a", "b", "c"]})"},
      {"word specials short", R"({"type": "word", "version": 1, "lowercase": true, "vocab": ["[PAD]"]})"},
      {"bpe no merges", R"({"type": "bpe", "version": 1, "vocab_size": 259})"},
      {"bpe no vocab_size", R"({"type": "bpe", "version": 1, "merges": []})"},
      {"bpe vocab_size mismatch", R"({"type": "bpe", "version": 1, "vocab_size": 300, "merges": [[3, 4]]})"},
      {"bpe id too big", R"({"type": "bpe", "version": 1, "vocab_size": 260, "merges": [[3, 259]]})"},
      {"bpe special id", R"({"type": "bpe", "version": 1, "vocab_size": 260, "merges": [[1, 4]]})"},
      {"bpe negative id", R"({"type": "bpe", "version": 1, "vocab_size": 260, "merges": [[-5, 4]]})"},
      {"bpe huge id", R"({"type": "bpe", "version": 1, "vocab_size": 260, "merges": [[18446744073709551615, 4]]})"},
      {"bpe float id", R"({"type": "bpe", "version": 1, "vocab_size": 260, "merges": [[3.5, 4]]})"},
      {"bpe not a pair", R"({"type": "bpe", "version": 1, "vocab_size": 260, "merges": [[3, 4, 5]]})"},
      {"bpe duplicate merge", R"({"type": "bpe", "version": 1, "vocab_size": 261, "merges": [[3, 4], [3, 4]]})"},
      {"bpe merges not array", R"({"type": "bpe", "version": 1, "vocab_size": 259, "merges": {}})"},
  };
  for (const auto& [name, contents] : bad) {
    CAPTURE(name);
    CHECK_THROWS_AS(Tokenizer::load(dir.file("t.json", contents)), Error);
  }
  CHECK_THROWS_AS(Tokenizer::load(dir.path / "missing.json"), Error);
  CHECK_THROWS_AS(Tokenizer::load(dir.path), Error);  // a directory
  // The well-formed neighbours of the cases above load.
  CHECK(Tokenizer::load(dir.file("w.json", R"({"type": "word", "version": 1, "lowercase": true, "vocab": [)" + specials +
                                               R"(, "a"]})"))->vocab_size() == 4);
  CHECK(Tokenizer::load(dir.file("b.json", R"({"type": "bpe", "version": 1, "vocab_size": 261, "merges": [[3, 4], [259, 4]]})"))
            ->vocab_size() == 261);
  CHECK_THROWS_AS(WordTokenizer::from_vocabulary({"[PAD]", "[UNK]", "[CLS]", "\xFF"}, true), Error);
}
