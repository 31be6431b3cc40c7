// Labelled text corpora from disk: a folder per class, CSV/TSV, or JSON Lines.
//
//   data::TextCorpus corpus = data::load_text_corpus("data/spamassassin", {.email = true});
//   corpus.texts[i], corpus.label_names[corpus.labels[i]], corpus.sources[i]
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace heed::data {

struct TextCorpus {
  std::vector<std::string> texts;        // valid UTF-8 (invalid bytes replaced by U+FFFD)
  std::vector<int64_t> labels;           // index into label_names
  std::vector<std::string> label_names;  // sorted (numerically when every name is an integer)
  std::vector<std::string> sources;      // where each text came from ("ham/0001.txt", "x.csv:17")
};

struct TextFormat {
  std::string label_column = "label";  // CSV/TSV header name, or JSON Lines key
  std::string text_column = "text";
  bool email = false;                  // apply clean_email() to each text
};

// A directory: one subfolder per class (root/<label>/<files>, files read recursively, hidden
// files and folders skipped, plain files directly under root ignored). .csv / .tsv: header row
// naming the columns, RFC 4180 quoting (quoted fields with commas, doubled quotes and
// newlines). .jsonl / .ndjson: one JSON object per line (label may be a string or an integer).
// Anything else, a missing path, an unreadable file, a malformed row (its line number in the
// message), or an empty corpus: heed::Error.
TextCorpus load_text_corpus(const std::filesystem::path& path, const TextFormat& format = {});
TextCorpus load_text_folder(const std::filesystem::path& root, const TextFormat& format = {});
TextCorpus load_text_csv(const std::filesystem::path& file, const TextFormat& format = {}, char delimiter = ',');
TextCorpus load_text_jsonl(const std::filesystem::path& file, const TextFormat& format = {});

// The parsers behind the two file loaders, on bytes in memory; `source_name` prefixes the
// sources ("x.csv" -> "x.csv:17") and the error messages.
TextCorpus parse_text_csv(std::string_view content, const TextFormat& format, char delimiter,
                          const std::string& source_name);
TextCorpus parse_text_jsonl(std::string_view content, const TextFormat& format, const std::string& source_name);

}  // namespace heed::data
