#pragma once
// EEG preprocessing on whole recordings (datasets/eeg_io.h), each step built on the one-channel
// functions of datasets/signal.h: channel selection, average re-reference, notch, zero-phase
// band-pass, resampling, epoching around events or in sliding windows, peak-to-peak rejection,
// per-channel normalisation statistics. Bad arguments throw heed::Error saying what is wrong.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "datasets/eeg_io.h"

namespace heed::eeg {

// The channels with these labels (case-insensitive), in this order.
Recording select_channels(const Recording& recording, const std::vector<std::string>& labels);
// Subtracts the mean over channels from every channel, sample by sample (needs >= 2 channels).
void average_reference(Recording& recording);
// Line-noise notch (scipy.signal.iirnotch(line_hz, q) applied with filtfilt) on every channel.
void notch_filter(Recording& recording, double line_hz, double q = 30);
// Zero-phase Butterworth band-pass (sosfiltfilt of butter(order, [low, high])) on every channel.
void bandpass_filter(Recording& recording, double low_hz, double high_hz, int order = 4);
// Resamples every channel to `rate` (resample_poly with the ratio of the rates; both rates must
// be whole numbers of Hz). Annotations are unchanged: they are in seconds.
void resample(Recording& recording, double rate);

// Factor from a channel's unit to microvolts: uV/µV 1, mV 1e3, V 1e6, nV 1e-3; 1 for anything
// else (the unit is then taken to be µV already).
double microvolts_per_unit(const std::string& unit);

// Exponential moving standardisation of every channel (braindecode's, causal): with
// a = 1 - exp(-1 / (time_constant · rate)), the running mean m += a·(x - m) and variance
// v += a·((x - m)² - v), and x becomes (x - m) / max(√v, eps). m and v start from the first
// time_constant seconds (or the whole recording when shorter). It removes a person's overall
// level and gain while keeping changes slower than a window but faster than time_constant.
void moving_standardize(Recording& recording, double time_constant_s, double eps = 1e-4);
// moving_standardize band by band: every channel split into the bands [lo, hi) Hz given (zero-phase
// Butterworth band-passes of `order`), each band standardised alone, and the bands summed and
// divided by √(number of bands). Each rhythm then counts against its own running level, so a
// change in one band (alpha rising when relaxed) stands out whatever the person's resting
// spectrum. Bands must lie in (0, rate / 2).
void moving_standardize_bands(Recording& recording, const std::vector<std::pair<double, double>>& bands,
                              double time_constant_s, int order = 4);

// One stretch of a recording cut out for a classifier.
struct Window {
  int64_t start = 0;    // first sample
  int64_t length = 0;   // samples
  std::string label;    // the event's label
  int64_t event = 0;    // index of the event in the list given to epoch_windows (the trial)
};

struct EpochOptions {
  double length = 2;       // seconds per window
  double stride = 1;       // seconds between the starts of consecutive windows of one event
  double offset = 0;       // start of the event's span relative to its onset (seconds)
  double span = 0;         // length of the span cut into windows; 0: the event's own duration
  std::vector<std::string> labels;  // keep events with these labels only; empty keeps all
};

// The windows of each event: its span [onset + offset, onset + offset + span) (span = the event's
// duration when options.span is 0) is cut into windows of options.length every options.stride
// seconds; a span shorter than one window gives one window starting at the span's start. Windows
// reaching outside [0, num_samples) are dropped.
std::vector<Window> epoch_windows(const std::vector<Annotation>& events, double sample_rate, int64_t num_samples,
                                  const EpochOptions& options);

// The window's samples, channel-major: out[c * length + t], as float.
std::vector<float> window_samples(const Recording& recording, const Window& window);
// Largest peak-to-peak amplitude over the channels of a window (in the recording's units).
double peak_to_peak(const Recording& recording, const Window& window);

// Per-channel mean and standard deviation over many windows (channel-major, as window_samples),
// for z-scoring every split with the training split's statistics.
struct ChannelStats {
  std::vector<double> mean, std;
};
ChannelStats channel_stats(const std::vector<std::vector<float>>& windows, int64_t channels);
void apply_zscore(std::vector<float>& window, const ChannelStats& stats);

}  // namespace heed::eeg
