#include "apps/eeg_attention/run_model.h"

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
    for (const char* kind : {"eegnet-lstm", "bandpower"}) {
      const auto& entry = run.config.at("final_models").at(kind);
      auto model = std::make_shared<EegModel>(eeg_model_config_from_json(entry.at("model")));
      model->load((run_dir / entry.at("file").get<std::string>()).string());
      model->eval();
      (std::string(kind) == "bandpower" ? run.baseline : run.model) = model;
      (std::string(kind) == "bandpower" ? run.baseline_normaliser : run.model_normaliser) =
          Normaliser::from_json(entry.at("normaliser"));
    }
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
  for (const Window& win : epoch_windows({{0, r.duration_seconds(), ""}}, r.sample_rate, r.num_samples(), options)) {
    w.x.push_back(window_samples(r, win));
    w.y.push_back(0), w.trial.push_back(int64_t(w.y.size()) - 1), w.recording.push_back(0);
    w.onset.push_back(double(win.start) / r.sample_rate);
  }
  HEED_CHECK(!w.x.empty(), "{}: shorter than one {} s window", file.string(), options.length);
  return w;
}

}  // namespace heed::eeg
