// heed::eeg preprocessing on whole recordings: channel selection, re-reference, filters,
// resampling, epoching, rejection and normalisation statistics.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "datasets/eeg_preprocess.h"
#include "datasets/signal.h"
#include "tensor/error.h"

using namespace heed;
using namespace heed::eeg;

namespace {

// Channels "A", "B", "C": sines of 10, 30 and 55 Hz at 256 Hz for `seconds`.
Recording sines(double seconds = 4) {
  Recording r;
  r.channels = {"A", "B", "C"};
  r.units = {"uV", "uV", "uV"};
  r.sample_rate = 256;
  const double hz[] = {10, 30, 55};
  for (double f : hz) {
    std::vector<double> x(size_t(seconds * 256));
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(2 * std::numbers::pi * f * double(i) / 256);
    r.data.push_back(x);
  }
  return r;
}

double rms(const std::vector<double>& x, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += x[i] * x[i];
  return std::sqrt(s / double(to - from));
}

}  // namespace

TEST_CASE("select_channels keeps the named channels in the order asked, case-insensitively") {
  Recording r = sines();
  Recording s = select_channels(r, {"c", "A"});
  REQUIRE(s.channels == std::vector<std::string>{"C", "A"});
  CHECK(s.data[0] == r.data[2]);
  CHECK(s.data[1] == r.data[0]);
  CHECK_THROWS_AS(select_channels(r, {"Z"}), Error);
  CHECK_THROWS_AS(select_channels(r, {}), Error);
}

TEST_CASE("average_reference leaves channels summing to zero at every sample") {
  Recording r = sines();
  for (auto& x : r.data[1]) x += 7;  // an offset on one channel
  average_reference(r);
  for (size_t t = 0; t < r.data[0].size(); t += 97)
    CHECK(r.data[0][t] + r.data[1][t] + r.data[2][t] == doctest::Approx(0).epsilon(1e-12));
  Recording one = select_channels(sines(), {"A"});
  CHECK_THROWS_AS(average_reference(one), Error);
}

TEST_CASE("band-pass keeps the band and removes what lies outside it, and the notch removes line noise") {
  Recording r = sines(8);
  bandpass_filter(r, 4, 40);
  const size_t a = 256 * 2, b = 256 * 6;  // away from the edges
  CHECK(rms(r.data[0], a, b) == doctest::Approx(std::sqrt(0.5)).epsilon(0.02));  // 10 Hz kept
  CHECK(rms(r.data[1], a, b) == doctest::Approx(std::sqrt(0.5)).epsilon(0.02));  // 30 Hz kept
  CHECK(rms(r.data[2], a, b) < 0.05);                                            // 55 Hz gone
  Recording line = sines(8);
  notch_filter(line, 55);
  CHECK(rms(line.data[2], a, b) < 0.01);
  CHECK(rms(line.data[0], a, b) == doctest::Approx(std::sqrt(0.5)).epsilon(0.01));
  // The same numbers as the one-channel function.
  Recording again = sines(8);
  bandpass_filter(again, 8, 40, 2);
  CHECK(again.data[1] == signal::sosfiltfilt(signal::butter_bandpass_sos(2, 8, 40, 256), sines(8).data[1]));
}

TEST_CASE("resample changes the rate, keeps a tone's amplitude, and treats 256.016 Hz as 256") {
  Recording r = sines(4);
  resample(r, 128);
  CHECK(r.sample_rate == 128);
  CHECK(r.num_samples() == 512);
  CHECK(rms(r.data[0], 64, 448) == doctest::Approx(std::sqrt(0.5)).epsilon(0.02));
  Recording odd = sines(4);
  odd.sample_rate = 256.016;
  resample(odd, 128);
  CHECK(odd.num_samples() == 512);
  Recording bad = sines(4);
  bad.sample_rate = 250.5;
  CHECK_THROWS_AS(resample(bad, 128), Error);
}

TEST_CASE("epoch_windows cuts each event's span into windows and drops windows outside the recording") {
  const std::vector<Annotation> events{{1, 4, "x"}, {9, 0.5, "y"}, {9.5, 3, "x"}, {-1, 2, "z"}};
  EpochOptions o;
  o.length = 2, o.stride = 1;
  // 10 s at 100 Hz: x over [1, 5): windows at 1, 2, 3; y (shorter than a window): one at 9, past the
  // end, dropped; x at 9.5 reaches past 10 s: dropped; z at -1: dropped.
  auto w = epoch_windows(events, 100, 1000, o);
  REQUIRE(w.size() == 3);
  CHECK(w[0].start == 100);
  CHECK(w[2].start == 300);
  CHECK(w[2].length == 200);
  CHECK(w[1].event == 0);
  o.labels = {"y"};
  CHECK(epoch_windows(events, 100, 2000, o).size() == 1);
  o.labels = {};
  o.offset = 0.5, o.span = 2.5;  // [1.5, 4): windows at 1.5 only (2.5 + 2 > 4)
  w = epoch_windows({{1, 0, "x"}}, 100, 1000, o);
  REQUIRE(w.size() == 1);
  CHECK(w[0].start == 150);
  o.length = 0;
  CHECK_THROWS_AS(epoch_windows(events, 100, 1000, o), Error);
}

TEST_CASE("window_samples, peak_to_peak and the training split's channel statistics") {
  Recording r = sines(2);
  const Window w{10, 100, "x", 0};
  std::vector<float> x = window_samples(r, w);
  REQUIRE(x.size() == 300);
  CHECK(x[100] == doctest::Approx(r.data[1][10]));
  CHECK(peak_to_peak(r, w) == doctest::Approx(2).epsilon(0.01));
  CHECK_THROWS_AS(window_samples(r, {500, 100, "x", 0}), Error);

  std::vector<std::vector<float>> windows{{1, 2, 3, 10, 10, 10}, {3, 2, 1, 20, 20, 20}};
  ChannelStats s = channel_stats(windows, 2);
  CHECK(s.mean[0] == doctest::Approx(2));
  CHECK(s.mean[1] == doctest::Approx(15));
  CHECK(s.std[0] == doctest::Approx(std::sqrt(4.0 / 6)));
  CHECK(s.std[1] == doctest::Approx(5));
  std::vector<float> v{2, 2, 2, 25, 5, 15};
  apply_zscore(v, s);
  CHECK(v[0] == doctest::Approx(0));
  CHECK(v[3] == doctest::Approx(2));
  CHECK(v[4] == doctest::Approx(-2));
  CHECK_THROWS_AS(channel_stats(windows, 4), Error);
  CHECK(microvolts_per_unit("mV") == 1000);
  CHECK(microvolts_per_unit("V") == 1e6);
}

TEST_CASE("moving_standardize removes a channel's level and gain, follows slow changes, and looks only back") {
  // Sines of amplitude 1 plus an offset: channel A as is, B scaled by 50 with another offset.
  Recording r = sines(60);
  for (double& v : r.data[0]) v += 7;
  for (double& v : r.data[1]) v = 50 * v - 3;
  Recording s = r;
  moving_standardize(s, 2.0);
  const size_t n = size_t(r.num_samples()), settled = 20 * 256;  // 10 time constants in
  for (int c = 0; c < 3; ++c) {
    double mean = 0;
    for (size_t i = settled; i < n; ++i) mean += s.data[size_t(c)][i];
    mean /= double(n - settled);
    CHECK(std::abs(mean) < 0.02);
    CHECK(rms(s.data[size_t(c)], settled, n) == doctest::Approx(1.0).epsilon(0.03));
  }
  // The gain of 50 and the offsets are gone: channel B's 30 Hz sine now has A's scale.
  CHECK(rms(s.data[1], settled, n) == doctest::Approx(rms(s.data[0], settled, n)).epsilon(0.03));

  // A louder second half stands out at first, then is scaled back to 1 over a few time constants.
  Recording step = sines(60);
  for (size_t i = 30 * 256; i < step.data[0].size(); ++i) step.data[0][i] *= 4;
  moving_standardize(step, 2.0);
  CHECK(rms(step.data[0], 30 * 256, 31 * 256) > 2.0);
  CHECK(rms(step.data[0], 50 * 256, 60 * 256) == doctest::Approx(1.0).epsilon(0.03));

  // Causal after the first time constant (whose statistics start it): later samples change nothing before them.
  Recording changed = r;
  for (size_t i = 40 * 256; i < n; ++i) changed.data[0][i] = 100;
  moving_standardize(changed, 2.0);
  for (size_t i = 0; i < 40 * 256; ++i) REQUIRE(changed.data[0][i] == s.data[0][i]);

  CHECK_THROWS_WITH_AS(moving_standardize(s, 0.0), doctest::Contains("time constant"), Error);
  CHECK_THROWS_WITH_AS(moving_standardize(s, 1.0, -1), doctest::Contains("eps"), Error);
}

TEST_CASE("moving_standardize_bands puts each band on its own running scale, so a change in one band stands out") {
  // A strong 6 Hz rhythm (amplitude 10) over a weak 20 Hz one (amplitude 1); the 6 Hz one doubles at 30 s.
  Recording r;
  r.channels = {"A"}, r.units = {"uV"}, r.sample_rate = 256;
  r.data.assign(1, std::vector<double>(60 * 256));
  for (size_t i = 0; i < r.data[0].size(); ++i) {
    const double t = double(i) / 256;
    r.data[0][i] = (i < 30 * 256 ? 10 : 20) * std::sin(2 * std::numbers::pi * 6 * t) + std::sin(2 * std::numbers::pi * 20 * t);
  }
  const std::vector<std::pair<double, double>> bands{{4, 8}, {13, 30}};
  Recording s = r;
  moving_standardize_bands(s, bands, 2.0);
  REQUIRE(s.num_samples() == r.num_samples());
  auto band_rms = [&](double lo, double hi, size_t from, size_t to) {
    Recording b = s;
    bandpass_filter(b, lo, hi);
    return rms(b.data[0], from * 256, to * 256);
  };
  // Settled, both bands carry the same power: each standardised to 1, summed, scaled by 1/√2.
  CHECK(band_rms(4, 8, 15, 28) == doctest::Approx(std::sqrt(0.5)).epsilon(0.05));
  CHECK(band_rms(13, 30, 15, 28) == doctest::Approx(std::sqrt(0.5)).epsilon(0.05));
  // The louder 6 Hz rhythm stands out just after it changes, the 20 Hz one does not move.
  CHECK(band_rms(4, 8, 30, 31) > 1.3 * band_rms(4, 8, 15, 28));
  CHECK(band_rms(13, 30, 30, 31) == doctest::Approx(std::sqrt(0.5)).epsilon(0.1));
  // Standardising the signal as a whole keeps the 10:1 ratio between the bands.
  Recording whole = r;
  moving_standardize(whole, 2.0);
  std::swap(whole, s);
  CHECK(band_rms(4, 8, 15, 28) > 8 * band_rms(13, 30, 15, 28));

  CHECK_THROWS_WITH_AS(moving_standardize_bands(r, {}, 2.0), doctest::Contains("no bands"), Error);
  CHECK_THROWS_WITH_AS(moving_standardize_bands(r, {{100, 200}}, 2.0), doctest::Contains("rate / 2"), Error);
  CHECK_THROWS_WITH_AS(moving_standardize_bands(r, {{8, 4}}, 2.0), doctest::Contains("0 < lo < hi"), Error);
}
