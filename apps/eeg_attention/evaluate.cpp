// heed-eeg eval: the final model and the baseline of a run on other labelled recordings (for
// instance held-out subjects): report, confusion matrix and metrics as JSON.
#include <fmt/format.h>

#include <numeric>

#include "apps/common/files.h"
#include "apps/eeg_attention/run_model.h"
#include "tensor/error.h"
#include "tensor/threads.h"

namespace heed::eeg {

int eval_command(int argc, const char* const* argv) {
  apps::Args args("heed-eeg eval", "Evaluates a trained run's final model and baseline on labelled recordings.");
  args.positional("run", "run directory written by heed-eeg train");
  args.option("data", "DIR|FILES", "", "recordings to evaluate on", true);
  args.option("labels", "KIND", "", "as for train (default: the run's)");
  args.option("json", "FILE", "", "also write the metrics as JSON here");
  args.option("threads", "N", "0", "CPU threads (0: all)");
  if (!args.parse(argc, argv, 2)) return 0;
  if (int64_t threads = args.get_int("threads"); threads > 0) set_num_threads(int(threads));
  RunModels run = load_run(args.get("run"));
  const std::string labels = args.given("labels") ? args.get("labels") : run.config["settings"]["labels"].get<std::string>();
  const WindowSet w = load_windows(find_recordings(args.get("data")), labels, run.pipeline, run.class_names);
  std::vector<size_t> all(w.size());
  std::iota(all.begin(), all.end(), 0);
  nlohmann::json metrics = {{"data", args.get("data")}, {"windows", w.size()}, {"rejected_windows", w.rejected}};
  std::string text;
  for (const char* kind : {"eegnet-lstm", "bandpower"}) {
    Scores s;
    add_scores(s, w, all, kind == std::string("bandpower") ? predict({run.baseline}, w, all) : predict(run.model, w, all));
    const auto report = apps::classification_report(s.trial_true, s.trial_pred, w.class_names);
    metrics[kind] = {{"window_accuracy", s.window_accuracy()}, {"trial_accuracy", s.trial_accuracy()},
                     {"report", apps::report_to_json(report)}};
    text += fmt::format("{}{}: trial accuracy {:.4f}, window accuracy {:.4f} ({} windows)\n", kind,
                        kind == std::string("bandpower") ? "" : fmt::format(" (ensemble of {})", run.model.size()),
                        s.trial_accuracy(), s.window_accuracy(), w.size()) +
            apps::format_report(report) + "\n" + apps::format_confusion_matrix(report) + "\nwindow accuracy per recording:\n";
    const auto per_recording = recording_window_accuracy(w, all, s);
    for (const auto& [name, accuracy] : per_recording) text += fmt::format("  {:<24} {:.4f}\n", name, accuracy);
    metrics[kind]["recording_window_accuracy"] = per_recording;
    text += "\n";
  }
  if (args.given("json")) apps::write_file_atomic(args.get("json"), metrics.dump(2) + "\n");
  fmt::print("{}", text);
  return 0;
}

}  // namespace heed::eeg
