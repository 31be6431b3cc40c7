#include "datasets/text_corpus.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "datasets/text_clean.h"
#include "tensor/error.h"

namespace heed::data {
namespace fs = std::filesystem;
namespace {

// Examples with label names, turned into a TextCorpus once all are read.
class CorpusBuilder {
 public:
  CorpusBuilder(const TextFormat& format, std::string name) : format_(format), name_(std::move(name)) {}

  void add(std::string_view text, std::string label, std::string source) {
    texts_.push_back(format_.email ? clean_email(text) : sanitize_utf8(text));
    names_.push_back(std::move(label));
    sources_.push_back(std::move(source));
  }

  TextCorpus finish() {
    HEED_CHECK(!texts_.empty(), "{}: the corpus is empty (no examples found)", name_);
    TextCorpus corpus;
    corpus.label_names = names_;
    std::sort(corpus.label_names.begin(), corpus.label_names.end());
    corpus.label_names.erase(std::unique(corpus.label_names.begin(), corpus.label_names.end()),
                             corpus.label_names.end());
    if (std::all_of(corpus.label_names.begin(), corpus.label_names.end(), is_integer))
      std::sort(corpus.label_names.begin(), corpus.label_names.end(),
                [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
    std::map<std::string, int64_t> index;
    for (size_t i = 0; i < corpus.label_names.size(); ++i) index[corpus.label_names[i]] = static_cast<int64_t>(i);
    corpus.labels.reserve(names_.size());
    for (const auto& name : names_) corpus.labels.push_back(index.at(name));
    corpus.texts = std::move(texts_);
    corpus.sources = std::move(sources_);
    return corpus;
  }

 private:
  // A canonical decimal integer small enough for stoll ("7", "-3"; not "07" or "+1").
  static bool is_integer(const std::string& s) {
    const size_t digits_from = !s.empty() && s[0] == '-' ? 1 : 0;
    const std::string_view digits = std::string_view(s).substr(digits_from);
    if (digits.empty() || digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) return false;
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  const TextFormat& format_;
  std::string name_;
  std::vector<std::string> texts_, names_, sources_;
};

std::string read_file(const fs::path& file, std::string_view who) {
  std::error_code ec;
  HEED_CHECK(fs::exists(file, ec), "{}: '{}' does not exist", who, file.string());
  HEED_CHECK(fs::is_regular_file(file, ec), "{}: '{}' is not a regular file", who, file.string());
  std::ifstream in(file, std::ios::binary);
  HEED_CHECK(in, "{}: cannot open '{}'", who, file.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  HEED_CHECK(!in.bad(), "{}: cannot read '{}'", who, file.string());
  return std::move(buffer).str();
}

bool is_hidden(const fs::path& path) { return path.filename().string().starts_with('.'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// ---------------------------------------------------------------- CSV (RFC 4180)

class CsvReader {
 public:
  CsvReader(std::string_view content, char delimiter, const std::string& name)
      : content_(content), delimiter_(delimiter), name_(name) {
    if (content_.starts_with("\xEF\xBB\xBF")) content_.remove_prefix(3);  // UTF-8 byte order mark
  }

  // The next record's fields and the line it starts on; false at the end. Blank lines are skipped.
  bool next(std::vector<std::string>& fields, size_t& start_line) {
    while (at_line_end()) {
      if (pos_ >= content_.size()) return false;
      skip_line_end();
    }
    fields.clear();
    start_line = line_;
    while (true) {
      fields.push_back(content_[pos_] == '"' ? quoted_field(start_line) : plain_field());
      if (pos_ < content_.size() && content_[pos_] == delimiter_) {
        ++pos_;
        if (pos_ >= content_.size()) {  // a trailing delimiter: one more, empty field
          fields.emplace_back();
          return true;
        }
        continue;
      }
      if (pos_ < content_.size()) skip_line_end();
      return true;
    }
  }

 private:
  bool at_line_end() const {
    return pos_ >= content_.size() || content_[pos_] == '\n' ||
           (content_[pos_] == '\r' && pos_ + 1 < content_.size() && content_[pos_ + 1] == '\n');
  }
  void skip_line_end() {
    pos_ += content_[pos_] == '\r' ? 2 : 1;
    ++line_;
  }

  std::string plain_field() {
    const size_t start = pos_;
    while (pos_ < content_.size() && content_[pos_] != delimiter_ && !at_line_end()) ++pos_;
    return std::string(content_.substr(start, pos_ - start));
  }

  std::string quoted_field(size_t start_line) {
    std::string field;
    const size_t quote_line = line_;
    ++pos_;
    while (true) {
      HEED_CHECK(pos_ < content_.size(), "{}:{}: a quoted field opened on line {} is never closed", name_, start_line,
                 quote_line);
      const char c = content_[pos_++];
      if (c == '"') {
        if (pos_ < content_.size() && content_[pos_] == '"') {
          field += '"';
          ++pos_;
          continue;
        }
        break;
      }
      if (c == '\n') ++line_;
      field += c;
    }
    HEED_CHECK(pos_ >= content_.size() || content_[pos_] == delimiter_ || at_line_end(),
               "{}:{}: unexpected character '{}' after a closing quote (quotes inside a field must be doubled)",
               name_, line_, content_[pos_]);
    return field;
  }

  std::string_view content_;
  char delimiter_;
  const std::string& name_;
  size_t pos_ = 0, line_ = 1;
};

size_t column_index(const std::vector<std::string>& header, const std::string& column, std::string_view role,
                    const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i)
    if (trim(header[i]) == column) return i;
  std::string names;
  for (const auto& h : header) names += (names.empty() ? "\"" : ", \"") + std::string(trim(h)) + "\"";
  HEED_FAIL("{}:1: no {} column \"{}\" in the header (columns: {})", name, role, column, names);
}

}  // namespace

TextCorpus parse_text_csv(std::string_view content, const TextFormat& format, char delimiter,
                          const std::string& source_name) {
  HEED_CHECK(delimiter != '"' && delimiter != '\n' && delimiter != '\r', "{}: invalid CSV delimiter {:?}",
             source_name, delimiter);
  CsvReader reader(content, delimiter, source_name);
  std::vector<std::string> header, fields;
  size_t line = 0;
  HEED_CHECK(reader.next(header, line), "{}: the file is empty (expected a header row)", source_name);
  const size_t label = column_index(header, format.label_column, "label", source_name);
  const size_t text = column_index(header, format.text_column, "text", source_name);
  CorpusBuilder builder(format, source_name);
  while (reader.next(fields, line)) {
    HEED_CHECK(fields.size() == header.size(), "{}:{}: expected {} fields as in the header, found {}", source_name,
               line, header.size(), fields.size());
    std::string label_name = sanitize_utf8(trim(fields[label]));
    HEED_CHECK(!label_name.empty(), "{}:{}: the label is empty", source_name, line);
    builder.add(fields[text], std::move(label_name), source_name + ":" + std::to_string(line));
  }
  return builder.finish();
}

TextCorpus parse_text_jsonl(std::string_view content, const TextFormat& format, const std::string& source_name) {
  CorpusBuilder builder(format, source_name);
  size_t line_number = 0, pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = trim(content.substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    if (line_number == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.empty()) continue;
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(sanitize_utf8(line));
    } catch (const nlohmann::json::exception& e) {
      HEED_FAIL("{}:{}: malformed JSON: {}", source_name, line_number, e.what());
    }
    HEED_CHECK(row.is_object(), "{}:{}: expected a JSON object, got {}", source_name, line_number, row.type_name());
    auto label = row.find(format.label_column);
    auto text = row.find(format.text_column);
    HEED_CHECK(label != row.end(), "{}:{}: no \"{}\" key (the label)", source_name, line_number, format.label_column);
    HEED_CHECK(text != row.end(), "{}:{}: no \"{}\" key (the text)", source_name, line_number, format.text_column);
    HEED_CHECK(text->is_string(), "{}:{}: \"{}\" must be a string, got {}", source_name, line_number,
               format.text_column, text->type_name());
    std::string label_name;
    if (label->is_string()) label_name = std::string(trim(label->get_ref<const std::string&>()));
    else if (label->is_number_integer()) label_name = label->dump();
    else
      HEED_FAIL("{}:{}: \"{}\" must be a string or an integer, got {}", source_name, line_number,
                format.label_column, label->type_name());
    HEED_CHECK(!label_name.empty(), "{}:{}: the label is empty", source_name, line_number);
    builder.add(text->get_ref<const std::string&>(), std::move(label_name),
                source_name + ":" + std::to_string(line_number));
  }
  return builder.finish();
}

TextCorpus load_text_csv(const fs::path& file, const TextFormat& format, char delimiter) {
  return parse_text_csv(read_file(file, "load_text_csv"), format, delimiter, file.filename().string());
}

TextCorpus load_text_jsonl(const fs::path& file, const TextFormat& format) {
  return parse_text_jsonl(read_file(file, "load_text_jsonl"), format, file.filename().string());
}

TextCorpus load_text_folder(const fs::path& root, const TextFormat& format) {
  std::error_code ec;
  HEED_CHECK(fs::exists(root, ec), "load_text_folder: '{}' does not exist", root.string());
  HEED_CHECK(fs::is_directory(root, ec), "load_text_folder: '{}' is not a directory", root.string());
  CorpusBuilder builder(format, "load_text_folder: '" + root.string() + "'");
  try {
    std::vector<fs::path> classes;
    for (const auto& entry : fs::directory_iterator(root))
      if (!is_hidden(entry.path()) && entry.is_directory()) classes.push_back(entry.path());
    std::sort(classes.begin(), classes.end());
    for (const auto& class_dir : classes) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(class_dir); it != fs::recursive_directory_iterator(); ++it) {
        if (is_hidden(it->path())) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file()) files.push_back(it->path());
      }
      HEED_CHECK(!files.empty(), "load_text_folder: the class folder '{}' holds no files", class_dir.string());
      std::sort(files.begin(), files.end());
      const std::string label = sanitize_utf8(class_dir.filename().string());
      for (const auto& file : files)
        builder.add(read_file(file, "load_text_folder"), label, file.lexically_relative(root).generic_string());
    }
  } catch (const fs::filesystem_error& e) {
    HEED_FAIL("load_text_folder: cannot list '{}': {}", root.string(), e.what());
  }
  return builder.finish();
}

TextCorpus load_text_corpus(const fs::path& path, const TextFormat& format) {
  std::error_code ec;
  HEED_CHECK(fs::exists(path, ec), "load_text_corpus: '{}' does not exist", path.string());
  if (fs::is_directory(path, ec)) return load_text_folder(path, format);
  std::string extension = path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (extension == ".csv") return load_text_csv(path, format, ',');
  if (extension == ".tsv") return load_text_csv(path, format, '\t');
  if (extension == ".jsonl" || extension == ".ndjson") return load_text_jsonl(path, format);
  HEED_FAIL("load_text_corpus: '{}': unsupported corpus (expected a folder of class folders, .csv, .tsv, .jsonl or "
            ".ndjson)",
            path.string());
}

}  // namespace heed::data
