// heed-eeg train: cross-validation with no leakage between folds (by trial, or by recording =
// subject), the model and the band-power baseline trained on each fold's training groups and
// tested on its held-out ones; then a final model on all the data for eval, predict and stream.
// Finished folds are kept in folds.json, so an interrupted run continues with --resume.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "apps/common/chart.h"
#include "apps/common/device.h"
#include "apps/common/distributed.h"
#include "apps/common/files.h"
#include "apps/common/run_dir.h"
#include "apps/eeg_attention/eeg_app.h"
#include "datasets/dataset.h"
#include "tensor/error.h"

namespace heed::eeg {

namespace {

void add_options(apps::Args& args) {
  args.option("data", "DIR|FILES", "",
              "recordings: a folder (searched for .edf/.bdf/.gdf), a file or a comma-separated list (required unless --resume)");
  args.option("labels", "KIND", "auto",
              "auto (events.tsv beside a file if there is one, else its annotations), annotations, events.tsv, "
              "folder (DIR/<class>/...) or a .tsv path");
  args.option("out", "RUN_DIR", "", "run directory to create (or continue with --resume)", true);
  args.option("folds", "N", "5", "cross-validation folds");
  args.option("cv", "BY", "auto", "fold by trial, by subject (recording), or auto: subject when there are >= folds recordings");
  args.option("epochs", "N", "60", "maximum epochs per model");
  args.option("batch", "N", "32", "batch size");
  args.option("lr", "X", "3e-3", "peak learning rate (AdamW, warm-up then cosine decay)");
  args.option("weight-decay", "X", "0.1", "AdamW weight decay");
  args.option("patience", "N", "12", "epochs without a lower validation loss before stopping");
  args.option("filters", "N", "4", "temporal filters of the convolution (F1)");
  args.option("hidden", "N", "16", "LSTM and attention size");
  args.option("kernel", "SECONDS", "0.25", "length of the temporal filters");
  args.option("dropout", "X", "0.5", "dropout");
  args.option("augment-gain", "G", "0.3", "scale each training window by exp(U(-G, G)), for gains that differ between people (0: off)");
  args.option("seed", "N", "0", "seed of folds, initialisation and shuffling");
  args.option("threads", "N", "0", "CPU threads (0: all)");
  args.option("device", "DEV", "cpu", apps::kDeviceHelp);
  args.option("stop-after", "N", "0", "stop after N folds in this session, as if interrupted (0: never)");
  args.flag("resume", "continue the run in --out: finished folds are kept");
  add_pipeline_options(args);
}

// Validation groups: about one in eight of the training groups, at least one per class present.
std::vector<size_t> split_validation(const WindowSet& w, const std::vector<size_t>& pool, bool by_recording,
                                     uint64_t seed, std::vector<size_t>& train) {
  std::map<int64_t, std::vector<int64_t>> groups_of_class;
  std::map<int64_t, int64_t> seen;
  for (size_t i : pool) {
    const int64_t g = by_recording ? w.recording[i] : w.trial[i];
    if (seen.emplace(g, w.y[i]).second) groups_of_class[by_recording ? 0 : w.y[i]].push_back(g);
  }
  std::set<int64_t> validation_groups;
  for (auto& [label, groups] : groups_of_class) {
    data::shuffle_in_place(groups, seed, 991 + uint64_t(label));
    const size_t take = std::max<size_t>(1, (groups.size() + 7) / 8);
    HEED_CHECK(groups.size() > take, "too few {} to hold some out for validation", by_recording ? "recordings" : "trials");
    validation_groups.insert(groups.begin(), groups.begin() + long(take));
  }
  std::vector<size_t> validation;
  train.clear();
  for (size_t i : pool)
    (validation_groups.count(by_recording ? w.recording[i] : w.trial[i]) ? validation : train).push_back(i);
  return validation;
}

TrainSettings train_settings(const nlohmann::json& s, const WindowSet& w, const std::string& kind) {
  TrainSettings t;
  t.epochs = s["epochs"], t.batch = s["batch"], t.patience = s["patience"], t.seed = s["seed"];
  t.lr = s["lr"], t.weight_decay = s["weight_decay"], t.augment_gain = s["augment_gain"];
  t.model.kind = kind, t.model.channels = w.channels, t.model.samples = w.samples;
  t.model.classes = int64_t(w.class_names.size()), t.model.sample_rate = s["pipeline"]["sample_rate"];
  t.model.temporal_filters = s["filters"], t.model.hidden = s["hidden"], t.model.dropout = s["dropout"];
  t.model.kernel_seconds = s["kernel"];
  return t;
}

// Accuracy drop on `indices` when one channel is replaced by its training mean, per channel.
std::vector<double> channel_importance(EegModel& model, const Normaliser& n, const WindowSet& w,
                                       const std::vector<size_t>& indices, double base_accuracy) {
  WindowSet masked;  // the windows of `indices` only, each channel blanked in turn and restored
  masked.channels = w.channels, masked.samples = w.samples, masked.class_names = w.class_names;
  for (size_t i : indices) {
    masked.x.push_back(w.x[i]), masked.y.push_back(w.y[i]), masked.trial.push_back(w.trial[i]);
    masked.recording.push_back(w.recording[i]), masked.onset.push_back(w.onset[i]);
  }
  std::vector<size_t> all(indices.size());
  std::iota(all.begin(), all.end(), 0);
  std::vector<double> drop;
  for (int64_t c = 0; c < w.channels; ++c) {
    for (auto& x : masked.x) std::fill(x.begin() + c * w.samples, x.begin() + (c + 1) * w.samples, float(n.stats.mean[size_t(c)]));
    Scores s;
    add_scores(s, masked, all, predict(model, n, masked, all));
    drop.push_back(base_accuracy - s.window_accuracy());
    for (size_t k = 0; k < all.size(); ++k)
      std::copy(w.x[indices[k]].begin() + c * w.samples, w.x[indices[k]].begin() + (c + 1) * w.samples,
                masked.x[k].begin() + c * w.samples);
  }
  return drop;
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

}  // namespace

int train_command(int argc, const char* const* argv) {
  apps::Args args("heed-eeg train",
                  "Cross-validates the EEG classifier (EEGNet-like CNN + LSTM + attention) and a band-power baseline, "
                  "then trains the final model; writes a run directory.");
  add_options(args);
  if (!args.parse(argc, argv, 2)) return 0;
  // Under mpirun the folds are spread over the processes, one fold each at a time; rank 0
  // gathers their results and trains the final models.
  auto job = apps::join_training_job(args.get_int("threads"));
  const Device device = apps::select_device(args.get("device"), *job);
  const bool writer = job->rank() == 0;
  const std::filesystem::path out = args.get("out");
  const bool resume = args.is_set("resume");

  nlohmann::json config, settings;
  if (resume) {
    config = apps::read_run_config(out, kAppName, kConfigVersion);
    settings = config.at("settings");
  } else {
    apps::require_new_run_dir(out, "train");
    job->barrier();  // every rank has checked the directory before rank 0 creates it
    HEED_CHECK(args.given("data"), "train: missing --data DIR|FILES (see --help)");
    settings = {{"data", args.get("data")},
                {"labels", args.get("labels")},
                {"folds", args.get_int("folds")},
                {"cv", args.get_choice("cv", {"auto", "trial", "subject"})},
                {"epochs", args.get_int("epochs")},
                {"batch", args.get_int("batch")},
                {"lr", args.get_double("lr")},
                {"weight_decay", args.get_double("weight-decay")},
                {"patience", args.get_int("patience")},
                {"filters", args.get_int("filters")},
                {"hidden", args.get_int("hidden")},
                {"kernel", args.get_double("kernel")},
                {"dropout", args.get_double("dropout")},
                {"augment_gain", args.get_double("augment-gain")},
                {"seed", args.get_int("seed")},
                {"pipeline", to_json(pipeline_from_args(args))}};
    HEED_CHECK(settings["epochs"] > 0 && settings["batch"] >= 2 && settings["lr"] > 0 && settings["patience"] > 0 &&
                   settings["seed"] >= 0 && settings["weight_decay"] >= 0 && settings["augment_gain"] >= 0,
               "train: --epochs, --lr and --patience must be positive, --batch >= 2, --seed, --weight-decay and "
               "--augment-gain >= 0");
  }
  const Pipeline pipeline = pipeline_from_json(settings["pipeline"]);
  const auto files = find_recordings(settings["data"]);
  WindowSet w = load_windows(files, settings["labels"], pipeline, pipeline.epochs.labels);
  const int64_t folds = settings["folds"];
  const std::string cv = settings["cv"];
  const bool by_recording = cv == "subject" || (cv == "auto" && int64_t(files.size()) >= folds);
  const std::vector<int64_t> fold_of = assign_folds(w, by_recording, folds, settings["seed"]);
  std::set<int64_t> trials(w.trial.begin(), w.trial.end());
  fmt::print(stderr, "{}: {} recording(s), {} channels ({}), classes {}; {} windows of {} s from {} trials ({} rejected); "
             "{}-fold cross-validation by {}\n",
             kAppName, files.size(), w.channels, fmt::join(w.channel_names, " "), fmt::join(w.class_names, "/"), w.size(),
             pipeline.epochs.length, trials.size(), w.rejected, folds, by_recording ? "subject (recording)" : "trial");

  std::error_code ec;
  if (!resume && writer) {
    std::filesystem::create_directories(out, ec);
    HEED_CHECK(!ec, "train: cannot create {}: {}", out.string(), ec.message());
    config = {{"app", kAppName}, {"format_version", kConfigVersion}, {"settings", settings},
              {"class_names", w.class_names}, {"channel_names", w.channel_names}};
    apps::write_file_atomic(out / "config.json", config.dump(2) + "\n");
  }
  nlohmann::json fold_results = nlohmann::json::array();
  if (resume && std::filesystem::exists(out / "folds.json", ec))
    fold_results = nlohmann::json::parse(apps::read_file(out / "folds.json"));

  const auto started = std::chrono::steady_clock::now();
  const int64_t stop_after = args.get_int("stop-after");
  const int64_t first_fold = int64_t(fold_results.size());
  job->barrier();  // rank 0 has created the run directory
  auto run_fold = [&](int64_t k) {
    std::vector<size_t> test, pool, train;
    for (size_t i = 0; i < w.size(); ++i) (fold_of[i] == k ? test : pool).push_back(i);
    const std::vector<size_t> validation = split_validation(w, pool, by_recording, uint64_t(settings["seed"]) + uint64_t(k), train);
    nlohmann::json result = {{"fold", k + 1}, {"train_windows", train.size()}, {"validation_windows", validation.size()},
                             {"test_windows", test.size()}};
    for (const std::string kind : {"eegnet-lstm", "bandpower"}) {
      TrainSettings ts = train_settings(settings, w, kind);
      ts.device = device;
      ts.seed += k;
      TrainedModel m = train_model(w, train, validation, ts, fmt::format("fold {}/{} {}", k + 1, folds, kind));
      Scores s;
      const Predictions p = predict(*m.model, m.normaliser, w, test);
      add_scores(s, w, test, p);
      nlohmann::json r = {{"window_accuracy", s.window_accuracy()}, {"trial_accuracy", s.trial_accuracy()},
                          {"best_epoch", m.best_epoch}, {"epochs_run", m.epochs_run},
                          {"trial_true", s.trial_true}, {"trial_pred", s.trial_pred}};
      r["recording_window_accuracy"] = recording_window_accuracy(w, test, s);
      if (kind == "eegnet-lstm") {
        const std::string file = fmt::format("fold-{}.safetensors", k + 1);
        m.model->save((out / file).string());
        r["file"] = file, r["normaliser"] = m.normaliser.to_json();
        r["channel_importance"] = channel_importance(*m.model, m.normaliser, w, test, s.window_accuracy());
        if (k == 0) {  // the most confident right answer of the first fold, with its attention
          size_t pick = 0;
          float best = -1;
          for (size_t j = 0; j < test.size(); ++j) {
            const float pr = p.probabilities[j][size_t(w.y[test[j]])];
            if (pr > best) best = pr, pick = j;
          }
          const size_t i = test[pick];
          write_attention_png(out / "attention.png", w.x[i], w.channels, w.channel_names, pipeline.sample_rate,
                              p.attention[pick],
                              fmt::format("{} at {:.1f} s, class {} (p = {:.2f}); fold 1 test window", 
                                          std::filesystem::path(w.recordings[size_t(w.recording[i])]).filename().string(),
                                          w.onset[i], w.class_names[size_t(w.y[i])], best));
        }
      }
      result[kind] = r;
      fmt::print(stderr, "fold {}/{} {}: window accuracy {:.4f}, trial accuracy {:.4f} (best epoch {})\n", k + 1, folds,
                 kind, s.window_accuracy(), s.trial_accuracy(), m.best_epoch);
    }
    return result;
  };
  // Rounds of one fold per process; every process learns every result, in fold order.
  for (int64_t round = first_fold; round < folds; round += job->size()) {
    if (stop_after > 0 && round - first_fold >= stop_after) {
      fmt::print(stderr, "stopping after {} fold(s) as asked; continue with --resume\n", round - first_fold);
      return 0;
    }
    const int64_t mine = round + job->rank();
    const std::string result = mine < folds ? run_fold(mine).dump() : "";
    for (int r = 0; r < job->size() && round + r < folds; ++r) {
      std::string bytes = result;
      job->broadcast_bytes(bytes, r);
      fold_results.push_back(nlohmann::json::parse(bytes));
    }
    if (writer) apps::write_file_atomic(out / "folds.json", fold_results.dump(1) + "\n");
  }
  if (!writer) return 0;

  // The final model: every group, one in eight held out for early stopping.
  std::vector<size_t> all(w.size()), train;
  std::iota(all.begin(), all.end(), 0);
  const std::vector<size_t> validation = split_validation(w, all, by_recording, settings["seed"], train);
  nlohmann::json final_models;
  for (const std::string kind : {"eegnet-lstm", "bandpower"}) {
    TrainSettings ts = train_settings(settings, w, kind);
    ts.device = device;
    TrainedModel m = train_model(w, train, validation, ts, "final " + kind);
    const std::string file = kind == "bandpower" ? "baseline.safetensors" : "model.safetensors";
    m.model->save((out / file).string());
    final_models[kind] = {{"file", file}, {"model", to_json(m.model->config)}, {"normaliser", m.normaliser.to_json()},
                          {"best_epoch", m.best_epoch}, {"epochs_run", m.epochs_run}};
    if (kind == "eegnet-lstm")  // eval, predict and stream average this model with the folds' models
      for (const auto& f : fold_results)
        final_models[kind]["folds"].push_back({{"file", f[kind]["file"]}, {"normaliser", f[kind]["normaliser"]}});
    if (kind == "eegnet-lstm") {
      std::vector<double> epochs;
      nlohmann::json history = nlohmann::json::array();
      for (size_t e = 0; e < m.train_loss.size(); ++e) {
        epochs.push_back(double(e + 1));
        history.push_back({{"epoch", e + 1}, {"train_loss", m.train_loss[e]}, {"validation_loss", m.validation_loss[e]},
                           {"validation_accuracy", m.validation_accuracy[e]}});
      }
      apps::write_file_atomic(out / "history.json", history.dump(2) + "\n");
      apps::write_charts_png(out / "curves.png",
                             {{"loss (final model)", "epoch", "cross-entropy",
                               {{"train", epochs, m.train_loss}, {"validation", epochs, m.validation_loss}}},
                              {"validation accuracy (final model)", "epoch", "window accuracy",
                               {{"validation", epochs, m.validation_accuracy}}}});
    }
  }
  config["final_models"] = final_models;
  apps::write_file_atomic(out / "config.json", config.dump(2) + "\n");
  write_spectrum_png(out / "spectrum.png", w, pipeline.sample_rate);

  // The report over the folds.
  nlohmann::json metrics = {{"folds", fold_results}, {"cv", by_recording ? "subject" : "trial"},
                            {"recordings", files.size()}, {"windows", w.size()}, {"trials", trials.size()},
                            {"rejected_windows", w.rejected}, {"classes", w.class_names}, {"channels", w.channel_names}};
  std::string text = fmt::format("heed-eeg: {}-fold cross-validation by {} on {} recording(s), {} trials, {} windows\n\n",
                                 folds, by_recording ? "subject" : "trial", files.size(), trials.size(), w.size());
  for (const std::string kind : {"eegnet-lstm", "bandpower"}) {
    std::vector<double> window_acc, trial_acc;
    std::vector<int64_t> t, p;
    for (const auto& f : fold_results) {
      window_acc.push_back(f[kind]["window_accuracy"]), trial_acc.push_back(f[kind]["trial_accuracy"]);
      for (int64_t v : f[kind]["trial_true"]) t.push_back(v);
      for (int64_t v : f[kind]["trial_pred"]) p.push_back(v);
    }
    const auto report = apps::classification_report(t, p, w.class_names);
    metrics[kind] = {{"trial_accuracy_mean", mean_of(trial_acc)}, {"trial_accuracy_std", std_of(trial_acc)},
                     {"window_accuracy_mean", mean_of(window_acc)}, {"window_accuracy_std", std_of(window_acc)},
                     {"report", apps::report_to_json(report)}};
    text += fmt::format("{} ({}): trial accuracy {:.4f} +- {:.4f}, window accuracy {:.4f} +- {:.4f} over {} folds\n",
                        kind, kind == "bandpower" ? "baseline: log band powers + MLP" : "CNN + LSTM + attention",
                        mean_of(trial_acc), std_of(trial_acc), mean_of(window_acc), std_of(window_acc), folds);
    text += "per trial, all folds' test trials:\n" + apps::format_report(report) + "\n" +
            apps::format_confusion_matrix(report) + "\n";
  }
  if (by_recording) {  // every recording is tested once, in its fold
    text += "window accuracy per held-out recording (eegnet-lstm / bandpower):\n";
    for (const auto& f : fold_results)
      for (const auto& [name, accuracy] : f["eegnet-lstm"]["recording_window_accuracy"].items())
        text += fmt::format("  {:<24} fold {}  {:.4f} / {:.4f}\n", name, f["fold"].get<int64_t>(), accuracy.get<double>(),
                            f["bandpower"]["recording_window_accuracy"][name].get<double>());
    text += "\n";
  }
  std::vector<double> importance(size_t(w.channels), 0.0), channel_x;
  for (const auto& f : fold_results)
    for (size_t c = 0; c < importance.size(); ++c) importance[c] += f["eegnet-lstm"]["channel_importance"][c].get<double>() / double(folds);
  text += "channel importance (window accuracy lost when the channel is blanked, mean over folds):\n";
  for (size_t c = 0; c < importance.size(); ++c) {
    text += fmt::format("  {:>8} {:+.4f}\n", w.channel_names[c], importance[c]);
    channel_x.push_back(double(c + 1));
  }
  metrics["channel_importance"] = importance;
  apps::write_charts_png(out / "channels.png",
                         {{"channel importance", fmt::format("channel: {}", fmt::join(w.channel_names, " ")),
                           "accuracy lost when blanked", {{"eegnet-lstm", channel_x, importance}}}},
                         std::max(480, int(w.channels) * 40), 380);
  metrics["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  apps::write_file_atomic(out / "metrics.json", metrics.dump(2) + "\n");
  apps::write_file_atomic(out / "report.txt", text);
  fmt::print("{}\nrun directory {}\n", text, out.string());
  return 0;
}

}  // namespace heed::eeg
