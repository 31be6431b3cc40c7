// Text corpora from a folder per class, CSV/TSV and JSON Lines (tests/fixtures/text).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "datasets/text_corpus.h"
#include "tensor/error.h"

using namespace heed::data;
namespace fs = std::filesystem;

namespace {
fs::path fixture(const std::string& name) { return fs::path(HEED_FIXTURES_DIR) / "text" / name; }

// A scratch file removed at the end of the test.
struct TempFile {
  fs::path path;
  TempFile(const std::string& name, const std::string& content)
      : path(fs::temp_directory_path() / ("heed-test-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { fs::remove(path); }
};

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const heed::Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("load_text_folder reads class folders recursively and skips hidden files") {
  TextCorpus corpus = load_text_corpus(fixture("folder"));
  REQUIRE(corpus.texts.size() == 4);
  CHECK(corpus.label_names == std::vector<std::string>{"ham", "spam"});
  CHECK(corpus.labels == std::vector<int64_t>{0, 0, 1, 1});
  CHECK(corpus.sources == std::vector<std::string>{"ham/0001.txt", "ham/nested/0002.txt", "spam/0003.txt", "spam/0004.txt"});
  CHECK(corpus.texts[0] == "Meeting at noon tomorrow.\n");
  CHECK(corpus.texts[3] == "bad bytes \xEF\xBF\xBD\xEF\xBF\xBD here\n");
}

TEST_CASE("load_text_folder with email cleaning") {
  TextCorpus corpus = load_text_corpus(fixture("folder"), {.email = true});
  REQUIRE(corpus.texts.size() == 4);
  CHECK(corpus.texts[2].starts_with("You won \xC2\xA3" "100\n\nClick now"));
  CHECK(corpus.texts[2].find("alert") == std::string::npos);
}

TEST_CASE("load_text_csv handles RFC 4180 quoting and reports line numbers") {
  TextCorpus corpus = load_text_corpus(fixture("sample.csv"));
  REQUIRE(corpus.texts.size() == 4);
  CHECK(corpus.texts[0] == "Buy now, pay later");
  CHECK(corpus.texts[1] == "He said \"hello\" to me");
  CHECK(corpus.texts[2] == "first line\nsecond line");
  CHECK(corpus.texts[3] == "plain text with a \"quote\" inside");
  CHECK(corpus.label_names == std::vector<std::string>{"ham", "spam"});
  CHECK(corpus.labels == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(corpus.sources == std::vector<std::string>{"sample.csv:2", "sample.csv:3", "sample.csv:4", "sample.csv:7"});
}

TEST_CASE("load_text_csv reads TSV with CRLF line ends") {
  TextCorpus corpus = load_text_corpus(fixture("sample.tsv"));
  REQUIRE(corpus.texts.size() == 2);
  CHECK(corpus.texts[1] == "bad, bad\tmovie");
  CHECK(corpus.label_names == std::vector<std::string>{"neg", "pos"});
  CHECK(corpus.labels == std::vector<int64_t>{1, 0});
}

TEST_CASE("load_text_csv with other column names") {
  TextCorpus corpus = parse_text_csv("body,category\nhello,a\n", {.label_column = "category", .text_column = "body"},
                                     ',', "mem.csv");
  CHECK(corpus.texts == std::vector<std::string>{"hello"});
  CHECK(corpus.label_names == std::vector<std::string>{"a"});
}

TEST_CASE("malformed CSV rows are errors naming the line") {
  const TextFormat format;
  CHECK(error_of([&] { parse_text_csv("label,text\na,b\nc\n", format, ',', "x.csv"); }).find("x.csv:3") !=
        std::string::npos);
  CHECK(error_of([&] { parse_text_csv("label,text\na,\"open\nstill open", format, ',', "x.csv"); })
            .find("x.csv:2: a quoted field opened on line 2 is never closed") != std::string::npos);
  CHECK(error_of([&] { parse_text_csv("label,text\na,\"b\"c\n", format, ',', "x.csv"); }).find("x.csv:2") !=
        std::string::npos);
  CHECK(error_of([&] { parse_text_csv("lbl,text\na,b\n", format, ',', "x.csv"); }).find("no label column \"label\"") !=
        std::string::npos);
  CHECK(error_of([&] { parse_text_csv(" ,text\n,b\n", {.label_column = ""}, ',', "x.csv"); }).find("x.csv:2: the label is empty") !=
        std::string::npos);
  CHECK(error_of([&] { parse_text_csv("label,text\n", format, ',', "x.csv"); }).find("empty") != std::string::npos);
  CHECK(error_of([&] { parse_text_csv("", format, ',', "x.csv"); }).find("empty") != std::string::npos);
}

TEST_CASE("load_text_jsonl accepts integer labels and sorts them numerically") {
  TextCorpus corpus = load_text_corpus(fixture("sample.jsonl"));
  REQUIRE(corpus.texts.size() == 3);
  CHECK(corpus.label_names == std::vector<std::string>{"2", "9", "10"});
  CHECK(corpus.labels == std::vector<int64_t>{2, 0, 1});
  CHECK(corpus.texts == std::vector<std::string>{"ten", "two", "nine"});
  CHECK(corpus.sources[2] == "sample.jsonl:4");
}

TEST_CASE("malformed JSON Lines are errors naming the line") {
  const TextFormat format;
  CHECK(error_of([&] { parse_text_jsonl("{\"label\":\"a\",\"text\":\"b\"}\n{oops\n", format, "x.jsonl"); })
            .find("x.jsonl:2: malformed JSON") != std::string::npos);
  CHECK(error_of([&] { parse_text_jsonl("[1]\n", format, "x.jsonl"); }).find("x.jsonl:1: expected a JSON object") !=
        std::string::npos);
  CHECK(error_of([&] { parse_text_jsonl("{\"label\":1.5,\"text\":\"b\"}\n", format, "x.jsonl"); })
            .find("string or an integer") != std::string::npos);
  CHECK(error_of([&] { parse_text_jsonl("{\"label\":\"a\"}\n", format, "x.jsonl"); }).find("no \"text\" key") !=
        std::string::npos);
  CHECK(error_of([&] { parse_text_jsonl("\n\n", format, "x.jsonl"); }).find("empty") != std::string::npos);
}

TEST_CASE("JSON Lines with invalid UTF-8 bytes load with replacement characters") {
  TextCorpus corpus = parse_text_jsonl("{\"label\":\"a\",\"text\":\"x\xFFy\"}", {}, "x.jsonl");
  CHECK(corpus.texts[0] == "x\xEF\xBF\xBDy");
}

TEST_CASE("load_text_corpus rejects missing paths, unknown formats and empty folders") {
  CHECK(error_of([] { load_text_corpus(fixture("no-such-corpus")); }).find("does not exist") != std::string::npos);
  CHECK(error_of([] { load_text_corpus(fixture("multipart.eml")); }).find("unsupported") != std::string::npos);
  const fs::path empty = fs::temp_directory_path() / ("heed-test-empty-" + std::to_string(::getpid()));
  fs::create_directories(empty / "a");
  CHECK(error_of([&] { load_text_folder(empty); }).find("holds no files") != std::string::npos);
  fs::remove_all(empty / "a");
  CHECK(error_of([&] { load_text_folder(empty); }).find("empty") != std::string::npos);
  fs::remove_all(empty);
  TempFile csv("dir-as-csv.csv", "label,text\n");
  CHECK(error_of([&] { load_text_csv(csv.path.parent_path()); }).find("not a regular file") != std::string::npos);
}
