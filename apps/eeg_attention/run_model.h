// A trained heed-eeg run loaded for eval, predict and stream: its pipeline, classes, the final
// model (an ensemble: the model trained on all the data and the folds' models) and the baseline.
#pragma once
#include <filesystem>
#include <memory>

#include "apps/eeg_attention/eeg_app.h"

namespace heed::eeg {

struct RunModels {
  nlohmann::json config;
  Pipeline pipeline;
  std::vector<std::string> class_names, channel_names;
  // The model: the one trained on all the data first, then each cross-validation fold's model.
  std::vector<Member> model;
  Member baseline;
};
// Throws heed::Error naming the run when it is not a finished heed-eeg run.
RunModels load_run(const std::filesystem::path& run_dir);

// Sliding windows over a whole recording (every `step` seconds), labelled "", for predict/stream.
WindowSet sliding_windows(const std::filesystem::path& file, const RunModels& run, double step);

int eval_command(int argc, const char* const* argv);
int predict_command(int argc, const char* const* argv);
int stream_command(int argc, const char* const* argv);
int train_command(int argc, const char* const* argv);

}  // namespace heed::eeg
