// heed-eeg's pieces: the simulator, windows from recordings, folds without leakage, the model's
// shapes, attention and gradients.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "apps/eeg_attention/eeg_app.h"
#include "apps/eeg_attention/gdf.h"
#include "apps/eeg_attention/simulate.h"
#include "autograd/gradcheck.h"
#include "datasets/signal.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace heed;
using namespace heed::eeg;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("heed_test_eeg_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

double alpha_power(const std::vector<double>& x, double fs) {
  auto s = signal::welch(x, fs, int(fs));
  return signal::band_power(s.frequencies, s.psd, 8, 13);
}

}  // namespace

TEST_CASE("simulate: deterministic, balanced blocks, relaxed blocks carry more occipital alpha") {
  SimulationOptions o;
  o.minutes = 2, o.block_seconds = 10, o.seed = 3;
  Recording a = simulate_recording(o, 1), b = simulate_recording(o, 1), c = simulate_recording(o, 2);
  CHECK(a.data == b.data);
  CHECK(a.data != c.data);
  REQUIRE(a.channels.size() == 10);
  CHECK(a.num_samples() == 120 * 256);
  REQUIRE(a.annotations.size() == 12);
  int relaxed = 0;
  double alpha[2] = {0, 0};
  const int o1 = a.channel_index("O1");
  for (const auto& block : a.annotations) {
    relaxed += block.label == "relaxed";
    CHECK(block.duration == 10);
    const auto from = size_t((block.onset + 2) * 256), to = size_t((block.onset + 10) * 256);
    std::vector<double> x(a.data[size_t(o1)].begin() + long(from), a.data[size_t(o1)].begin() + long(to));
    alpha[block.label == "relaxed"] += alpha_power(x, 256);
  }
  CHECK(relaxed == 6);
  CHECK(alpha[1] > 1.5 * alpha[0]);
  o.minutes = 0;
  CHECK_THROWS_AS(simulate_recording(o, 1), Error);
}

TEST_CASE("windows from simulated EDF+ files: classes from annotations, trials and recordings kept apart") {
  const fs::path dir = fresh_dir("windows");
  SimulationOptions o;
  o.minutes = 1, o.block_seconds = 10;
  for (int s = 1; s <= 3; ++s) write_edf(dir / ("sim-" + std::to_string(s) + ".edf"), simulate_recording(o, s));
  Pipeline p;
  p.epochs.length = 2, p.epochs.stride = 1, p.standardize_s = 0;
  const auto files = find_recordings(dir.string());
  REQUIRE(files.size() == 3);
  WindowSet w = load_windows(files, "annotations", p);
  CHECK(w.class_names == std::vector<std::string>{"focused", "relaxed"});
  CHECK(w.channels == 10);
  CHECK(w.samples == 256);
  CHECK(w.size() == 3 * 6 * 9);  // 6 blocks of 10 s, 9 windows of 2 s every 1 s in each
  CHECK(w.x[0].size() == size_t(10 * 256));
  std::set<int64_t> trials(w.trial.begin(), w.trial.end());
  CHECK(trials.size() == 18);

  for (bool by_recording : {false, true}) {
    const int64_t folds = 3;
    auto fold = assign_folds(w, by_recording, folds, 0);
    std::map<int64_t, std::set<int64_t>> folds_of_group;
    std::map<int64_t, std::set<int64_t>> classes_in_fold;
    for (size_t i = 0; i < w.size(); ++i) {
      folds_of_group[by_recording ? w.recording[i] : w.trial[i]].insert(fold[i]);
      classes_in_fold[fold[i]].insert(w.y[i]);
    }
    for (const auto& [group, in] : folds_of_group) CHECK(in.size() == 1);  // no group in two folds
    CHECK(classes_in_fold.size() == size_t(folds));
    if (!by_recording)
      for (const auto& [f, classes] : classes_in_fold) CHECK(classes.size() == 2);  // stratified
  }
  CHECK_THROWS_AS(assign_folds(w, true, 4, 0), Error);  // 3 recordings

  // Moving standardisation: the model sees each channel at about unit scale, whatever the
  // person's gain, while rejection still judges the µV (a threshold below every window's).
  // Band by band (the default) or the signal as a whole, both at unit scale.
  Pipeline standardized = p;
  standardized.standardize_s = 30;
  for (const std::string by : {"bands", "signal"}) {
    CAPTURE(by);
    standardized.standardize_by = by;
    WindowSet ws = load_windows(files, "annotations", standardized);
    REQUIRE(ws.size() == w.size());
    double sum_sq = 0, raw_sq = 0;
    for (size_t i = 0; i < ws.size(); ++i)
      for (size_t k = 0; k < ws.x[i].size(); ++k)
        sum_sq += double(ws.x[i][k]) * ws.x[i][k], raw_sq += double(w.x[i][k]) * w.x[i][k];
    const double count = double(ws.size() * ws.x[0].size());
    CHECK(std::sqrt(sum_sq / count) == doctest::Approx(1.0).epsilon(0.15));
    CHECK(std::sqrt(raw_sq / count) > 5);  // µV before
  }
  // Saved with the run; runs from before the option read as "signal", what they were trained with.
  CHECK(pipeline_from_json(to_json(standardized)).standardize_by == "signal");
  nlohmann::json old_run = to_json(Pipeline{});
  CHECK(pipeline_from_json(old_run).standardize_by == "bands");
  old_run.erase("standardize_by");
  CHECK(pipeline_from_json(old_run).standardize_by == "signal");
  old_run["standardize_by"] = "channels";
  CHECK_THROWS_WITH_AS(pipeline_from_json(old_run), doctest::Contains("standardize_by"), Error);
  standardized.low_hz = 46, standardized.high_hz = 60, standardized.standardize_by = "bands";
  CHECK_THROWS_WITH_AS(load_windows(files, "annotations", standardized), doctest::Contains("none of the EEG bands"),
                       Error);
  standardized.low_hz = 1, standardized.high_hz = 40;
  standardized.reject_uv = 1;
  CHECK_THROWS_WITH_AS(load_windows(files, "annotations", standardized), doctest::Contains("no windows"), Error);
  p.epochs.labels = {"focused"};
  CHECK_THROWS_WITH_AS(load_windows(files, "annotations", p, {"focused"}),
                       doctest::Contains("at least 2 are needed"), Error);
  CHECK_THROWS_AS(find_recordings((dir / "missing").string()), Error);
  CHECK_THROWS_AS(recording_events(files[0], Recording{}, "labels.csv"), Error);
  fs::remove_all(dir);
}

TEST_CASE("the model: logits and attention shapes, attention rows sum to one, band-power features") {
  manual_seed(0);
  EegModelConfig c;
  c.channels = 3, c.samples = 128, c.classes = 2, c.sample_rate = 64, c.hidden = 8, c.temporal_filters = 4;
  EegModel model(c);
  model.eval();
  Tensor logits = model(randn({5, 3, 128}));
  CHECK(logits.shape() == Shape{5, 2});
  Tensor a = model.last_attention();
  REQUIRE(a.shape() == Shape{5, model.steps()});
  auto weights = a.to_vector<double>();
  for (int64_t b = 0; b < 5; ++b) {
    double sum = 0;
    for (int64_t t = 0; t < model.steps(); ++t) sum += weights[size_t(b * model.steps() + t)];
    CHECK(sum == doctest::Approx(1).epsilon(1e-5));
  }
  CHECK_THROWS_AS(model(randn({5, 4, 128})), Error);
  c.samples = 8;
  CHECK_THROWS_AS(EegModel{c}, Error);

  EegModelConfig bp = c;
  bp.kind = "bandpower", bp.samples = 128;
  EegModel baseline(bp);
  CHECK(baseline(randn({2, 15})).shape() == Shape{2, 2});
  std::vector<float> window(3 * 128, 0.0f);
  for (size_t t = 0; t < 128; ++t) window[t] = float(std::sin(2 * 3.14159265 * 10 * double(t) / 64));  // alpha on ch 0
  auto f = band_power_features(window, 3, 64);
  REQUIRE(f.size() == 15);
  // Sorted band names: alpha, beta, delta, gamma, theta; channel 0's alpha dominates.
  CHECK(f[0] > f[1] + 3);
  CHECK(f[0] > f[5] + 3);
}

TEST_CASE("the model's gradients match finite differences in float64") {
  manual_seed(1);
  EegModelConfig c;
  c.channels = 2, c.samples = 48, c.classes = 2, c.sample_rate = 16, c.hidden = 3, c.temporal_filters = 2,
  c.depth = 1, c.dropout = 0;
  EegModel model(c);
  model.to(DType::Float64);
  model.train();
  Tensor x = randn({3, 2, 48}, {DType::Float64}).requires_grad_(true);
  Tensor target = from_vector(std::vector<int64_t>{0, 1, 1}, {3});
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(model(in[0]), target); }, {x},
                  {.eps = 1e-6, .atol = 1e-6, .rtol = 1e-4}));
}

TEST_CASE("an ensemble's probabilities are the mean of its members'") {
  manual_seed(2);
  EegModelConfig c;
  c.channels = 2, c.samples = 64, c.classes = 2, c.sample_rate = 32, c.hidden = 4, c.temporal_filters = 2;
  WindowSet w;
  w.channels = 2, w.samples = 64, w.class_names = {"a", "b"};
  for (int i = 0; i < 3; ++i) {
    std::vector<float> x(128);
    for (size_t t = 0; t < x.size(); ++t) x[t] = float(std::sin(0.3 * double(t) * (i + 1)));
    w.x.push_back(x), w.y.push_back(i % 2), w.trial.push_back(i), w.recording.push_back(0), w.onset.push_back(i);
  }
  Normaliser n;
  n.stats = channel_stats(w.x, 2);
  Member a{std::make_shared<EegModel>(c), n}, b{std::make_shared<EegModel>(c), n};
  const std::vector<size_t> all{0, 1, 2};
  const Predictions pa = predict({a}, w, all), pb = predict({b}, w, all), pab = predict({a, b}, w, all);
  REQUIRE(pab.probabilities.size() == 3);
  CHECK(pa.probabilities[0][0] != doctest::Approx(pb.probabilities[0][0]));  // two different models
  for (size_t i = 0; i < 3; ++i)
    for (size_t k = 0; k < 2; ++k)
      CHECK(pab.probabilities[i][k] == doctest::Approx((pa.probabilities[i][k] + pb.probabilities[i][k]) / 2));
  CHECK(pab.attention == pa.attention);  // the first member's
  CHECK_THROWS_AS(predict(std::vector<Member>{}, w, all), Error);
}

TEST_CASE("GDF: the motor-imagery sample.gdf reads like its EDF conversion, or a clear error without libbiosig") {
  const fs::path root = std::getenv("HEED_EEG_DATA") ? fs::path(std::getenv("HEED_EEG_DATA"))
                                                      : fs::path(HEED_FIXTURES_DIR) / "../../data/eeg";
  const fs::path gdf = root / "motor-imagery/sample.gdf", edf = root / "motor-imagery/sample.edf";
  if (!gdf_supported()) {
    MESSAGE("heed-eeg built without libbiosig: checking the error only");
    CHECK_THROWS_WITH_AS(read_gdf(gdf), doctest::Contains("built without libbiosig"), Error);
    return;
  }
  CHECK_THROWS_AS(read_gdf(root / "no-such.gdf"), Error);
  if (!fs::exists(gdf) || !fs::exists(edf)) {
    MESSAGE("no " << gdf.string() << " (run scripts/fetch-eeg-data); skipped");
    return;
  }
  const Recording g = read_gdf(gdf), e = read_recording(edf);
  REQUIRE(g.channels.size() == e.channels.size());
  CHECK(g.channels == e.channels);  // trimmed, as the EDF reader gives them
  CHECK(g.sample_rate == 256);
  REQUIRE(g.num_samples() == e.num_samples());
  double largest = 0, scale = 0;  // EDF stores 16-bit digital values: allow a few steps of its range
  for (size_t c = 0; c < g.data.size(); ++c)
    for (size_t t = 0; t < g.data[c].size(); t += 7) {
      largest = std::max(largest, std::abs(g.data[c][t] - e.data[c][t]));
      scale = std::max(scale, std::abs(e.data[c][t]));
    }
  CHECK(largest <= 1e-3 * scale);
  const auto cues = std::count_if(g.annotations.begin(), g.annotations.end(),
                                  [](const Annotation& a) { return a.label == "769" || a.label == "770"; });
  CHECK(cues == 40);
  const std::vector<Annotation> tsv = read_events_tsv(root / "motor-imagery/events.tsv");
  CHECK(std::find_if(g.annotations.begin(), g.annotations.end(), [&](const Annotation& a) {
          return a.label == "769" && std::abs(a.onset - tsv[0].onset) < 1e-6;
        }) != g.annotations.end());
}
