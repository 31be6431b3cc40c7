// heed-text eval: the best model of a run on a corpus — the run's test part when the corpus is
// the one it was trained on, else every text of the given corpus.
#include <fmt/format.h>

#include <map>

#include "apps/common/args.h"
#include "apps/common/files.h"
#include "apps/text_classifier/text_app.h"
#include "tensor/error.h"
#include "tensor/threads.h"

namespace heed::text {

int eval_command(int argc, const char* const* argv) {
  apps::Args args("heed-text eval", "Evaluates a trained run: classification report, confusion matrix, JSON.");
  args.positional("RUN_DIR", "a run directory written by heed-text train");
  args.option("data", "DIR|FILE", "", "corpus to evaluate on", true);
  args.option("json", "FILE", "", "where to write the metrics (default RUN_DIR/eval.json)");
  args.option("email", "MODE", "", "auto, on or off (default: as in training)");
  args.option("batch", "N", "64", "batch size");
  args.option("threads", "N", "0", "CPU threads (0: all)");
  if (!args.parse(argc, argv, 2)) return 0;
  if (int64_t threads = args.get_int("threads"); threads > 0) set_num_threads(int(threads));
  const fs::path run_dir = args.get("RUN_DIR");
  const int64_t batch = args.get_int("batch");
  HEED_CHECK(batch > 0, "eval: --batch must be positive, got {}", batch);
  LoadedRun run = load_run(run_dir);
  std::string email = args.given("email") ? args.get_choice("email", {"auto", "on", "off"})
                                          : std::string(run.config.at("email").get<bool>() ? "on" : "off");
  const fs::path data_path = fs::absolute(args.get("data"));
  data::TextCorpus corpus = load_corpus(data_path, email, nullptr);

  // The class of each text as an index into the run's labels.
  std::map<std::string, int64_t> run_label;
  for (size_t i = 0; i < run.label_names.size(); ++i) run_label[run.label_names[i]] = int64_t(i);
  std::vector<int64_t> labels;
  for (int64_t l : corpus.labels) {
    auto it = run_label.find(corpus.label_names[l]);
    HEED_CHECK(it != run_label.end(), "eval: class '{}' of {} is not one the model knows ({})", corpus.label_names[l],
               data_path.string(), fmt::join(run.label_names, ", "));
    labels.push_back(it->second);
  }

  std::vector<int64_t> chosen;
  const bool same_corpus = data_path.string() == run.config.at("data").get<std::string>() &&
                           corpus.label_names == run.label_names;
  std::string part = "the whole corpus";
  if (same_corpus) {
    const auto& settings = run.config.at("settings");
    std::vector<int64_t> subset = stratified_subset(corpus.labels, settings.at("limit"), settings.at("seed"));
    data::Split split = data::load_split(run_dir / "split.json");
    data::check_split(split, subset.size());
    for (int64_t i : split.test) chosen.push_back(subset[i]);
    part = "the run's test part";
  } else {
    for (size_t i = 0; i < labels.size(); ++i) chosen.push_back(int64_t(i));
  }
  std::vector<Example> examples;
  for (int64_t i : chosen)
    examples.push_back({encode_text(*run.tokenizer, corpus.texts[i], run.model_config.max_length).ids, labels[i]});
  Evaluation result = evaluate(*run.model, examples, run.label_names, batch);

  std::string report = apps::format_report(result.report) + "\nconfusion matrix (rows: true, columns: predicted)\n" +
                       apps::format_confusion_matrix(result.report);
  fmt::print("{} on {} ({} texts):\n\n{}", data_path.string(), part, examples.size(), report);
  nlohmann::json metrics = {{"data", data_path.string()}, {"part", same_corpus ? "test" : "all"},
                            {"loss", result.loss}, {"report", apps::report_to_json(result.report)}};
  fs::path json = args.given("json") ? fs::path(args.get("json")) : run_dir / "eval.json";
  apps::write_file_atomic(json, metrics.dump(2) + "\n");
  fmt::print("\nmetrics written to {}\n", json.string());
  return 0;
}

}  // namespace heed::text
