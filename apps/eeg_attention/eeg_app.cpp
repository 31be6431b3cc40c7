#include "apps/eeg_attention/eeg_app.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "apps/common/chart.h"
#include "apps/common/progress.h"
#include "apps/eeg_attention/gdf.h"
#include "datasets/dataset.h"
#include "datasets/signal.h"
#include "optim/optim.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace heed::eeg {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

constexpr double kPointEventSpan = 4;  // seconds cut after a cue: an event shorter than a window

}  // namespace

void add_pipeline_options(apps::Args& args) {
  args.option("channels", "LIST", "", "channels to keep, comma-separated (default: all)");
  args.option("reference", "KIND", "none", "re-reference: none or average");
  args.option("notch", "HZ", "50", "line-noise notch frequency (0: none)");
  args.option("band", "LO:HI", "1:40", "band-pass in Hz (zero-phase Butterworth, order 4)");
  args.option("sample-rate", "HZ", "128", "rate the recordings are resampled to");
  args.option("window", "SECONDS", "2", "window length");
  args.option("stride", "SECONDS", "0.5", "step between windows of one event");
  args.option("offset", "SECONDS", "0", "start of an event's span relative to its onset");
  args.option("span", "SECONDS", "0", "length cut into windows (0: the event's duration; 4 s for events shorter than a window, such as cues)");
  args.option("classes", "LIST", "", "event labels used as classes, comma-separated (default: all found)");
  args.option("reject", "UV", "0", "drop windows whose peak-to-peak amplitude exceeds this (0: keep all)");
  args.option("standardize", "SECONDS", "180",
              "exponential moving standardisation per channel with this time constant (0: none)");
  args.option("standardize-by", "KIND", "bands",
              "signal: standardise each channel; bands: each channel's delta..gamma bands apart, then summed");
}

Pipeline pipeline_from_args(const apps::Args& args) {
  Pipeline p;
  p.channels = split_list(args.get("channels"));
  p.reference = args.get_choice("reference", {"none", "average"});
  p.notch_hz = args.get_double("notch");
  const std::string band = args.get("band");
  const size_t colon = band.find(':');
  HEED_CHECK(colon != std::string::npos, "--band must be LO:HI in Hz, got '{}'", band);
  try {
    p.low_hz = std::stod(band.substr(0, colon));
    p.high_hz = std::stod(band.substr(colon + 1));
  } catch (const std::exception&) {
    HEED_FAIL("--band must be LO:HI in Hz, got '{}'", band);
  }
  p.sample_rate = args.get_double("sample-rate");
  p.epochs.length = args.get_double("window");
  p.epochs.stride = args.get_double("stride");
  p.epochs.offset = args.get_double("offset");
  p.epochs.span = args.get_double("span");
  p.epochs.labels = split_list(args.get("classes"));
  p.reject_uv = args.get_double("reject");
  p.standardize_s = args.get_double("standardize");
  p.standardize_by = args.get_choice("standardize-by", {"signal", "bands"});
  HEED_CHECK(p.low_hz > 0 && p.low_hz < p.high_hz && p.high_hz < p.sample_rate / 2,
             "--band {}:{} must satisfy 0 < LO < HI < sample-rate / 2 ({})", p.low_hz, p.high_hz, p.sample_rate / 2);
  HEED_CHECK(p.notch_hz >= 0 && p.reject_uv >= 0 && p.epochs.length > 0 && p.epochs.stride > 0 && p.epochs.span >= 0 &&
                 p.standardize_s >= 0,
             "--notch, --reject, --span and --standardize must be >= 0, --window and --stride positive");
  return p;
}

nlohmann::json to_json(const Pipeline& p) {
  return {{"channels", p.channels},       {"reference", p.reference}, {"notch_hz", p.notch_hz},
          {"low_hz", p.low_hz},           {"high_hz", p.high_hz},     {"sample_rate", p.sample_rate},
          {"window", p.epochs.length},    {"stride", p.epochs.stride}, {"offset", p.epochs.offset},
          {"span", p.epochs.span},        {"classes", p.epochs.labels}, {"reject_uv", p.reject_uv},
          {"standardize_s", p.standardize_s}, {"standardize_by", p.standardize_by}};
}

Pipeline pipeline_from_json(const nlohmann::json& j) {
  try {
    Pipeline p;
    p.channels = j.at("channels").get<std::vector<std::string>>();
    p.reference = j.at("reference"), p.notch_hz = j.at("notch_hz"), p.low_hz = j.at("low_hz");
    p.high_hz = j.at("high_hz"), p.sample_rate = j.at("sample_rate"), p.epochs.length = j.at("window");
    p.epochs.stride = j.at("stride"), p.epochs.offset = j.at("offset"), p.epochs.span = j.at("span");
    p.epochs.labels = j.at("classes").get<std::vector<std::string>>();
    p.reject_uv = j.at("reject_uv");
    p.standardize_s = j.value("standardize_s", 0.0);  // absent in runs from before the option
    p.standardize_by = j.value("standardize_by", std::string("signal"));  // likewise
    HEED_CHECK(p.standardize_by == "signal" || p.standardize_by == "bands",
               "pipeline settings: standardize_by must be signal or bands, got '{}'", p.standardize_by);
    return p;
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("pipeline settings: {}", e.what());
  }
}

std::vector<std::filesystem::path> find_recordings(const std::string& data) {
  std::vector<std::filesystem::path> files;
  auto is_recording = [](const std::filesystem::path& p) {
    const std::string ext = lower(p.extension().string());
    return ext == ".edf" || ext == ".bdf" || ext == ".gdf";
  };
  std::error_code ec;
  for (const std::string& item : split_list(data)) {
    const std::filesystem::path path(item);
    if (std::filesystem::is_directory(path, ec)) {
      for (auto it = std::filesystem::recursive_directory_iterator(path, ec); !ec && it != decltype(it){};
           it.increment(ec))
        if (it->is_regular_file() && is_recording(it->path())) files.push_back(it->path());
    } else {
      HEED_CHECK(std::filesystem::is_regular_file(path, ec), "--data: no file or folder '{}'", item);
      files.push_back(path);
    }
  }
  HEED_CHECK(!files.empty(), "--data: no .edf, .bdf or .gdf recordings in '{}'", data);
  std::sort(files.begin(), files.end());
  for (size_t i = 1; i < files.size(); ++i)  // sample.edf beside sample.gdf: one recording twice?
    HEED_CHECK(files[i].parent_path() != files[i - 1].parent_path() || files[i].stem() != files[i - 1].stem(),
               "--data: {} and {} look like one recording in two formats; name the one to use", files[i - 1].string(),
               files[i].string());
  return files;
}

Recording load_recording(const std::filesystem::path& file, const Pipeline& pipeline) {
  Recording r = lower(file.extension().string()) == ".gdf"
                    ? (pipeline.channels.empty() ? read_gdf(file) : select_channels(read_gdf(file), pipeline.channels))
                    : read_recording(file, {.channels = pipeline.channels});
  for (size_t c = 0; c < r.data.size(); ++c) {
    const double scale = microvolts_per_unit(c < r.units.size() ? r.units[c] : "");
    if (scale != 1)
      for (double& v : r.data[c]) v *= scale;
    if (c < r.units.size()) r.units[c] = "uV";
  }
  if (pipeline.reference == "average") average_reference(r);
  if (pipeline.notch_hz > 0 && pipeline.notch_hz < r.sample_rate / 2) notch_filter(r, pipeline.notch_hz);
  HEED_CHECK(pipeline.high_hz < r.sample_rate / 2, "{}: the band-pass edge {} Hz is above the recording's Nyquist {} Hz",
             file.string(), pipeline.high_hz, r.sample_rate / 2);
  bandpass_filter(r, pipeline.low_hz, pipeline.high_hz);
  resample(r, pipeline.sample_rate);
  return r;
}

Recording model_signal(const Recording& recording, const Pipeline& pipeline) {
  if (pipeline.standardize_s <= 0) return recording;
  Recording s = recording;
  if (pipeline.standardize_by == "signal") {
    moving_standardize(s, pipeline.standardize_s);
    return s;
  }
  std::vector<std::pair<double, double>> bands;
  for (const auto& [name, band] : signal::kEegBands) {
    const double lo = std::max(band[0], pipeline.low_hz), hi = std::min(band[1], pipeline.high_hz);
    if (hi - lo >= 1) bands.emplace_back(lo, hi);
  }
  HEED_CHECK(!bands.empty(), "--standardize-by bands: the band-pass {}-{} Hz holds none of the EEG bands",
             pipeline.low_hz, pipeline.high_hz);
  moving_standardize_bands(s, bands, pipeline.standardize_s);
  return s;
}

std::vector<Annotation> recording_events(const std::filesystem::path& file, const Recording& recording,
                                         const std::string& labels) {
  std::error_code ec;
  const auto own_tsv = file.parent_path() / (file.stem().string() + "_events.tsv");
  const auto shared_tsv = file.parent_path() / "events.tsv";
  if (labels == "auto")
    return recording_events(file, recording,
                            std::filesystem::exists(own_tsv, ec) || std::filesystem::exists(shared_tsv, ec) ? "events.tsv"
                                                                                                            : "annotations");
  if (labels == "annotations") return recording.annotations;
  if (labels == "folder") return {{0, recording.duration_seconds(), file.parent_path().filename().string()}};
  if (labels == "events.tsv") {
    if (std::filesystem::exists(own_tsv, ec)) return read_events_tsv(own_tsv);
    HEED_CHECK(std::filesystem::exists(shared_tsv, ec), "--labels events.tsv: neither {} nor {} exists",
               own_tsv.string(), shared_tsv.string());
    return read_events_tsv(shared_tsv);
  }
  HEED_CHECK(lower(std::filesystem::path(labels).extension().string()) == ".tsv",
             "--labels must be auto, annotations, events.tsv, folder or the path of a .tsv file, got '{}'", labels);
  return read_events_tsv(labels);
}

WindowSet load_windows(const std::vector<std::filesystem::path>& files, const std::string& labels,
                       const Pipeline& pipeline, std::vector<std::string> class_names) {
  WindowSet set;
  struct Pending {
    std::vector<float> x;
    std::string label;
    int64_t trial, recording;
    double onset;
  };
  std::vector<Pending> pending;
  int64_t trials = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    Recording r = load_recording(files[f], pipeline);
    if (set.channel_names.empty()) {
      set.channel_names = r.channels;
      set.channels = int64_t(r.channels.size());
    }
    HEED_CHECK(r.channels == set.channel_names, "{}: channels {} differ from the first recording's {} (use --channels)",
               files[f].string(), fmt::join(r.channels, ","), fmt::join(set.channel_names, ","));
    std::vector<Annotation> events = recording_events(files[f], r, labels);
    const Recording signal = model_signal(r, pipeline);
    EpochOptions options = pipeline.epochs;
    if (options.span == 0)
      for (auto& e : events)
        if (e.duration < options.length) e.duration = kPointEventSpan;
    for (const Window& w : epoch_windows(events, r.sample_rate, r.num_samples(), options)) {
      if (!class_names.empty() && std::find(class_names.begin(), class_names.end(), w.label) == class_names.end())
        continue;
      if (pipeline.reject_uv > 0 && peak_to_peak(r, w) > pipeline.reject_uv) {
        ++set.rejected;
        continue;
      }
      pending.push_back({window_samples(signal, w), w.label, trials + w.event, int64_t(f), double(w.start) / r.sample_rate});
    }
    trials += int64_t(events.size());
    set.recordings.push_back(files[f].string());
  }
  HEED_CHECK(!pending.empty() || set.rejected == 0,
             "no windows: all {} were rejected by --reject {} µV (peak-to-peak); raise the threshold or use 0", set.rejected,
             pipeline.reject_uv);
  if (class_names.empty()) {
    std::set<std::string> found;
    for (const auto& p : pending) found.insert(p.label);
    class_names.assign(found.begin(), found.end());
  }
  HEED_CHECK(class_names.size() >= 2, "found {} class(es) ({}) in the events; at least 2 are needed (see --labels, --classes)",
             class_names.size(), fmt::join(class_names, ","));
  set.class_names = class_names;
  set.samples = int64_t(std::llround(pipeline.epochs.length * pipeline.sample_rate));
  for (auto& p : pending) {
    const auto label = std::find(class_names.begin(), class_names.end(), p.label) - class_names.begin();
    set.x.push_back(std::move(p.x));
    set.y.push_back(label);
    set.trial.push_back(p.trial);
    set.recording.push_back(p.recording);
    set.onset.push_back(p.onset);
  }
  HEED_CHECK(!set.x.empty(), "no windows: the events give no {} s window inside the recordings", pipeline.epochs.length);
  return set;
}

std::vector<int64_t> assign_folds(const WindowSet& windows, bool by_recording, int64_t folds, uint64_t seed) {
  std::map<int64_t, int64_t> group_label;  // group -> class
  for (size_t i = 0; i < windows.size(); ++i)
    group_label.emplace(by_recording ? windows.recording[i] : windows.trial[i], windows.y[i]);
  HEED_CHECK(folds >= 2 && folds <= int64_t(group_label.size()), "--folds {}: must be in [2, {}]: there are {} {}",
             folds, group_label.size(), group_label.size(), by_recording ? "recordings" : "trials");
  std::vector<std::vector<int64_t>> by_class(by_recording ? 1 : windows.class_names.size());
  for (const auto& [group, label] : group_label) by_class[by_recording ? 0 : size_t(label)].push_back(group);
  std::map<int64_t, int64_t> group_fold;
  int64_t next = 0;
  for (size_t c = 0; c < by_class.size(); ++c) {
    data::shuffle_in_place(by_class[c], seed, 77 + c);
    for (int64_t group : by_class[c]) group_fold[group] = next++ % folds;
  }
  std::vector<int64_t> fold(windows.size());
  for (size_t i = 0; i < windows.size(); ++i) fold[i] = group_fold.at(by_recording ? windows.recording[i] : windows.trial[i]);
  return fold;
}

std::vector<float> band_power_features(const std::vector<float>& window, int64_t channels, double sample_rate) {
  const size_t samples = window.size() / size_t(channels);
  const int nperseg = int(std::min<double>(double(samples), sample_rate));
  std::vector<float> out;
  for (size_t c = 0; c < size_t(channels); ++c) {
    std::vector<double> x(window.begin() + long(c * samples), window.begin() + long((c + 1) * samples));
    const signal::Spectrum s = signal::welch(x, sample_rate, nperseg);
    for (const auto& [band, power] : signal::eeg_band_powers(s.frequencies, s.psd))
      out.push_back(float(std::log10(power + 1e-12)));
  }
  return out;
}

nlohmann::json Normaliser::to_json() const { return {{"mean", stats.mean}, {"std", stats.std}}; }

Normaliser Normaliser::from_json(const nlohmann::json& j) {
  try {
    Normaliser n;
    n.stats.mean = j.at("mean").get<std::vector<double>>();
    n.stats.std = j.at("std").get<std::vector<double>>();
    HEED_CHECK(!n.stats.mean.empty() && n.stats.mean.size() == n.stats.std.size(), "normaliser: sizes differ");
    return n;
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("normaliser: {}", e.what());
  }
}

namespace {

// A model's raw inputs for the windows: the windows themselves, or their band-power features.
std::vector<std::vector<float>> raw_inputs(const EegModel& model, const WindowSet& windows,
                                           const std::vector<size_t>& indices) {
  const bool bandpower = model.config.kind == "bandpower";
  std::vector<std::vector<float>> rows;
  rows.reserve(indices.size());
  for (size_t i : indices)
    rows.push_back(bandpower ? band_power_features(windows.x[i], windows.channels, model.config.sample_rate)
                             : windows.x[i]);
  return rows;
}

// Raw inputs z-scored and stacked: windows (B,C,T) or band powers (B,F).
Tensor stack_inputs(const EegModel& model, std::vector<std::vector<float>> rows, const Normaliser& normaliser,
                    const WindowSet& windows) {
  std::vector<float> values;
  values.reserve(rows.empty() ? 0 : rows.size() * rows[0].size());
  for (auto& row : rows) {
    apply_zscore(row, normaliser.stats);
    values.insert(values.end(), row.begin(), row.end());
  }
  const auto n = int64_t(rows.size());
  return model.config.kind == "bandpower" ? from_vector(values, {n, model.config.features()})
                                          : from_vector(values, {n, windows.channels, windows.samples});
}

Tensor model_inputs(const EegModel& model, const Normaliser& normaliser, const WindowSet& windows,
                    const std::vector<size_t>& indices) {
  return stack_inputs(model, raw_inputs(model, windows, indices), normaliser, windows);
}

Tensor labels_of(const WindowSet& windows, const std::vector<size_t>& indices) {
  std::vector<int64_t> y;
  for (size_t i : indices) y.push_back(windows.y[i]);
  return from_vector(y, {int64_t(y.size())});
}

}  // namespace

TrainedModel train_model(const WindowSet& windows, const std::vector<size_t>& train, const std::vector<size_t>& validation,
                         const TrainSettings& settings, const std::string& progress_label) {
  HEED_CHECK(!train.empty() && !validation.empty(), "training needs training and validation windows");
  manual_seed(uint64_t(settings.seed));
  TrainedModel result;
  result.model = std::make_shared<EegModel>(settings.model);
  EegModel& model = *result.model;
  const Device device = settings.device;
  model.to(device);
  const bool bandpower = model.config.kind == "bandpower";
  std::vector<std::vector<float>> train_rows = raw_inputs(model, windows, train);
  // Statistics of the training windows only.
  result.normaliser.stats = channel_stats(train_rows, bandpower ? model.config.features() : windows.channels);
  const Tensor all_train_x = stack_inputs(model, std::move(train_rows), result.normaliser, windows).to(device);
  const Tensor val_x = model_inputs(model, result.normaliser, windows, validation).to(device);
  const Tensor val_y = labels_of(windows, validation).to(device);

  const int64_t batch = settings.batch, steps_per_epoch = (int64_t(train.size()) + batch - 1) / batch;
  optim::AdamW optimizer(model.parameters(), {.lr = settings.lr, .weight_decay = settings.weight_decay});
  const int64_t total = settings.epochs * steps_per_epoch;
  optim::WarmupDecayLR scheduler(
      optimizer, {.warmup_steps = std::min<int64_t>(total - 1, std::max<int64_t>(1, int64_t(settings.warmup_fraction * double(total)))),
                  .total_steps = std::max<int64_t>(total, 2)});
  optim::EarlyStopping stopper({.mode = optim::Mode::Min, .patience = settings.patience});
  nn::NamedTensors best;
  std::vector<int64_t> order(train.size());
  apps::ProgressBar bar(progress_label, settings.epochs);
  for (int64_t epoch = 0; epoch < settings.epochs && !stopper.should_stop(); ++epoch) {
    model.train();
    std::iota(order.begin(), order.end(), 0);
    data::shuffle_in_place(order, uint64_t(settings.seed), uint64_t(epoch));
    double loss_sum = 0;
    for (int64_t start = 0; start < int64_t(order.size()); start += batch) {
      const int64_t end = std::min<int64_t>(start + batch, int64_t(order.size()));
      if (end - start < 2 && start > 0) break;  // batch norm needs two examples
      std::vector<int64_t> rows(order.begin() + start, order.begin() + end);
      std::vector<size_t> picked;
      for (int64_t r : rows) picked.push_back(train[size_t(r)]);
      const Tensor index = from_vector(rows, {int64_t(rows.size())}).to(device);
      Tensor x = index_select(all_train_x, 0, index);
      if (settings.augment_gain > 0 && !bandpower) {  // each window scaled by exp(U(-g, g))
        data::SplitMix64 rng(data::SplitMix64(uint64_t(settings.seed) * 7919 + uint64_t(epoch) * 104729 + uint64_t(start)).next());
        std::vector<float> gains;
        for (size_t r = 0; r < rows.size(); ++r)
          gains.push_back(float(std::exp(settings.augment_gain * (2 * rng.uniform() - 1))));
        x = x * from_vector(gains, {int64_t(rows.size()), 1, 1}).to(device);
      }
      Tensor loss = cross_entropy(model(x), labels_of(windows, picked).to(device));
      optimizer.zero_grad();
      loss.backward();
      optim::clip_grad_norm_(model.parameters(), 1.0);
      optimizer.step();
      scheduler.step();
      const double value = loss.item();
      HEED_CHECK(std::isfinite(value), "train: the loss became {}; try a smaller --lr", value);
      loss_sum += value * double(end - start);
    }
    model.eval();
    double val_loss = 0, val_acc = 0;
    {
      NoGradGuard no_grad;
      const Tensor logits = model(val_x);
      val_loss = cross_entropy(logits, val_y).item();
      const auto scores = logits.to_vector<float>();
      const auto truth = val_y.to_vector<int64_t>();
      const auto classes = size_t(model.config.classes);
      for (size_t i = 0; i < truth.size(); ++i) {
        const auto row = scores.begin() + long(i * classes);
        val_acc += double(std::max_element(row, row + long(classes)) - row == truth[i]);
      }
      val_acc /= double(truth.size());
    }
    result.train_loss.push_back(loss_sum / double(train.size()));
    result.validation_loss.push_back(val_loss);
    result.validation_accuracy.push_back(val_acc);
    if (stopper.step(val_loss)) {
      best.clear();
      for (const auto& [name, t] : model.state_dict()) best.emplace_back(name, t.clone());
      result.best_epoch = epoch + 1;
    }
    ++result.epochs_run;
    bar.advance(1, int64_t(train.size()), result.train_loss.back());
  }
  bar.finish();
  model.load_state_dict(best);
  model.to(Device::cpu());
  model.eval();
  return result;
}

Predictions predict(EegModel& model, const Normaliser& normaliser, const WindowSet& windows,
                    const std::vector<size_t>& indices) {
  Predictions p;
  model.eval();
  NoGradGuard no_grad;
  const size_t classes = size_t(model.config.classes);
  for (size_t start = 0; start < indices.size(); start += 256) {
    std::vector<size_t> chunk(indices.begin() + long(start), indices.begin() + long(std::min(indices.size(), start + 256)));
    const auto probs = softmax(model(model_inputs(model, normaliser, windows, chunk)), 1).to_vector<float>();
    for (size_t i = 0; i < chunk.size(); ++i)
      p.probabilities.emplace_back(probs.begin() + long(i * classes), probs.begin() + long((i + 1) * classes));
    if (Tensor a = model.last_attention(); a.defined()) {
      const auto weights = a.to_vector<float>();
      const size_t steps = size_t(a.size(1));
      for (size_t i = 0; i < chunk.size(); ++i)
        p.attention.emplace_back(weights.begin() + long(i * steps), weights.begin() + long((i + 1) * steps));
    }
  }
  return p;
}

Predictions predict(const std::vector<Member>& members, const WindowSet& windows, const std::vector<size_t>& indices) {
  HEED_CHECK(!members.empty(), "predict: no models");
  Predictions sum = predict(*members[0].model, members[0].normaliser, windows, indices);
  for (size_t m = 1; m < members.size(); ++m) {
    const Predictions p = predict(*members[m].model, members[m].normaliser, windows, indices);
    for (size_t i = 0; i < sum.probabilities.size(); ++i)
      for (size_t c = 0; c < sum.probabilities[i].size(); ++c) sum.probabilities[i][c] += p.probabilities[i][c];
  }
  for (auto& row : sum.probabilities)
    for (float& v : row) v /= float(members.size());
  return sum;
}

namespace {

double accuracy(const std::vector<int64_t>& t, const std::vector<int64_t>& p) {
  if (t.empty()) return NAN;
  size_t right = 0;
  for (size_t i = 0; i < t.size(); ++i) right += t[i] == p[i];
  return double(right) / double(t.size());
}

}  // namespace

double Scores::window_accuracy() const { return accuracy(window_true, window_pred); }
double Scores::trial_accuracy() const { return accuracy(trial_true, trial_pred); }

void add_scores(Scores& scores, const WindowSet& windows, const std::vector<size_t>& indices, const Predictions& p) {
  std::map<int64_t, std::vector<double>> trial_sum;
  std::map<int64_t, int64_t> trial_label;
  for (size_t k = 0; k < indices.size(); ++k) {
    const auto& probs = p.probabilities[k];
    const size_t i = indices[k];
    scores.window_true.push_back(windows.y[i]);
    scores.window_pred.push_back(std::max_element(probs.begin(), probs.end()) - probs.begin());
    auto& sum = trial_sum[windows.trial[i]];
    sum.resize(probs.size(), 0.0);
    for (size_t c = 0; c < probs.size(); ++c) sum[c] += std::log(std::max(probs[c], 1e-12f));
    trial_label[windows.trial[i]] = windows.y[i];
  }
  for (const auto& [trial, sum] : trial_sum) {
    scores.trial_true.push_back(trial_label[trial]);
    scores.trial_pred.push_back(std::max_element(sum.begin(), sum.end()) - sum.begin());
  }
}

std::map<std::string, double> recording_window_accuracy(const WindowSet& windows, const std::vector<size_t>& indices,
                                                        const Scores& scores) {
  std::map<std::string, std::array<double, 2>> counts;  // right, total
  for (size_t k = 0; k < indices.size(); ++k) {
    auto& count = counts[std::filesystem::path(windows.recordings[size_t(windows.recording[indices[k]])]).filename().string()];
    count[0] += double(scores.window_pred[k] == scores.window_true[k]), count[1] += 1;
  }
  std::map<std::string, double> accuracy;
  for (const auto& [name, count] : counts) accuracy[name] = count[0] / count[1];
  return accuracy;
}

void write_attention_png(const std::filesystem::path& file, const std::vector<float>& window, int64_t channels,
                         const std::vector<std::string>& channel_names, double sample_rate,
                         const std::vector<float>& attention, const std::string& title) {
  const int left = 60, right = 20, top = 30, lane = 36, width = 900;
  const int plot_width = width - left - right, attention_height = 60;
  const int height = top + int(channels) * lane + 30 + attention_height + 40;
  apps::Image image{width, height, std::vector<uint8_t>(size_t(width * height * 3), 255)};
  auto put = [&](int x, int y, std::array<uint8_t, 3> colour) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    std::copy(colour.begin(), colour.end(), image.rgb.begin() + long((y * width + x) * 3));
  };
  apps::draw_text(image, title, left, 8);
  const size_t samples = window.size() / size_t(channels);
  for (size_t c = 0; c < size_t(channels); ++c) {
    const auto begin = window.begin() + long(c * samples), end = begin + long(samples);
    const auto [lo, hi] = std::minmax_element(begin, end);
    const double range = std::max(double(*hi - *lo), 1e-9);
    const int middle = top + int(c) * lane + lane / 2;
    apps::draw_text(image, c < channel_names.size() ? channel_names[c] : fmt::format("ch{}", c), 4, middle - 4);
    int previous = -1;
    for (int x = 0; x < plot_width; ++x) {
      const size_t t = size_t(double(x) / plot_width * double(samples));
      const int y = middle - int((double(begin[long(t)]) - (*lo + *hi) / 2.0) / range * (lane - 6));
      const int from = previous < 0 ? y : std::min(previous, y), to = previous < 0 ? y : std::max(previous, y);
      for (int yy = from; yy <= to; ++yy) put(left + x, yy, {30, 60, 140});
      previous = y;
    }
  }
  const int strip = top + int(channels) * lane + 20;
  apps::draw_text(image, "attention", 4, strip + attention_height / 2 - 4);
  if (!attention.empty()) {
    const float peak = std::max(*std::max_element(attention.begin(), attention.end()), 1e-9f);
    for (int x = 0; x < plot_width; ++x) {
      const float a = attention[size_t(double(x) / plot_width * double(attention.size()))] / peak;
      const int bar = int(a * float(attention_height));
      for (int y = 0; y < bar; ++y) put(left + x, strip + attention_height - y, {uint8_t(230 - 60 * a), uint8_t(120 - 60 * a), 40});
    }
  }
  apps::draw_rectangle(image, left, strip, left + plot_width, strip + attention_height, {160, 160, 160});
  apps::draw_text(image, fmt::format("0 s .. {:.2f} s", double(samples) / sample_rate), left, height - 24);
  apps::write_png(file, image);
}

void write_spectrum_png(const std::filesystem::path& file, const WindowSet& windows, double sample_rate) {
  // Mean log10 Welch PSD (1 s segments, or the window when shorter) over windows and channels.
  const size_t classes = windows.class_names.size();
  std::vector<double> frequencies;
  std::vector<std::vector<double>> sum(classes);
  std::vector<double> count(classes, 0.0);
  const int nperseg = int(std::min<double>(double(windows.samples), sample_rate));
  for (size_t i = 0; i < windows.size(); ++i) {
    const size_t k = size_t(windows.y[i]);
    for (size_t c = 0; c < size_t(windows.channels); ++c) {
      const auto begin = windows.x[i].begin() + long(c * size_t(windows.samples));
      const signal::Spectrum s = signal::welch(std::vector<double>(begin, begin + windows.samples), sample_rate, nperseg);
      if (frequencies.empty()) frequencies = s.frequencies;
      sum[k].resize(s.psd.size(), 0.0);
      for (size_t f = 0; f < s.psd.size(); ++f) sum[k][f] += std::log10(s.psd[f] + 1e-12);
      count[k] += 1;
    }
  }
  apps::Chart chart{"spectrum per class", "frequency (Hz)", "mean log10 PSD (uV^2/Hz)", {}};
  for (size_t k = 0; k < classes; ++k) {
    apps::Series series{windows.class_names[k], {}, {}};
    for (size_t f = 0; f < frequencies.size() && count[k] > 0; ++f)
      if (frequencies[f] >= 1 && frequencies[f] <= 45) {
        series.x.push_back(frequencies[f]);
        series.y.push_back(sum[k][f] / count[k]);
      }
    chart.series.push_back(series);
  }
  apps::write_charts_png(file, {chart}, 640, 400);
}

}  // namespace heed::eeg
