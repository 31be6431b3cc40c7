// heed-eeg: the shared parts of its commands (see docs/eeg.md): finding recordings and their
// labels, the preprocessing pipeline, cutting windows, cross-validation folds with no leakage,
// training one model, evaluating, and the pictures.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/args.h"
#include "apps/common/metrics.h"
#include "apps/eeg_attention/eeg_model.h"
#include "datasets/eeg_io.h"
#include "datasets/eeg_preprocess.h"

namespace heed::eeg {

constexpr const char* kAppName = "heed-eeg";
constexpr int kConfigVersion = 1;

// Preprocessing and epoching, as saved in a run's config.json.
struct Pipeline {
  std::vector<std::string> channels;  // empty: every channel of the first recording
  std::string reference = "none";     // none | average
  double notch_hz = 50;               // 0: no notch
  double low_hz = 1, high_hz = 40;    // band-pass
  double sample_rate = 128;           // after resampling
  EpochOptions epochs;                // window length, stride, offset, span, classes (labels)
  double reject_uv = 0;               // peak-to-peak rejection threshold in µV; 0: none
  double standardize_s = 180;         // time constant of moving standardisation; 0: none
  std::string standardize_by = "bands";  // bands (per channel and EEG band) | signal (per channel)
};
void add_pipeline_options(apps::Args& args);
Pipeline pipeline_from_args(const apps::Args& args);
nlohmann::json to_json(const Pipeline& p);
Pipeline pipeline_from_json(const nlohmann::json& j);

// The recordings: a file, a comma-separated list of files, or a folder (searched recursively
// for .edf/.bdf/.gdf), sorted by path; the same stem twice in one folder is refused.
std::vector<std::filesystem::path> find_recordings(const std::string& data);
// Reads (GDF through gdf.h) and preprocesses one recording (channels in µV): selection, reference, notch, band-pass,
// resampling. Units are converted to µV.
Recording load_recording(const std::filesystem::path& file, const Pipeline& pipeline);
// What the model sees of a loaded recording: moving-standardised when the pipeline asks for it
// (after peak-to-peak rejection, which is in µV), per channel or per channel and EEG band (delta
// to gamma, clipped to the band-pass), else the recording itself.
Recording model_signal(const Recording& recording, const Pipeline& pipeline);
// The labelled events of a recording: "annotations" (its own), "events.tsv" (<stem>_events.tsv
// or events.tsv beside it), "auto" (events.tsv when there is one, else annotations), "folder"
// (the name of its parent folder, over the whole recording) or the path of one .tsv file.
std::vector<Annotation> recording_events(const std::filesystem::path& file, const Recording& recording,
                                         const std::string& labels);

// Windows of every recording, z-scoring not yet applied.
struct WindowSet {
  int64_t channels = 0, samples = 0;
  std::vector<std::string> channel_names, class_names, recordings;
  std::vector<std::vector<float>> x;  // [window] channel-major, µV
  std::vector<int64_t> y, trial, recording;
  std::vector<double> onset;  // seconds into its recording
  std::vector<std::string> annotation;  // sliding windows only: the event label at the window's centre, or ""
  int64_t rejected = 0;
  size_t size() const { return x.size(); }
};
// class_names fixes the classes (and their order); empty: the sorted labels found.
WindowSet load_windows(const std::vector<std::filesystem::path>& files, const std::string& labels,
                       const Pipeline& pipeline, std::vector<std::string> class_names = {});

// Folds of cross-validation: groups (trials, or recordings = subjects) dealt to folds, trials
// stratified by class; a window's fold is its group's. Every group is tested exactly once.
std::vector<int64_t> assign_folds(const WindowSet& windows, bool by_recording, int64_t folds, uint64_t seed);

// Band-power features of a window: log10 power of delta..gamma per channel (Welch, 1 s segments).
std::vector<float> band_power_features(const std::vector<float>& window, int64_t channels, double sample_rate);

struct TrainSettings {
  int64_t epochs = 60, batch = 32, patience = 12, seed = 0;
  double lr = 3e-3, weight_decay = 0.1, warmup_fraction = 0.05;
  double augment_gain = 0.3;  // training windows scaled by exp(U(-g, g)) (eegnet-lstm); 0: none
  EegModelConfig model;
  Device device = Device::cpu();  // where it trains; the trained model is returned on the CPU
};

// Normalisation of a model's inputs, from its training windows only.
struct Normaliser {
  ChannelStats stats;  // per channel (eegnet-lstm) or per feature (bandpower)
  nlohmann::json to_json() const;
  static Normaliser from_json(const nlohmann::json& j);
};

struct TrainedModel {
  std::shared_ptr<EegModel> model;
  Normaliser normaliser;
  int64_t best_epoch = 0, epochs_run = 0;
  std::vector<double> train_loss, validation_loss, validation_accuracy;
};

// Trains on the windows `train`, early-stopping on `validation` (window accuracy).
TrainedModel train_model(const WindowSet& windows, const std::vector<size_t>& train, const std::vector<size_t>& validation,
                         const TrainSettings& settings, const std::string& progress_label);

struct Predictions {
  std::vector<std::vector<float>> probabilities;  // [window][class]
  std::vector<std::vector<float>> attention;      // [window][step]; empty for bandpower
};
// The model's class probabilities (and attention) for the given windows.
Predictions predict(EegModel& model, const Normaliser& normaliser, const WindowSet& windows,
                    const std::vector<size_t>& indices);

// A trained model with its input statistics; an ensemble averages its members' probabilities
// (attention comes from the first member).
struct Member {
  std::shared_ptr<EegModel> model;
  Normaliser normaliser;
};
Predictions predict(const std::vector<Member>& members, const WindowSet& windows, const std::vector<size_t>& indices);

// Accuracy per window and per trial (mean probability over a trial's windows).
struct Scores {
  std::vector<int64_t> window_true, window_pred, trial_true, trial_pred;
  double window_accuracy() const;
  double trial_accuracy() const;
};
void add_scores(Scores& scores, const WindowSet& windows, const std::vector<size_t>& indices, const Predictions& p);
// Window accuracy per recording (its file name) over `indices`, whose windows are the first ones
// scored in `scores`, in that order.
std::map<std::string, double> recording_window_accuracy(const WindowSet& windows, const std::vector<size_t>& indices,
                                                        const Scores& scores);

// PNG: a window's channels with the model's attention over time drawn beneath them.
void write_attention_png(const std::filesystem::path& file, const std::vector<float>& window, int64_t channels,
                         const std::vector<std::string>& channel_names, double sample_rate,
                         const std::vector<float>& attention, const std::string& title);
// PNG: the mean power spectrum (log10 Welch PSD, 1-45 Hz) of each class, averaged over channels.
void write_spectrum_png(const std::filesystem::path& file, const WindowSet& windows, double sample_rate);

}  // namespace heed::eeg
