// heed-text's pieces shared by its subcommands: reading a corpus, the run directory's files,
// encoding texts, batching and evaluation.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/metrics.h"
#include "apps/text_classifier/text_model.h"
#include "datasets/split.h"
#include "datasets/text_corpus.h"
#include "datasets/tokenizer.h"
#include "distributed/process_group.h"

namespace heed::text {

namespace fs = std::filesystem;

inline constexpr const char* kAppName = "heed-text";
inline constexpr int kConfigVersion = 1;

// The corpus at `path`; email "on", "off" or "auto" (on when most texts look like RFC 822
// emails). Sets *email_used to the choice made. Throws heed::Error for a corpus that cannot be
// trained on (missing, unreadable, empty, fewer than two classes).
data::TextCorpus load_corpus(const fs::path& path, const std::string& email, bool* email_used);
// True when `text` starts with a block of "Name: value" header lines holding From or Subject.
bool looks_like_email(const std::string& text);
// At most `limit` indices of `labels`, the same share from each class (all when limit <= 0).
std::vector<int64_t> stratified_subset(const std::vector<int64_t>& labels, int64_t limit, uint64_t seed);

// CLS, then the text's first max_length − 1 tokens.
data::Encoding encode_text(const data::Tokenizer& tokenizer, const std::string& text, int64_t max_length);

struct Example {
  std::vector<int64_t> ids;
  int64_t label = 0;
};
struct Batch {
  Tensor ids, padding_mask, labels;  // (B,T) int64, (B,T) bool, (B) int64
  int64_t size = 0;
};
Batch collate(std::vector<Example>&& examples);

struct Evaluation {
  double loss = 0;
  std::vector<int64_t> predictions;
  apps::ClassificationReport report;
};
// With a job of several processes, each scores every size-th batch and all of them get the
// whole result; every process must call it with the same model and examples.
Evaluation evaluate(TextModel& model, const std::vector<Example>& examples, const std::vector<std::string>& label_names,
                    int64_t batch_size, dist::ProcessGroup* job = nullptr);

// The run directory's config.json, checked to come from heed-text.
nlohmann::json read_config(const fs::path& run_dir);
// What eval and predict need from a finished run: settings, tokenizer and best model.
struct LoadedRun {
  nlohmann::json config;
  ModelConfig model_config;
  std::vector<std::string> label_names;
  std::unique_ptr<data::Tokenizer> tokenizer;
  std::shared_ptr<TextModel> model;  // best.safetensors loaded, in eval mode
};
LoadedRun load_run(const fs::path& run_dir);

// Subcommands: argv[1] is the subcommand's name; each returns the exit code.
int train_command(int argc, const char* const* argv);
int eval_command(int argc, const char* const* argv);
int predict_command(int argc, const char* const* argv);

}  // namespace heed::text
