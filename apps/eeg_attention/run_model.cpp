#include "apps/eeg_attention/run_model.h"

#include <fmt/format.h>

#include <algorithm>

#include "apps/common/run_dir.h"
#include "tensor/error.h"

namespace heed::eeg {

RunModels load_run(const std::filesystem::path& run_dir) {
  RunModels run;
  run.config = apps::read_run_config(run_dir, kAppName, kConfigVersion);
  HEED_CHECK(run.config.contains("final_models"),
             "{}: training has not finished (no final model yet); continue it with heed-eeg train --out {} --resume",
             run_dir.string(), run_dir.string());
  try {
    run.pipeline = pipeline_from_json(run.config.at("settings").at("pipeline"));
    run.class_names = run.config.at("class_names").get<std::vector<std::string>>();
    run.channel_names = run.config.at("channel_names").get<std::vector<std::string>>();
    auto load_member = [&](const nlohmann::json& entry, const nlohmann::json& model_config) {
      Member m{std::make_shared<EegModel>(eeg_model_config_from_json(model_config)),
               Normaliser::from_json(entry.at("normaliser"))};
      m.model->load((run_dir / entry.at("file").get<std::string>()).string());
      m.model->eval();
      return m;
    };
    const auto& finals = run.config.at("final_models");
    run.baseline = load_member(finals.at("bandpower"), finals.at("bandpower").at("model"));
    const auto& model = finals.at("eegnet-lstm");
    run.model.push_back(load_member(model, model.at("model")));
    for (const auto& fold : model.value("folds", nlohmann::json::array())) run.model.push_back(load_member(fold, model.at("model")));
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("{}: config.json is not a heed-eeg run's: {}", run_dir.string(), e.what());
  }
  // The recordings must give the channels the model was trained on, in that order.
  if (run.pipeline.channels.empty()) run.pipeline.channels = run.channel_names;
  return run;
}

WindowSet sliding_windows(const std::filesystem::path& file, const RunModels& run, double step) {
  HEED_CHECK(step > 0, "--step must be positive");
  const Recording r = load_recording(file, run.pipeline);
  EpochOptions options = run.pipeline.epochs;
  options.stride = step, options.offset = 0, options.span = 0, options.labels.clear();
  WindowSet w;
  w.channels = int64_t(r.channels.size()), w.samples = int64_t(std::llround(options.length * r.sample_rate));
  w.channel_names = r.channels, w.class_names = run.class_names, w.recordings = {file.string()};
  std::vector<Annotation> events;
  try {  // the recording's own labels, shown beside the predictions when it has them
    events = recording_events(file, r, run.config["settings"].value("labels", "auto"));
  } catch (const Error& e) {
    fmt::print(stderr, "note: no event labels shown: {}\n", e.what());
  }
  const Recording signal = model_signal(r, run.pipeline);
  for (const Window& win : epoch_windows({{0, r.duration_seconds(), ""}}, r.sample_rate, r.num_samples(), options)) {
    w.x.push_back(window_samples(signal, win));
    w.y.push_back(0), w.trial.push_back(int64_t(w.y.size()) - 1), w.recording.push_back(0);
    w.onset.push_back(double(win.start) / r.sample_rate);
    const double centre = w.onset.back() + options.length / 2;
    std::string label;
    for (const auto& e : events)
      if (e.onset <= centre && centre < e.onset + std::max(e.duration, 0.0)) label = e.label;
    w.annotation.push_back(label);
  }
  HEED_CHECK(!w.x.empty(), "{}: shorter than one {} s window", file.string(), options.length);
  return w;
}

}  // namespace heed::eeg
