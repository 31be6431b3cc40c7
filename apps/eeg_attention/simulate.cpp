#include "apps/eeg_attention/simulate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "apps/common/args.h"
#include "apps/common/files.h"
#include "apps/common/run_dir.h"
#include "datasets/dataset.h"
#include "tensor/error.h"

namespace heed::eeg {

namespace {

constexpr double pi = std::numbers::pi;
const std::vector<std::string> kChannels{"Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"};
// Spatial weights of each rhythm over kChannels.
constexpr double kAlphaWeight[] = {0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.8, 0.8, 1.0, 1.0};
constexpr double kThetaWeight[] = {0.7, 0.7, 1.0, 1.0, 0.7, 0.7, 0.4, 0.4, 0.3, 0.3};
constexpr double kBetaWeight[] = {0.4, 0.4, 0.6, 0.6, 1.0, 1.0, 0.6, 0.6, 0.4, 0.4};
constexpr double kBlinkWeight[] = {1.0, 1.0, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05, 0.02, 0.02};

class Noise {
 public:
  explicit Noise(uint64_t seed) : rng_(seed) {}
  double uniform() { return rng_.uniform(); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double gaussian() {  // Box-Muller
    const double u = 1 - uniform(), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * pi * v);
  }

 private:
  data::SplitMix64 rng_;
};

// Pink (1/f) noise by Paul Kellet's three-pole filter over white noise, scaled to `rms`.
std::vector<double> pink_noise(Noise& noise, size_t n, double rms) {
  std::vector<double> out(n);
  double b0 = 0, b1 = 0, b2 = 0, sum_sq = 0;
  for (size_t i = 0; i < n; ++i) {
    const double white = noise.gaussian();
    b0 = 0.99765 * b0 + white * 0.0990460;
    b1 = 0.96300 * b1 + white * 0.2965164;
    b2 = 0.57000 * b2 + white * 1.0526913;
    out[i] = b0 + b1 + b2 + white * 0.1848;
    sum_sq += out[i] * out[i];
  }
  const double scale = rms / std::sqrt(sum_sq / double(std::max<size_t>(n, 1)));
  for (double& x : out) x *= scale;
  return out;
}

// A rhythm around `hz` whose amplitude follows `level` (per sample), with slow random drift in
// frequency and amplitude.
std::vector<double> rhythm(Noise& noise, double hz, const std::vector<double>& level, double fs) {
  std::vector<double> out(level.size());
  double phase = noise.uniform(0, 2 * pi), drift = 0, wobble = 0;
  const double slow = std::exp(-1 / (0.5 * fs));  // ~0.5 s memory
  for (size_t i = 0; i < level.size(); ++i) {
    drift = slow * drift + (1 - slow) * noise.gaussian() * 8;
    wobble = slow * wobble + (1 - slow) * noise.gaussian() * 8;
    phase += 2 * pi * (hz + 0.3 * drift) / fs;
    out[i] = level[i] * (1 + 0.25 * wobble) * std::sin(phase);
  }
  return out;
}

}  // namespace

Recording simulate_recording(const SimulationOptions& options, int subject) {
  HEED_CHECK(options.minutes > 0 && options.minutes <= 600, "simulate: --minutes must be in (0, 600], got {}",
             options.minutes);
  HEED_CHECK(options.block_seconds >= 2 && options.sample_rate >= 64 && options.sample_rate <= 4096 &&
                 options.sample_rate == std::round(options.sample_rate),
             "simulate: --block must be >= 2 s and --sample-rate a whole number in [64, 4096] Hz");
  HEED_CHECK(subject >= 1, "simulate: subjects are numbered from 1");
  Noise noise(data::SplitMix64(options.seed * 1000003 + uint64_t(subject)).next());
  const double fs = options.sample_rate;
  const auto blocks = std::max<int64_t>(2, std::llround(options.minutes * 60 / options.block_seconds));
  const auto block_samples = size_t(std::llround(options.block_seconds * fs));
  const size_t n = size_t(blocks) * block_samples;

  // Blocks: as many of each state, in a random order.
  std::vector<int> states(static_cast<size_t>(blocks), 0);
  for (size_t b = 0; b < states.size(); ++b) states[b] = int(b % 2);
  for (size_t i = states.size(); i > 1; --i) std::swap(states[i - 1], states[size_t(noise.uniform() * double(i)) % i]);

  // This subject: gains, alpha peak, how much the states differ.
  const double gain = noise.uniform(0.6, 1.4), alpha_hz = noise.uniform(8.5, 11.5);
  const double alpha_base = noise.uniform(2, 5), alpha_ratio = noise.uniform(1.4, 2.2);
  const double theta_ratio = noise.uniform(1.1, 1.5), beta_ratio = noise.uniform(1.1, 1.5);
  std::vector<double> relaxed(n);  // 0 focused .. 1 relaxed, eased over ~1 s at block edges
  const double ease = std::exp(-1 / (0.3 * fs));
  double s = states[0];
  for (size_t i = 0; i < n; ++i) {
    s = ease * s + (1 - ease) * states[i / block_samples];
    relaxed[i] = s;
  }
  auto levels = [&](double focused_uv, double relaxed_uv) {
    std::vector<double> level(n);
    for (size_t i = 0; i < n; ++i) level[i] = gain * (focused_uv + (relaxed_uv - focused_uv) * relaxed[i]);
    return level;
  };
  const std::vector<double> alpha = rhythm(noise, alpha_hz, levels(alpha_base, alpha_base * alpha_ratio), fs);
  const std::vector<double> theta = rhythm(noise, 6, levels(3, 3 * theta_ratio), fs);
  const std::vector<double> beta = rhythm(noise, 20, levels(4, 4 / beta_ratio), fs);
  const std::vector<double> shared = pink_noise(noise, n, 6 * gain);

  std::vector<double> blinks(n, 0.0);
  for (double t = noise.uniform(0, 4); t < double(n) / fs; t += noise.uniform(1.5, 6.5)) {
    const double amplitude = noise.uniform(60, 140), width = noise.uniform(0.2, 0.4) * fs;
    for (size_t k = 0; k < size_t(width) && size_t(t * fs) + k < n; ++k)
      blinks[size_t(t * fs) + k] += amplitude * std::sin(pi * double(k) / width);
  }

  Recording r;
  r.channels = kChannels;
  r.units.assign(kChannels.size(), "uV");
  r.sample_rate = fs;
  r.patient = fmt::format("sim-{:02d} simulated", subject);
  for (size_t c = 0; c < kChannels.size(); ++c) {
    std::vector<double> x = pink_noise(noise, n, 5 * gain);
    const double line = noise.uniform(1, 4), line_phase = noise.uniform(0, 2 * pi);
    for (size_t i = 0; i < n; ++i)
      x[i] += 0.7 * shared[i] + kAlphaWeight[c] * alpha[i] + kThetaWeight[c] * theta[i] + kBetaWeight[c] * beta[i] +
              kBlinkWeight[c] * blinks[i] + line * std::sin(2 * pi * options.line_hz * double(i) / fs + line_phase);
    r.data.push_back(std::move(x));
  }
  for (size_t b = 0; b < states.size(); ++b)
    r.annotations.push_back({double(b) * options.block_seconds, options.block_seconds,
                             states[b] ? "relaxed" : "focused"});
  return r;
}

int simulate_command(int argc, const char* const* argv) {
  apps::Args args("heed-eeg simulate",
                  "Writes SIMULATED EEG recordings (EDF+) of a two-state attention task, focused vs relaxed, "
                  "one file per simulated subject, with the state blocks as annotations.");
  args.option("out", "DIR", "", "folder to create for the recordings", true);
  args.option("subjects", "N", "8", "simulated subjects (one EDF+ file each)");
  args.option("minutes", "X", "4", "minutes per subject");
  args.option("block", "SECONDS", "20", "length of one focused or relaxed block");
  args.option("sample-rate", "HZ", "256", "sampling rate");
  args.option("line", "HZ", "50", "line-noise frequency (50 or 60)");
  args.option("seed", "N", "0", "seed");
  if (!args.parse(argc, argv, 2)) return 0;
  const std::filesystem::path out = args.get("out");
  const int64_t subjects = args.get_int("subjects");
  HEED_CHECK(subjects >= 1 && subjects <= 999, "simulate: --subjects must be in [1, 999], got {}", subjects);
  const SimulationOptions options{args.get_double("minutes"), args.get_double("block"), args.get_double("sample-rate"),
                                  args.get_double("line"), uint64_t(args.get_int("seed"))};
  HEED_CHECK(options.line_hz > 0 && options.line_hz < options.sample_rate / 2,
             "simulate: --line must be below half the sample rate");
  apps::require_new_run_dir(out, "simulate");
  std::filesystem::create_directories(out);
  for (int s = 1; s <= int(subjects); ++s) {
    const auto file = out / fmt::format("sim-{:02d}.edf", s);
    write_edf(file, simulate_recording(options, s));
    fmt::print(stderr, "wrote {}\n", file.string());
  }
  apps::write_file_atomic(
      out / "README.txt",
      fmt::format("SIMULATED EEG, written by `heed-eeg simulate` (seed {}): {} subject(s), {} min each, {} Hz, "
                  "10 channels (Fp1 Fp2 F3 F4 C3 C4 P3 P4 O1 O2, uV).\nNot recordings of people. Blocks of {} s "
                  "annotated 'focused' or 'relaxed': relaxed blocks have stronger alpha and a higher theta/beta "
                  "ratio; 1/f background, eye blinks and {} Hz line noise throughout.\n",
                  options.seed, subjects, options.minutes, options.sample_rate, options.block_seconds, options.line_hz));
  fmt::print("{} simulated recording(s) in {} (see README.txt there)\n", subjects, out.string());
  return 0;
}

}  // namespace heed::eeg
