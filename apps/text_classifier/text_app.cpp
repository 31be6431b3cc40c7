#include "apps/text_classifier/text_app.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "apps/common/distributed.h"
#include "apps/common/files.h"
#include "apps/common/run_dir.h"
#include "datasets/dataset.h"
#include "datasets/text_clean.h"
#include "nn/nn.h"
#include "tensor/error.h"

namespace heed::text {

bool looks_like_email(const std::string& text) {
  size_t pos = 0, headers = 0;
  bool from_or_subject = false;
  while (pos < text.size() && headers < 200) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (line[0] == ' ' || line[0] == '\t') {  // folded continuation line
      pos = end + 1;
      continue;
    }
    if (headers == 0 && line.rfind("From ", 0) == 0) {  // mbox separator line
      pos = end + 1;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    for (char c : line.substr(0, colon))
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    from_or_subject |= name == "from" || name == "subject";
    ++headers;
    pos = end + 1;
  }
  return headers >= 2 && from_or_subject;
}

data::TextCorpus load_corpus(const fs::path& path, const std::string& email, bool* email_used) {
  std::error_code ec;
  HEED_CHECK(fs::exists(path, ec), "corpus {}: no such file or folder", path.string());
  data::TextCorpus corpus = data::load_text_corpus(path, {});
  HEED_CHECK(!corpus.texts.empty(), "corpus {}: no texts", path.string());
  bool on = email == "on";
  if (email == "auto") {
    size_t sample = std::min<size_t>(corpus.texts.size(), 200), emails = 0;
    for (size_t i = 0; i < sample; ++i) emails += looks_like_email(corpus.texts[i * corpus.texts.size() / sample]);
    on = emails * 2 > sample;
  }
  if (on)
    for (auto& t : corpus.texts) t = data::clean_email(t);
  if (email_used) *email_used = on;
  return corpus;
}

std::vector<int64_t> stratified_subset(const std::vector<int64_t>& labels, int64_t limit, uint64_t seed) {
  std::vector<int64_t> all(labels.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  if (limit <= 0 || size_t(limit) >= labels.size()) return all;
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (int64_t i : all) by_class[labels[i]].push_back(i);
  std::vector<int64_t> chosen;
  for (auto& [label, members] : by_class) {
    data::shuffle_in_place(members, seed, uint64_t(label) + 1000);
    auto take = size_t(std::llround(double(members.size()) * double(limit) / double(labels.size())));
    take = std::clamp<size_t>(take, std::min<size_t>(members.size(), 3), members.size());
    chosen.insert(chosen.end(), members.begin(), members.begin() + int64_t(take));
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

data::Encoding encode_text(const data::Tokenizer& tokenizer, const std::string& text, int64_t max_length) {
  data::Encoding e = tokenizer.encode(text);
  const auto room = size_t(max_length - 1);
  if (e.ids.size() > room) {
    e.ids.resize(room);
    e.pieces.resize(room);
  }
  e.ids.insert(e.ids.begin(), data::Tokenizer::kCls);
  e.pieces.insert(e.pieces.begin(), std::string(data::kSpecialTokens[data::Tokenizer::kCls]));
  return e;
}

Batch collate(std::vector<Example>&& examples) {
  size_t longest = 1;
  for (const auto& e : examples) longest = std::max(longest, e.ids.size());
  const auto rows = int64_t(examples.size()), cols = int64_t(longest);
  Batch batch{full({rows, cols}, double(data::Tokenizer::kPad), {DType::Int64}), ones({rows, cols}, {kBool}),
              empty({rows}, {DType::Int64}), rows};
  auto* ids = batch.ids.data_ptr<int64_t>();
  auto* mask = batch.padding_mask.data_ptr<uint8_t>();
  auto* labels = batch.labels.data_ptr<int64_t>();
  for (size_t r = 0; r < examples.size(); ++r) {
    std::copy(examples[r].ids.begin(), examples[r].ids.end(), ids + r * longest);
    std::fill(mask + r * longest, mask + r * longest + examples[r].ids.size(), uint8_t{0});
    labels[r] = examples[r].label;
  }
  return batch;
}

Evaluation evaluate(TextModel& model, const std::vector<Example>& examples, const std::vector<std::string>& label_names,
                    int64_t batch_size, dist::ProcessGroup* job) {
  HEED_CHECK(!examples.empty(), "evaluate: no examples");
  bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Evaluation result;
  std::vector<int64_t> truth;
  // Sorted by length, so that batches hold texts of similar length and little padding.
  std::vector<size_t> order(examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return examples[a].ids.size() < examples[b].ids.size(); });
  const size_t rank = job ? size_t(job->rank()) : 0, ranks = job ? size_t(job->size()) : 1;
  const Device device = model.parameters().front().device();
  // This process's predictions + 1 at its examples, 0 elsewhere, then its loss sum: summed over the job.
  std::vector<double> shared(examples.size() + 1, 0.0);
  const size_t per_batch = std::min(size_t(batch_size), (order.size() + ranks - 1) / ranks);  // a batch for each
  for (size_t start = 0, b = 0; start < order.size(); start += per_batch, ++b) {
    if (b % ranks != rank) continue;
    std::vector<Example> chunk;
    for (size_t i = start; i < std::min(order.size(), start + per_batch); ++i) chunk.push_back(examples[order[i]]);
    Batch batch = collate(std::move(chunk));
    Tensor logits = model.classify(batch.ids.to(device), batch.padding_mask.to(device)).logits;
    shared.back() += cross_entropy(logits, batch.labels.to(device)).item() * double(batch.size);
    std::vector<int64_t> predicted = argmax(logits, 1).to_vector<int64_t>();
    for (size_t k = 0; k < predicted.size(); ++k) shared[order[start + k]] = double(predicted[k] + 1);
  }
  if (ranks > 1) shared = apps::sum_over_job(*job, std::move(shared));
  for (size_t i = 0; i < examples.size(); ++i) result.predictions.push_back(int64_t(shared[i]) - 1);
  for (const auto& e : examples) truth.push_back(e.label);
  result.loss = shared.back() / double(examples.size());
  result.report = apps::classification_report(truth, result.predictions, label_names);
  model.train(was_training);
  return result;
}

nlohmann::json read_config(const fs::path& run_dir) { return apps::read_run_config(run_dir, kAppName, kConfigVersion); }

LoadedRun load_run(const fs::path& run_dir) {
  LoadedRun run;
  run.config = read_config(run_dir);
  run.model_config = model_config_from_json(run.config.at("model"));
  run.label_names = run.config.at("label_names").get<std::vector<std::string>>();
  run.tokenizer = data::Tokenizer::load(run_dir / "tokenizer.json");
  HEED_CHECK(run.tokenizer->vocab_size() == run.model_config.vocab_size,
             "run directory {}: tokenizer.json has {} tokens but the model expects {}", run_dir.string(),
             run.tokenizer->vocab_size(), run.model_config.vocab_size);
  fs::path best = run_dir / "best.safetensors";
  std::error_code ec;
  HEED_CHECK(fs::exists(best, ec), "run directory {}: no best.safetensors (training has not finished an epoch)",
             run_dir.string());
  run.model = make_model(run.model_config);
  run.model->load(best.string());
  run.model->eval();
  return run;
}

}  // namespace heed::text
