// heed-eeg predict and stream: a trained run's final model over a whole recording.
//   predict: a state per window as a table (and JSON Lines), and one window's signal with the
//            model's attention over time as PNG.
//   stream:  the recording replayed as if live (--speed 1 is real time): every --step seconds the
//            latest window's state and an attention score drawn as a terminal gauge, the loop of
//            a neurofeedback brain-computer interface.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include "apps/common/files.h"
#include "apps/eeg_attention/run_model.h"
#include "tensor/error.h"
#include "tensor/threads.h"

namespace heed::eeg {

namespace {

size_t score_class(const RunModels& run, const std::string& wanted) {
  const std::string name = !wanted.empty() ? wanted
                           : std::find(run.class_names.begin(), run.class_names.end(), "focused") != run.class_names.end()
                               ? "focused"
                               : run.class_names[0];
  const auto it = std::find(run.class_names.begin(), run.class_names.end(), name);
  HEED_CHECK(it != run.class_names.end(), "--score-class '{}' is not one of the run's classes ({})", name,
             fmt::join(run.class_names, ", "));
  return size_t(it - run.class_names.begin());
}

std::string gauge(double value, int width = 30) {
  const int filled = int(std::lround(std::clamp(value, 0.0, 1.0) * width));
  return "[" + std::string(size_t(filled), '#') + std::string(size_t(width - filled), '.') + "]";
}

}  // namespace

int predict_command(int argc, const char* const* argv) {
  apps::Args args("heed-eeg predict", "Classifies every window of a recording with a trained run's final model.");
  args.positional("run", "run directory written by heed-eeg train");
  args.option("data", "FILE", "", "one recording (.edf/.bdf/.gdf)", true);
  args.option("step", "SECONDS", "1", "seconds between windows");
  args.option("at", "SECONDS", "0", "window (its start) drawn with the model's attention");
  args.option("png", "FILE", "", "write that window with its attention over time as PNG here");
  args.option("jsonl", "FILE", "", "also write one JSON line per window here");
  if (!args.parse(argc, argv, 2)) return 0;
  RunModels run = load_run(args.get("run"));
  const WindowSet w = sliding_windows(args.get("data"), run, args.get_double("step"));
  std::vector<size_t> all(w.size());
  std::iota(all.begin(), all.end(), 0);
  const Predictions p = predict(run.model, w, all);
  std::string jsonl;
  fmt::print("{:>9}  {:<12} {:<12} {}\n", "start s", "state", "annotated", fmt::join(run.class_names, "  "));
  for (size_t i = 0; i < w.size(); ++i) {
    const auto& probs = p.probabilities[i];
    const size_t best = size_t(std::max_element(probs.begin(), probs.end()) - probs.begin());
    std::string columns;
    for (float v : probs) columns += fmt::format("{:.3f}  ", v);
    fmt::print("{:9.2f}  {:<12} {:<12} {}\n", w.onset[i], run.class_names[best],
               w.annotation[i].empty() ? "-" : w.annotation[i], columns);
    jsonl += nlohmann::json{{"start", w.onset[i]}, {"state", run.class_names[best]}, {"annotated", w.annotation[i]},
                            {"probabilities", probs},
                            {"attention", p.attention[i]}}
                 .dump() +
             "\n";
  }
  if (args.given("jsonl")) apps::write_file_atomic(args.get("jsonl"), jsonl);
  if (args.given("png")) {
    const double at = args.get_double("at");
    size_t pick = 0;
    for (size_t i = 0; i < w.size(); ++i)
      if (std::abs(w.onset[i] - at) < std::abs(w.onset[pick] - at)) pick = i;
    const auto& probs = p.probabilities[pick];
    const size_t best = size_t(std::max_element(probs.begin(), probs.end()) - probs.begin());
    write_attention_png(args.get("png"), w.x[pick], w.channels, w.channel_names, run.pipeline.sample_rate,
                        p.attention[pick],
                        fmt::format("{} at {:.1f} s: {} (p = {:.2f})", std::filesystem::path(args.get("data")).filename().string(),
                                    w.onset[pick], run.class_names[best], probs[best]));
    fmt::print(stderr, "wrote {}\n", args.get("png"));
  }
  return 0;
}

int stream_command(int argc, const char* const* argv) {
  apps::Args args("heed-eeg stream",
                  "Replays a recording as if it were live: every --step seconds, the state of the latest window and an "
                  "attention score (the probability of --score-class) as a gauge.");
  args.positional("run", "run directory written by heed-eeg train");
  args.option("data", "FILE", "", "one recording (.edf/.bdf/.gdf) to replay", true);
  args.option("step", "SECONDS", "1", "seconds between updates");
  args.option("speed", "X", "1", "replay speed: 1 is real time, 10 ten times faster, 0 as fast as possible");
  args.option("score-class", "NAME", "", "class whose probability is the score (default: focused, else the first class)");
  if (!args.parse(argc, argv, 2)) return 0;
  RunModels run = load_run(args.get("run"));
  const double speed = args.get_double("speed");
  HEED_CHECK(speed >= 0, "--speed must be >= 0");
  const size_t scored = score_class(run, args.get("score-class"));
  const WindowSet w = sliding_windows(args.get("data"), run, args.get_double("step"));
  const double window_seconds = run.pipeline.epochs.length;
  const auto start = std::chrono::steady_clock::now();
  fmt::print("replaying {} ({} updates, {} s windows); score = p({})\n", args.get("data"), w.size(), window_seconds,
             run.class_names[scored]);
  for (size_t i = 0; i < w.size(); ++i) {
    const double now = w.onset[i] + window_seconds;  // the window ends "now"
    if (speed > 0)
      std::this_thread::sleep_until(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                std::chrono::duration<double>(now / speed)));
    const Predictions p = predict(run.model, w, {i});
    const auto& probs = p.probabilities[0];
    const size_t best = size_t(std::max_element(probs.begin(), probs.end()) - probs.begin());
    const auto& a = p.attention[0];
    const size_t peak = size_t(std::max_element(a.begin(), a.end()) - a.begin());
    const double peak_ago = window_seconds * (1 - (double(peak) + 0.5) / double(a.size()));
    fmt::print("t={:7.1f} s  {:<10} {} {:.2f}  (model looked hardest {:.1f} s ago){}\n", now, run.class_names[best],
               gauge(probs[scored]), probs[scored], peak_ago,
               w.annotation[i].empty() ? "" : "  annotated: " + w.annotation[i]);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace heed::eeg
