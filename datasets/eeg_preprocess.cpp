#include "datasets/eeg_preprocess.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "datasets/signal.h"
#include "tensor/error.h"

namespace heed::eeg {

namespace {

void check_recording(const Recording& r, const char* op) {
  HEED_CHECK(!r.data.empty() && r.data.size() == r.channels.size(), "{}: the recording has no channels", op);
  HEED_CHECK(r.sample_rate > 0 && std::isfinite(r.sample_rate), "{}: the sample rate must be positive", op);
  for (const auto& channel : r.data)
    HEED_CHECK(channel.size() == r.data[0].size(), "{}: channels differ in length", op);
}

}  // namespace

Recording select_channels(const Recording& recording, const std::vector<std::string>& labels) {
  check_recording(recording, "select_channels");
  HEED_CHECK(!labels.empty(), "select_channels: no channels named");
  Recording out = recording;
  out.channels.clear(), out.units.clear(), out.data.clear();
  for (const auto& label : labels) {
    const int c = recording.channel_index(label);
    out.channels.push_back(recording.channels[size_t(c)]);
    out.units.push_back(size_t(c) < recording.units.size() ? recording.units[size_t(c)] : "");
    out.data.push_back(recording.data[size_t(c)]);
  }
  return out;
}

void average_reference(Recording& recording) {
  check_recording(recording, "average_reference");
  HEED_CHECK(recording.data.size() >= 2, "average_reference: needs at least 2 channels, the recording has {}",
             recording.data.size());
  const size_t channels = recording.data.size(), samples = recording.data[0].size();
  for (size_t t = 0; t < samples; ++t) {
    double mean = 0;
    for (size_t c = 0; c < channels; ++c) mean += recording.data[c][t];
    mean /= double(channels);
    for (size_t c = 0; c < channels; ++c) recording.data[c][t] -= mean;
  }
}

void notch_filter(Recording& recording, double line_hz, double q) {
  check_recording(recording, "notch_filter");
  auto [b, a] = signal::iirnotch(line_hz, q, recording.sample_rate);
  for (auto& channel : recording.data) channel = signal::filtfilt(b, a, channel);
}

void bandpass_filter(Recording& recording, double low_hz, double high_hz, int order) {
  check_recording(recording, "bandpass_filter");
  const signal::Sos sos = signal::butter_bandpass_sos(order, low_hz, high_hz, recording.sample_rate);
  for (auto& channel : recording.data) channel = signal::sosfiltfilt(sos, channel);
}

void resample(Recording& recording, double rate) {
  check_recording(recording, "resample");
  // A rate within 0.01 % of a whole number counts as that number (converted files carry rounded
  // record lengths: 256.016 Hz for 256).
  const double from = std::abs(recording.sample_rate - std::round(recording.sample_rate)) <= 1e-4 * recording.sample_rate
                          ? std::round(recording.sample_rate)
                          : recording.sample_rate;
  HEED_CHECK(rate > 0 && rate == std::round(rate) && from == std::round(from) && rate <= 1e6 && from <= 1e6,
             "resample: rates must be whole numbers of Hz, got {} -> {}", recording.sample_rate, rate);
  if (rate == from) {
    recording.sample_rate = rate;
    return;
  }
  const auto up = int64_t(rate), down = int64_t(from), g = std::gcd(up, down);
  for (auto& channel : recording.data) channel = signal::resample_poly(channel, int(up / g), int(down / g));
  recording.sample_rate = rate;
}

void moving_standardize(Recording& recording, double time_constant_s, double eps) {
  check_recording(recording, "moving_standardize");
  HEED_CHECK(std::isfinite(time_constant_s) && time_constant_s > 0 && std::isfinite(eps) && eps > 0,
             "moving_standardize: the time constant and eps must be positive, got {} s and {}", time_constant_s, eps);
  const double samples = time_constant_s * recording.sample_rate, a = -std::expm1(-1 / samples);
  for (auto& channel : recording.data) {
    const size_t init = std::min(channel.size(), size_t(std::max(1.0, std::ceil(samples))));
    double m = 0, v = 0;
    for (size_t i = 0; i < init; ++i) m += channel[i];
    m /= double(std::max<size_t>(init, 1));
    for (size_t i = 0; i < init; ++i) v += (channel[i] - m) * (channel[i] - m);
    v /= double(std::max<size_t>(init, 1));
    for (double& x : channel) {
      m += a * (x - m);
      v += a * ((x - m) * (x - m) - v);
      x = (x - m) / std::max(std::sqrt(v), eps);
    }
  }
}

void moving_standardize_bands(Recording& recording, const std::vector<std::pair<double, double>>& bands,
                              double time_constant_s, int order) {
  check_recording(recording, "moving_standardize_bands");
  HEED_CHECK(!bands.empty(), "moving_standardize_bands: no bands given");
  std::vector<std::vector<double>> sum(recording.data.size(), std::vector<double>(size_t(recording.num_samples()), 0.0));
  for (const auto& [lo, hi] : bands) {
    HEED_CHECK(lo > 0 && lo < hi && hi < recording.sample_rate / 2,
               "moving_standardize_bands: band [{}, {}) Hz must satisfy 0 < lo < hi < rate / 2 ({})", lo, hi,
               recording.sample_rate / 2);
    Recording band = recording;
    bandpass_filter(band, lo, hi, order);
    moving_standardize(band, time_constant_s);
    for (size_t c = 0; c < sum.size(); ++c)
      for (size_t i = 0; i < sum[c].size(); ++i) sum[c][i] += band.data[c][i];
  }
  const double scale = 1 / std::sqrt(double(bands.size()));
  for (size_t c = 0; c < sum.size(); ++c)
    for (size_t i = 0; i < sum[c].size(); ++i) recording.data[c][i] = sum[c][i] * scale;
}

double microvolts_per_unit(const std::string& unit) {
  if (unit == "uV" || unit == "µV" || unit == "microV") return 1;
  if (unit == "mV") return 1e3;
  if (unit == "V") return 1e6;
  if (unit == "nV") return 1e-3;
  return 1;
}

std::vector<Window> epoch_windows(const std::vector<Annotation>& events, double sample_rate, int64_t num_samples,
                                  const EpochOptions& options) {
  HEED_CHECK(sample_rate > 0, "epoch_windows: the sample rate must be positive");
  HEED_CHECK(options.length > 0 && options.stride > 0 && options.span >= 0 && std::isfinite(options.offset),
             "epoch_windows: window length and stride must be positive, span >= 0 (got {}, {}, {})", options.length,
             options.stride, options.span);
  const auto length = int64_t(std::llround(options.length * sample_rate));
  const auto stride = std::max<int64_t>(1, std::llround(options.stride * sample_rate));
  HEED_CHECK(length >= 1, "epoch_windows: a window of {} s is shorter than one sample", options.length);
  std::vector<Window> windows;
  for (size_t e = 0; e < events.size(); ++e) {
    const Annotation& event = events[e];
    if (!options.labels.empty() &&
        std::find(options.labels.begin(), options.labels.end(), event.label) == options.labels.end())
      continue;
    const double span = options.span > 0 ? options.span : event.duration;
    const auto first = int64_t(std::llround((event.onset + options.offset) * sample_rate));
    const auto end = first + int64_t(std::llround(span * sample_rate));
    for (int64_t start = first; start == first || start + length <= end; start += stride) {
      if (start >= 0 && start + length <= num_samples) windows.push_back({start, length, event.label, int64_t(e)});
      if (start + length >= end) break;
    }
  }
  return windows;
}

std::vector<float> window_samples(const Recording& recording, const Window& window) {
  check_recording(recording, "window_samples");
  HEED_CHECK(window.start >= 0 && window.length > 0 && window.start + window.length <= recording.num_samples(),
             "window_samples: samples [{}, {}) outside the recording's {}", window.start, window.start + window.length,
             recording.num_samples());
  std::vector<float> out;
  out.reserve(recording.data.size() * size_t(window.length));
  for (const auto& channel : recording.data)
    for (int64_t t = 0; t < window.length; ++t) out.push_back(float(channel[size_t(window.start + t)]));
  return out;
}

double peak_to_peak(const Recording& recording, const Window& window) {
  check_recording(recording, "peak_to_peak");
  HEED_CHECK(window.start >= 0 && window.length > 0 && window.start + window.length <= recording.num_samples(),
             "peak_to_peak: window outside the recording");
  double largest = 0;
  for (const auto& channel : recording.data) {
    auto [lo, hi] = std::minmax_element(channel.begin() + window.start, channel.begin() + window.start + window.length);
    largest = std::max(largest, *hi - *lo);
  }
  return largest;
}

ChannelStats channel_stats(const std::vector<std::vector<float>>& windows, int64_t channels) {
  HEED_CHECK(!windows.empty() && channels > 0, "channel_stats: no windows");
  const size_t per_channel = windows[0].size() / size_t(channels);
  HEED_CHECK(per_channel > 0 && windows[0].size() == per_channel * size_t(channels),
             "channel_stats: a window of {} values does not split into {} channels", windows[0].size(), channels);
  ChannelStats stats{std::vector<double>(size_t(channels), 0.0), std::vector<double>(size_t(channels), 0.0)};
  std::vector<double> sum_sq(size_t(channels), 0.0);
  double count = 0;
  for (const auto& w : windows) {
    HEED_CHECK(w.size() == windows[0].size(), "channel_stats: windows differ in size");
    for (size_t c = 0; c < size_t(channels); ++c)
      for (size_t t = 0; t < per_channel; ++t) stats.mean[c] += w[c * per_channel + t];
    count += double(per_channel);
  }
  for (double& m : stats.mean) m /= count;
  for (const auto& w : windows)
    for (size_t c = 0; c < size_t(channels); ++c)
      for (size_t t = 0; t < per_channel; ++t) {
        const double d = w[c * per_channel + t] - stats.mean[c];
        sum_sq[c] += d * d;
      }
  for (size_t c = 0; c < size_t(channels); ++c) stats.std[c] = std::max(std::sqrt(sum_sq[c] / count), 1e-12);
  return stats;
}

void apply_zscore(std::vector<float>& window, const ChannelStats& stats) {
  const size_t channels = stats.mean.size();
  HEED_CHECK(channels > 0 && window.size() % channels == 0, "apply_zscore: {} values do not split into {} channels",
             window.size(), channels);
  const size_t per_channel = window.size() / channels;
  for (size_t c = 0; c < channels; ++c)
    for (size_t t = 0; t < per_channel; ++t)
      window[c * per_channel + t] = float((window[c * per_channel + t] - stats.mean[c]) / stats.std[c]);
}

}  // namespace heed::eeg
