// heed::signal against scipy.signal (tests/fixtures/signal.safetensors, written by
// scripts/make_signal_fixtures.py), and its errors on bad input.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "datasets/signal.h"
#include "tensor/error.h"
#include "tensor/io.h"

using namespace heed;
using namespace heed::signal;

namespace {

const SafetensorsFile& fixtures() {
  static const SafetensorsFile file = load_safetensors(std::string(HEED_FIXTURES_DIR) + "/signal.safetensors");
  return file;
}

std::vector<double> fixture(const std::string& name) { return fixtures().at(name).to_vector<double>(); }

// Largest |actual - expected| relative to max |expected| (sample-wise relative error is
// meaningless where a filtered signal crosses zero); "" when within tol, else a report.
std::string mismatch(const std::vector<double>& actual, const std::vector<double>& expected, double tol) {
  if (actual.size() != expected.size()) return fmt::format("sizes differ: {} vs {}", actual.size(), expected.size());
  double scale = 0, worst = 0;
  size_t at = 0;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  for (size_t i = 0; i < actual.size(); ++i) {
    double err = std::abs(actual[i] - expected[i]) / scale;
    if (std::isnan(err) || err > worst) {
      worst = err;
      at = i;
      if (std::isnan(err)) break;
    }
  }
  if (worst <= tol) return "";
  return fmt::format("element {}: {} vs {} (error {:.3g} of the largest value)", at, actual[at], expected[at], worst);
}

// Every element within rtol of its own value (for spectra, whose small bins matter).
std::string mismatch_elementwise(const std::vector<double>& actual, const std::vector<double>& expected, double rtol) {
  if (actual.size() != expected.size()) return fmt::format("sizes differ: {} vs {}", actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    if (!(std::abs(actual[i] - expected[i]) <= rtol * std::abs(expected[i])))
      return fmt::format("element {}: {} vs {}", i, actual[i], expected[i]);
  return "";
}

#define CHECK_MATCH(report, what)                            \
  do {                                                       \
    std::string report_ = (report);                          \
    CHECK_MESSAGE(report_.empty(), (what) << ": " << report_); \
  } while (0)

struct Signal {
  std::string name;
  double fs;
};
const std::vector<Signal> signals{{"x0", 256.0}, {"x1", 250.0}};

struct ButterCase {
  std::string name;
  Sos (*design)(double fs);
};
const std::vector<ButterCase> butter_cases{
    {"bandpass4_1_40", [](double fs) { return butter_bandpass_sos(4, 1, 40, fs); }},
    {"bandpass3_8_13", [](double fs) { return butter_bandpass_sos(3, 8, 13, fs); }},
    {"lowpass5_30", [](double fs) { return butter_lowpass_sos(5, 30, fs); }},
    {"highpass2_0p5", [](double fs) { return butter_highpass_sos(2, 0.5, fs); }},
};

Sos to_sos(const std::vector<double>& flat) {
  Sos sos(flat.size() / 6);
  for (size_t i = 0; i < flat.size(); ++i) sos[i / 6][i % 6] = flat[i];
  return sos;
}

// The cascade's frequency response at f Hz.
std::complex<double> response(const Sos& sos, double f, double fs) {
  std::complex<double> z1 = std::polar(1.0, -2 * std::numbers::pi * f / fs), z2 = z1 * z1, h = 1;
  for (const auto& s : sos) h *= (s[0] + s[1] * z1 + s[2] * z2) / (s[3] + s[4] * z1 + s[5] * z2);
  return h;
}

}  // namespace

TEST_CASE("butter: designed filters have scipy's transfer function") {
  for (const auto& c : butter_cases)
    for (const auto& sig : signals) {
      CAPTURE(c.name);
      CAPTURE(sig.name);
      Sos ours = c.design(sig.fs), theirs = to_sos(fixture(c.name + "." + sig.name + ".sos"));
      REQUIRE(ours.size() == theirs.size());
      for (double f = 0; f < sig.fs / 2; f += 0.25) {
        std::complex<double> a = response(ours, f, sig.fs), b = response(theirs, f, sig.fs);
        CHECK(std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)));
      }
      CHECK(sosfiltfilt_padlen(ours) == fixture(c.name + "." + sig.name + ".padlen")[0]);
    }
}

TEST_CASE("butter: sosfilt and sosfiltfilt outputs match scipy's") {
  for (const auto& c : butter_cases)
    for (const auto& sig : signals) {
      std::string key = c.name + "." + sig.name;
      std::vector<double> x = fixture(sig.name);
      Sos ours = c.design(sig.fs), theirs = to_sos(fixture(key + ".sos"));
      CHECK_MATCH(mismatch(sosfilt(theirs, x), fixture(key + ".sosfilt"), 1e-11), key + " sosfilt, scipy's sos");
      CHECK_MATCH(mismatch(sosfilt(ours, x), fixture(key + ".sosfilt"), 1e-11), key + " sosfilt");
      CHECK_MATCH(mismatch(sosfiltfilt(theirs, x), fixture(key + ".sosfiltfilt"), 1e-11),
                  key + " sosfiltfilt, scipy's sos");
      CHECK_MATCH(mismatch(sosfiltfilt(ours, x), fixture(key + ".sosfiltfilt"), 1e-11), key + " sosfiltfilt");
    }
}

TEST_CASE("notch: iirnotch and filtfilt match scipy's") {
  for (double f0 : {50.0, 60.0})
    for (const auto& sig : signals) {
      std::string key = fmt::format("notch{}.{}", int(f0), sig.name);
      auto [b, a] = iirnotch(f0, 30, sig.fs);
      CHECK_MATCH(mismatch_elementwise(b, fixture(key + ".b"), 1e-14), key + " b");
      CHECK_MATCH(mismatch_elementwise(a, fixture(key + ".a"), 1e-14), key + " a");
      CHECK_MATCH(mismatch(filtfilt(b, a, fixture(sig.name)), fixture(key + ".filtfilt"), 1e-11), key + " filtfilt");
    }
}

TEST_CASE("notch: filtfilt removes the 50 Hz line from a pure sinusoid") {
  std::vector<double> x(1024);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(2 * std::numbers::pi * 50 * double(i) / 256);
  auto [b, a] = iirnotch(50, 30, 256);
  std::vector<double> y = filtfilt(b, a, x);
  double middle = 0;  // away from the edges, where the padding leaves a transient
  for (size_t i = 256; i < 768; ++i) middle = std::max(middle, std::abs(y[i]));
  CHECK(middle < 0.01);
}

TEST_CASE("welch: PSD matches scipy's for even and odd nperseg") {
  for (int nperseg : {256, 200, 125})
    for (const auto& sig : signals) {
      std::string key = fmt::format("welch{}.{}", nperseg, sig.name);
      Spectrum s = welch(fixture(sig.name), sig.fs, nperseg);
      CHECK_MATCH(mismatch_elementwise(s.frequencies, fixture(key + ".f"), 1e-14), key + " frequencies");
      CHECK_MATCH(mismatch_elementwise(s.psd, fixture(key + ".psd"), 1e-9), key + " psd");
    }
}

TEST_CASE("spectrogram: frequencies, segment times and power match scipy's") {
  for (int nperseg : {128, 100})
    for (const auto& sig : signals) {
      std::string key = fmt::format("spectrogram{}.{}", nperseg, sig.name);
      Spectrogram s = spectrogram(fixture(sig.name), sig.fs, nperseg);
      CHECK_MATCH(mismatch_elementwise(s.frequencies, fixture(key + ".f"), 1e-14), key + " frequencies");
      CHECK_MATCH(mismatch_elementwise(s.times, fixture(key + ".t"), 1e-14), key + " times");
      std::vector<double> power;
      for (const auto& row : s.power) power.insert(power.end(), row.begin(), row.end());
      CHECK_MATCH(mismatch_elementwise(power, fixture(key + ".power"), 1e-9), key + " power");
    }
  CHECK_THROWS_AS(spectrogram(std::vector<double>(50, 1.0), 100, 64), Error);
}

TEST_CASE("welch: band powers and the theta/beta ratio match numpy.trapz over scipy's PSD") {
  const char* names[] = {"delta", "theta", "alpha", "beta", "gamma"};
  for (int nperseg : {256, 200})
    for (const auto& sig : signals) {
      std::string key = fmt::format("welch{}.{}", nperseg, sig.name);
      std::vector<double> f = fixture(key + ".f"), psd = fixture(key + ".psd"), expected = fixture(key + ".bands");
      auto powers = eeg_band_powers(f, psd);
      REQUIRE(powers.size() == 5);
      for (size_t i = 0; i < 5; ++i) {
        CAPTURE(key);
        CAPTURE(names[i]);
        CHECK(powers.at(names[i]) == doctest::Approx(expected[i]).epsilon(1e-12));
      }
      CHECK(band_power(f, psd, 8, 13) == doctest::Approx(expected[2]).epsilon(1e-12));
      CHECK(theta_beta_ratio(f, psd) == doctest::Approx(expected[1] / expected[3]).epsilon(1e-12));
    }
  // 2 Hz bins put a single bin in delta [1, 4): numpy.trapz gives 0 there, heed refuses.
  std::vector<double> f = fixture("welch125.x1.f"), psd = fixture("welch125.x1.psd");
  CHECK_THROWS_WITH_AS(eeg_band_powers(f, psd),
                       "band_power: 1 frequency bin(s) in [1, 4) Hz, need at least 2 (use a longer nperseg)", Error);
}

TEST_CASE("signal: zscore with given statistics matches numpy") {
  for (const auto& sig : signals) {
    std::vector<double> stats = fixture("zscore." + sig.name + ".stats");
    std::vector<double> z = zscore(fixture(sig.name), stats[0], stats[1]);
    CHECK_MATCH(mismatch_elementwise(z, fixture("zscore." + sig.name), 1e-12), sig.name);
  }
}

TEST_CASE("signal: resample_poly matches scipy's") {
  for (auto [up, down] : {std::pair{1, 2}, {128, 125}, {3, 2}})
    for (const auto& sig : signals) {
      std::string key = fmt::format("resample{}_{}.{}", up, down, sig.name);
      CHECK_MATCH(mismatch(resample_poly(fixture(sig.name), up, down), fixture(key), 1e-12), key);
    }
  std::vector<double> x = fixture("x0");
  CHECK(resample_poly(x, 4, 4) == x);  // reduced to 1/1: a copy
  CHECK_MATCH(mismatch(resample_poly(x, 2, 4), fixture("resample1_2.x0"), 1e-12), "2/4 as 1/2");
}

TEST_CASE("signal: sosfiltfilt and filtfilt say how long a signal must be") {
  Sos sos = butter_bandpass_sos(4, 1, 40, 256);  // 4 sections: padlen 27
  CHECK(sosfiltfilt_padlen(sos) == 27);
  CHECK_THROWS_WITH_AS(sosfiltfilt(sos, std::vector<double>(27, 1.0)),
                       "sosfiltfilt: the signal must be longer than padlen = 27 samples (at least 28), got 27", Error);
  CHECK(sosfiltfilt(sos, std::vector<double>(28, 1.0)).size() == 28);
  auto [b, a] = iirnotch(50, 30, 256);
  CHECK_THROWS_WITH_AS(filtfilt(b, a, std::vector<double>(9, 1.0)), doctest::Contains("at least 10"), Error);
}

TEST_CASE("signal: bad arguments throw heed::Error with clear messages") {
  std::vector<double> x(512, 1.0);
  CHECK_THROWS_WITH_AS(butter_lowpass_sos(0, 10, 256), doctest::Contains("order must be in [1, 100], got 0"), Error);
  CHECK_THROWS_WITH_AS(butter_lowpass_sos(4, 128, 256), doctest::Contains("must lie in (0, fs/2)"), Error);
  CHECK_THROWS_WITH_AS(butter_highpass_sos(4, 0, 256), doctest::Contains("must lie in (0, fs/2)"), Error);
  CHECK_THROWS_WITH_AS(butter_bandpass_sos(4, 13, 8, 256), doctest::Contains("must be below the high cutoff"), Error);
  CHECK_THROWS_WITH_AS(butter_bandpass_sos(4, 8, 8, 256), doctest::Contains("must be below the high cutoff"), Error);
  CHECK_THROWS_WITH_AS(butter_bandpass_sos(4, 1, 40, -1), doctest::Contains("sampling rate must be positive"), Error);
  CHECK_THROWS_WITH_AS(butter_bandpass_sos(4, std::nan(""), 40, 256), doctest::Contains("(0, fs/2)"), Error);
  CHECK_THROWS_WITH_AS(iirnotch(50, 0, 256), doctest::Contains("quality factor"), Error);
  CHECK_THROWS_WITH_AS(iirnotch(200, 30, 256), doctest::Contains("(0, fs/2)"), Error);

  Sos sos = butter_lowpass_sos(2, 10, 256);
  CHECK_THROWS_WITH_AS(sosfilt(sos, {}), "sosfilt: the signal is empty", Error);
  std::vector<double> bad = x;
  bad[7] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(sosfiltfilt(sos, bad), "sosfiltfilt: sample 7 is not finite (inf)", Error);
  bad[7] = std::nan("");
  CHECK_THROWS_WITH_AS(welch(bad, 256, 128), doctest::Contains("sample 7 is not finite"), Error);
  CHECK_THROWS_WITH_AS(sosfilt(Sos{}, x), doctest::Contains("no sections"), Error);
  Sos unnormalised = sos;
  unnormalised[0][3] = 2;
  CHECK_THROWS_WITH_AS(sosfilt(unnormalised, x), doctest::Contains("a0 = 1"), Error);
  CHECK_THROWS_WITH_AS(filtfilt({1}, {0, 1}, x), doctest::Contains("a[0] must not be 0"), Error);
  CHECK_THROWS_WITH_AS(filtfilt({1, 1}, {1, -1}, x), doctest::Contains("pole at z = 1"), Error);

  CHECK_THROWS_WITH_AS(welch(x, 256, 1024), "welch: nperseg (1024) is longer than the signal (512 samples)", Error);
  CHECK_THROWS_WITH_AS(welch(x, 256, 1), doctest::Contains("nperseg must be at least 2"), Error);
  CHECK_THROWS_WITH_AS(welch(x, 0, 128), doctest::Contains("sampling rate"), Error);

  Spectrum s = welch(x, 256, 32);  // 8 Hz bins: delta holds one bin
  CHECK_THROWS_WITH_AS(eeg_band_powers(s.frequencies, s.psd), doctest::Contains("need at least 2"), Error);
  CHECK_THROWS_WITH_AS(band_power(s.frequencies, {1.0}, 8, 30), doctest::Contains("frequencies but 1 PSD"), Error);
  CHECK_THROWS_WITH_AS(band_power(s.frequencies, s.psd, 30, 8), doctest::Contains("lo < hi"), Error);
  Spectrum flat{{0, 1, 2, 3}, {0, 0, 0, 0}};
  for (int f = 4; f <= 50; ++f) flat.frequencies.push_back(f), flat.psd.push_back(f < 13 ? 1.0 : 0.0);
  CHECK_THROWS_WITH_AS(theta_beta_ratio(flat.frequencies, flat.psd), doctest::Contains("beta power is 0"), Error);

  CHECK_THROWS_WITH_AS(zscore(x, 0, 0), doctest::Contains("standard deviation must be positive"), Error);
  CHECK_THROWS_WITH_AS(zscore(x, std::nan(""), 1), doctest::Contains("mean must be finite"), Error);
  CHECK_THROWS_WITH_AS(resample_poly(x, 0, 2), doctest::Contains("at least 1"), Error);
  CHECK_THROWS_WITH_AS(resample_poly(x, 1, 20011), doctest::Contains("limit of 10000"), Error);
}
