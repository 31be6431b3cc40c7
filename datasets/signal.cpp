#include "datasets/signal.h"

#include <kissfft/kissfft.hh>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <numeric>

#include "tensor/error.h"

namespace heed::signal {
namespace {

using cplx = std::complex<double>;
constexpr double pi = std::numbers::pi;

void check_signal(const std::vector<double>& x, const char* op) {
  HEED_CHECK(!x.empty(), "{}: the signal is empty", op);
  for (size_t i = 0; i < x.size(); ++i)
    HEED_CHECK(std::isfinite(x[i]), "{}: sample {} is not finite ({})", op, i, x[i]);
}

void check_rate(double fs, const char* op) {
  HEED_CHECK(std::isfinite(fs) && fs > 0, "{}: the sampling rate must be positive and finite, got {}", op, fs);
}

void check_frequency(double f, double fs, const char* what, const char* op) {
  HEED_CHECK(std::isfinite(f) && f > 0 && f < fs / 2,
             "{}: {} must lie in (0, fs/2) = (0, {}) Hz, got {}", op, what, fs / 2, f);
}

void check_sos(const Sos& sos, const char* op) {
  HEED_CHECK(!sos.empty(), "{}: the filter has no sections", op);
  for (size_t s = 0; s < sos.size(); ++s) {
    for (double c : sos[s]) HEED_CHECK(std::isfinite(c), "{}: section {} has a non-finite coefficient", op, s);
    HEED_CHECK(sos[s][3] == 1.0, "{}: section {} must have a0 = 1, got {}", op, s, sos[s][3]);
  }
}

// ---- Butterworth design ----

enum class BandType { Lowpass, Highpass, Bandpass };

// Analog or digital poles that make one section: a conjugate pair, two real poles, or one real.
using PoleGroup = std::vector<cplx>;

// scipy.signal.buttap: poles -exp(i pi m / (2N)), m = -N+1, -N+3, ..., N-1, on the unit circle.
std::vector<PoleGroup> butter_prototype(int order) {
  std::vector<PoleGroup> groups;
  for (int m = -order + 1; m < 0; m += 2) {
    cplx p = -std::exp(cplx(0, pi * m / (2.0 * order)));
    groups.push_back({p, std::conj(p)});
  }
  if (order % 2) groups.push_back({cplx(-1, 0)});
  return groups;
}

// Pre-warping as scipy does it for the bilinear transform at fs = 2: 4 tan(pi f / fs).
double warp(double f, double fs) { return 4 * std::tan(pi * f / fs); }

Sos butter(int order, BandType type, double low, double high, double fs) {
  const char* op = "butter";
  HEED_CHECK(order >= 1 && order <= 100, "{}: order must be in [1, 100], got {}", op, order);
  check_rate(fs, op);
  std::vector<PoleGroup> groups = butter_prototype(order);
  double k = 1;
  if (type == BandType::Lowpass) {  // lp2lp_zpk: p * wo, k * wo^N
    check_frequency(low, fs, "the cutoff", op);
    double wo = warp(low, fs);
    for (auto& g : groups)
      for (auto& p : g) p *= wo;
    k = std::pow(wo, order);
  } else if (type == BandType::Highpass) {  // lp2hp_zpk: wo / p, k * real(1 / prod(-p)), N zeros at 0
    check_frequency(low, fs, "the cutoff", op);
    double wo = warp(low, fs);
    cplx prod = 1;
    for (auto& g : groups)
      for (auto& p : g) {
        prod *= -p;
        p = wo / p;
      }
    k = (1.0 / prod).real();
  } else {  // lp2bp_zpk: each pole p -> p bw/2 ± sqrt((p bw/2)^2 - wo^2), k * bw^N, N zeros at 0
    check_frequency(low, fs, "the low cutoff", op);
    check_frequency(high, fs, "the high cutoff", op);
    HEED_CHECK(low < high, "{}: the low cutoff ({}) must be below the high cutoff ({})", op, low, high);
    double w1 = warp(low, fs), w2 = warp(high, fs), bw = w2 - w1, wo = std::sqrt(w1 * w2);
    auto roots = [&](cplx p) {
      cplx lp = p * bw / 2.0, d = std::sqrt(lp * lp - wo * wo);
      return std::pair{lp + d, lp - d};
    };
    std::vector<PoleGroup> bandpass;
    for (const auto& g : groups) {
      auto [r1, r2] = roots(g[0]);
      if (g.size() == 2) {  // a conjugate pair gives two conjugate pairs
        bandpass.push_back({r1, std::conj(r1)});
        bandpass.push_back({r2, std::conj(r2)});
      } else {  // the real pole gives a conjugate pair or two real poles
        bandpass.push_back({r1, r2});
      }
    }
    groups = std::move(bandpass);
    k = std::pow(bw, order);
  }
  // bilinear_zpk at fs = 2: s -> (4 + s) / (4 - s), k * real(prod(4 - z) / prod(4 - p)).
  cplx prod_poles = 1;
  for (auto& g : groups)
    for (auto& p : g) {
      prod_poles *= 4.0 - p;
      p = (4.0 + p) / (4.0 - p);
    }
  double analog_zeros = type == BandType::Lowpass ? 0 : order;  // all at s = 0
  k *= (std::pow(4.0, analog_zeros) / prod_poles).real();

  // Digital zeros: lowpass all at -1, highpass all at +1, bandpass N at +1 and N at -1.
  Sos sos;
  for (const auto& g : groups) {
    Section s{};
    if (g.size() == 2) {
      if (type == BandType::Lowpass) s = {1, 2, 1};
      else if (type == BandType::Highpass) s = {1, -2, 1};
      else s = {1, 0, -1};
      s[4] = -(g[0] + g[1]).real();
      s[5] = (g[0] * g[1]).real();
    } else {
      s = {1, type == BandType::Lowpass ? 1.0 : -1.0, 0};
      s[4] = -g[0].real();
    }
    s[3] = 1;
    sos.push_back(s);
  }
  for (int i = 0; i < 3; ++i) sos[0][i] *= k;
  return sos;
}

// ---- Filtering ----

// lfilter_zi: the state of a direct form II transposed filter (a[0] = 1, b and a of equal
// length n) at rest under a unit step, by scipy's explicit formulas.
std::vector<double> lfilter_zi(const std::vector<double>& b, const std::vector<double>& a, const char* op) {
  size_t n = a.size();
  if (n == 1) return {};
  double a_sum = std::accumulate(a.begin(), a.end(), 0.0), b_terms = 0;
  for (size_t i = 1; i < n; ++i) b_terms += b[i] - a[i] * b[0];
  HEED_CHECK(a_sum != 0, "{}: the filter has a pole at z = 1 (sum of a is 0), it has no steady state", op);
  std::vector<double> zi(n - 1);
  zi[0] = b_terms / a_sum;
  double a_acc = 1, c_acc = 0;
  for (size_t i = 1; i + 1 < n; ++i) {
    a_acc += a[i];
    c_acc += b[i] - a[i] * b[0];
    zi[i] = a_acc * zi[0] - c_acc;
  }
  return zi;
}

// Direct form II transposed with a[0] = 1, state z (length n - 1) updated in place.
std::vector<double> lfilter(const std::vector<double>& b, const std::vector<double>& a, const std::vector<double>& x,
                            std::vector<double>& z) {
  size_t n = a.size();
  std::vector<double> y(x.size());
  for (size_t t = 0; t < x.size(); ++t) {
    double xt = x[t], yt = b[0] * xt + (n > 1 ? z[0] : 0.0);
    for (size_t i = 0; i + 2 < n; ++i) z[i] = b[i + 1] * xt - a[i + 1] * yt + z[i + 1];
    if (n > 1) z[n - 2] = b[n - 1] * xt - a[n - 1] * yt;
    y[t] = yt;
  }
  return y;
}

// The cascade with per-section state z[s] = {z0, z1}.
std::vector<double> sosfilt_with_state(const Sos& sos, std::vector<double> x, std::vector<std::array<double, 2>>& z) {
  for (size_t s = 0; s < sos.size(); ++s) {
    const Section& c = sos[s];
    double z0 = z[s][0], z1 = z[s][1];
    for (double& v : x) {
      double y = c[0] * v + z0;
      z0 = c[1] * v - c[4] * y + z1;
      z1 = c[2] * v - c[5] * y;
      v = y;
    }
  }
  return x;
}

// scipy.signal.sosfilt_zi: each section's lfilter_zi, scaled by the DC gain of the sections
// before it.
std::vector<std::array<double, 2>> sosfilt_zi(const Sos& sos) {
  std::vector<std::array<double, 2>> zi;
  double scale = 1;
  for (const Section& s : sos) {
    std::vector<double> b{s[0], s[1], s[2]}, a{s[3], s[4], s[5]};
    auto z = lfilter_zi(b, a, "sosfiltfilt");
    zi.push_back({scale * z[0], scale * z[1]});
    scale *= (b[0] + b[1] + b[2]) / (a[0] + a[1] + a[2]);
  }
  return zi;
}

// Odd extension by n samples at each end (scipy's odd_ext).
std::vector<double> odd_extend(const std::vector<double>& x, size_t n) {
  std::vector<double> ext;
  ext.reserve(x.size() + 2 * n);
  for (size_t i = n; i >= 1; --i) ext.push_back(2 * x.front() - x[i]);
  ext.insert(ext.end(), x.begin(), x.end());
  size_t last = x.size() - 1;
  for (size_t i = 1; i <= n; ++i) ext.push_back(2 * x.back() - x[last - i]);
  return ext;
}

// Forward-backward filtering with odd padding: run(v) filters v from the steady state for a
// constant input v[0].
template <class Run>
std::vector<double> forward_backward(const std::vector<double>& x, size_t padlen, const char* op, Run run) {
  check_signal(x, op);
  HEED_CHECK(x.size() > padlen, "{}: the signal must be longer than padlen = {} samples (at least {}), got {}", op,
             padlen, padlen + 1, x.size());
  std::vector<double> y = run(odd_extend(x, padlen));
  std::reverse(y.begin(), y.end());
  y = run(y);
  std::reverse(y.begin(), y.end());
  return {y.begin() + static_cast<std::ptrdiff_t>(padlen), y.end() - static_cast<std::ptrdiff_t>(padlen)};
}

// ---- Spectra ----

double band_power_checked(const std::vector<double>& freqs, const std::vector<double>& psd, double lo, double hi) {
  double power = 0, prev_f = 0, prev_p = 0;
  int bins = 0;
  for (size_t i = 0; i < freqs.size(); ++i) {
    if (!(freqs[i] >= lo && freqs[i] < hi)) continue;
    if (bins++ > 0) power += (freqs[i] - prev_f) * (psd[i] + prev_p) / 2;
    prev_f = freqs[i];
    prev_p = psd[i];
  }
  HEED_CHECK(bins >= 2, "band_power: {} frequency bin(s) in [{}, {}) Hz, need at least 2 (use a longer nperseg)", bins,
             lo, hi);
  return power;
}

void check_spectrum(const std::vector<double>& freqs, const std::vector<double>& psd) {
  HEED_CHECK(freqs.size() == psd.size(), "band_power: {} frequencies but {} PSD values", freqs.size(), psd.size());
  check_signal(freqs, "band_power (frequencies)");
  check_signal(psd, "band_power (psd)");
}

// The zeroth-order modified Bessel function of the first kind, by its power series.
double bessel_i0(double x) {
  double sum = 1, term = 1, q = x * x / 4;
  for (int k = 1; term > 1e-17 * sum; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
  }
  return sum;
}

}  // namespace

Sos butter_lowpass_sos(int order, double cutoff_hz, double fs) {
  return butter(order, BandType::Lowpass, cutoff_hz, 0, fs);
}

Sos butter_highpass_sos(int order, double cutoff_hz, double fs) {
  return butter(order, BandType::Highpass, cutoff_hz, 0, fs);
}

Sos butter_bandpass_sos(int order, double low_hz, double high_hz, double fs) {
  return butter(order, BandType::Bandpass, low_hz, high_hz, fs);
}

std::vector<double> sosfilt(const Sos& sos, const std::vector<double>& x) {
  check_sos(sos, "sosfilt");
  check_signal(x, "sosfilt");
  std::vector<std::array<double, 2>> z(sos.size(), {0, 0});
  return sosfilt_with_state(sos, x, z);
}

int sosfiltfilt_padlen(const Sos& sos) {
  check_sos(sos, "sosfiltfilt");
  auto b2_zero = std::count_if(sos.begin(), sos.end(), [](const Section& s) { return s[2] == 0; });
  auto a2_zero = std::count_if(sos.begin(), sos.end(), [](const Section& s) { return s[5] == 0; });
  return 3 * static_cast<int>(2 * std::ssize(sos) + 1 - std::min(b2_zero, a2_zero));
}

std::vector<double> sosfiltfilt(const Sos& sos, const std::vector<double>& x) {
  size_t padlen = static_cast<size_t>(sosfiltfilt_padlen(sos));
  auto zi = sosfilt_zi(sos);
  return forward_backward(x, padlen, "sosfiltfilt", [&](const std::vector<double>& v) {
    auto z = zi;
    for (auto& s : z) s[0] *= v[0], s[1] *= v[0];
    return sosfilt_with_state(sos, v, z);
  });
}

std::pair<std::vector<double>, std::vector<double>> iirnotch(double f0_hz, double q, double fs) {
  const char* op = "iirnotch";
  check_rate(fs, op);
  check_frequency(f0_hz, fs, "the notch frequency", op);
  HEED_CHECK(std::isfinite(q) && q > 0, "{}: the quality factor Q must be positive and finite, got {}", op, q);
  // scipy's _design_notch_peak_filter with gain 1/sqrt(2) at the band edges.
  double w0 = 2 * f0_hz / fs, bw = w0 / q * pi;
  w0 *= pi;
  double gb = 1 / std::sqrt(2.0);
  double beta = std::sqrt(1.0 - gb * gb) / gb * std::tan(bw / 2);
  double gain = 1 / (1 + beta);
  return {{gain, -2 * gain * std::cos(w0), gain}, {1, -2 * gain * std::cos(w0), 2 * gain - 1}};
}

std::vector<double> filtfilt(const std::vector<double>& b, const std::vector<double>& a, const std::vector<double>& x) {
  const char* op = "filtfilt";
  HEED_CHECK(!b.empty() && !a.empty(), "{}: b and a must be non-empty (got {} and {} coefficients)", op, b.size(),
             a.size());
  check_signal(b, "filtfilt (b)");
  check_signal(a, "filtfilt (a)");
  HEED_CHECK(a[0] != 0, "{}: a[0] must not be 0", op);
  size_t n = std::max(a.size(), b.size());
  std::vector<double> bn(n, 0.0), an(n, 0.0);
  for (size_t i = 0; i < b.size(); ++i) bn[i] = b[i] / a[0];
  for (size_t i = 0; i < a.size(); ++i) an[i] = a[i] / a[0];
  auto zi = lfilter_zi(bn, an, op);
  return forward_backward(x, 3 * n, op, [&](const std::vector<double>& v) {
    auto z = zi;
    for (double& s : z) s *= v[0];
    return lfilter(bn, an, v, z);
  });
}

namespace {

// One-sided density spectra of the segments x[s*step, s*step + n) that fit, each segment's mean
// removed and multiplied by the window: |FFT|^2 / (fs * sum(w^2)), doubled except at DC and the
// even Nyquist bin.
struct SegmentSpectra {
  std::vector<double> frequencies;
  std::vector<std::vector<double>> columns;  // [segment][frequency]
};

SegmentSpectra segment_spectra(const std::vector<double>& x, double fs, const std::vector<double>& window, size_t step) {
  const size_t n = window.size(), bins = n / 2 + 1, segments = (x.size() - (n - step)) / step;
  double window_power = 0;
  for (double w : window) window_power += w * w;
  const double scale = 1 / (fs * window_power);
  kissfft<double> fft(n, false);
  std::vector<cplx> in(n), out(n);
  SegmentSpectra result{std::vector<double>(bins), std::vector<std::vector<double>>(segments, std::vector<double>(bins))};
  for (size_t k = 0; k < bins; ++k) result.frequencies[k] = static_cast<double>(k) * fs / static_cast<double>(n);
  for (size_t s = 0; s < segments; ++s) {
    const double* seg = x.data() + s * step;
    double mean = std::accumulate(seg, seg + n, 0.0) / static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) in[i] = (seg[i] - mean) * window[i];
    fft.transform(in.data(), out.data());
    for (size_t k = 0; k < bins; ++k) {
      bool unpaired = k == 0 || (n % 2 == 0 && k == bins - 1);
      result.columns[s][k] = std::norm(out[k]) * (unpaired ? scale : 2 * scale);
    }
  }
  return result;
}

}  // namespace

Spectrum welch(const std::vector<double>& x, double fs, int nperseg) {
  const char* op = "welch";
  check_signal(x, op);
  check_rate(fs, op);
  HEED_CHECK(nperseg >= 2, "{}: nperseg must be at least 2, got {}", op, nperseg);
  size_t n = static_cast<size_t>(nperseg);
  HEED_CHECK(n <= x.size(), "{}: nperseg ({}) is longer than the signal ({} samples)", op, nperseg, x.size());
  std::vector<double> window(n);
  for (size_t i = 0; i < n; ++i)
    window[i] = 0.5 - 0.5 * std::cos(2 * pi * static_cast<double>(i) / static_cast<double>(n));
  SegmentSpectra spectra = segment_spectra(x, fs, window, n - n / 2);
  Spectrum result{spectra.frequencies, std::vector<double>(spectra.frequencies.size(), 0.0)};
  for (const auto& column : spectra.columns)
    for (size_t k = 0; k < column.size(); ++k) result.psd[k] += column[k] / static_cast<double>(spectra.columns.size());
  return result;
}

Spectrogram spectrogram(const std::vector<double>& x, double fs, int nperseg) {
  const char* op = "spectrogram";
  check_signal(x, op);
  check_rate(fs, op);
  HEED_CHECK(nperseg >= 2, "{}: nperseg must be at least 2, got {}", op, nperseg);
  size_t n = static_cast<size_t>(nperseg);
  HEED_CHECK(n <= x.size(), "{}: nperseg ({}) is longer than the signal ({} samples)", op, nperseg, x.size());
  // Periodic Tukey(alpha = 0.25): scipy's symmetric window of n + 1 points without its last.
  const double alpha = 0.25, m = static_cast<double>(n);  // m = (n + 1) - 1
  const auto width = static_cast<size_t>(std::floor(alpha * m / 2));
  std::vector<double> window(n, 1.0);
  for (size_t i = 0; i < n; ++i) {
    double t = static_cast<double>(i);
    if (i <= width) window[i] = 0.5 * (1 + std::cos(pi * (-1 + 2 * t / alpha / m)));
    else if (i >= n - width) window[i] = 0.5 * (1 + std::cos(pi * (-2 / alpha + 1 + 2 * t / alpha / m)));
  }
  const size_t step = n - n / 8;
  SegmentSpectra spectra = segment_spectra(x, fs, window, step);
  Spectrogram result{spectra.frequencies, {}, std::vector<std::vector<double>>(spectra.frequencies.size())};
  for (size_t s = 0; s < spectra.columns.size(); ++s) {
    result.times.push_back((static_cast<double>(s * step) + m / 2) / fs);
    for (size_t k = 0; k < spectra.frequencies.size(); ++k) result.power[k].push_back(spectra.columns[s][k]);
  }
  return result;
}

double band_power(const std::vector<double>& freqs, const std::vector<double>& psd, double lo_hz, double hi_hz) {
  check_spectrum(freqs, psd);
  HEED_CHECK(std::isfinite(lo_hz) && std::isfinite(hi_hz) && lo_hz < hi_hz,
             "band_power: the band [{}, {}) Hz must be finite with lo < hi", lo_hz, hi_hz);
  return band_power_checked(freqs, psd, lo_hz, hi_hz);
}

std::map<std::string, double> eeg_band_powers(const std::vector<double>& freqs, const std::vector<double>& psd) {
  check_spectrum(freqs, psd);
  std::map<std::string, double> powers;
  for (const auto& [name, band] : kEegBands) powers[name] = band_power_checked(freqs, psd, band[0], band[1]);
  return powers;
}

double theta_beta_ratio(const std::vector<double>& freqs, const std::vector<double>& psd) {
  auto powers = eeg_band_powers(freqs, psd);
  HEED_CHECK(powers["beta"] > 0, "theta_beta_ratio: the beta power is {}, the ratio is undefined", powers["beta"]);
  return powers["theta"] / powers["beta"];
}

std::vector<double> zscore(const std::vector<double>& x, double mean, double std) {
  check_signal(x, "zscore");
  HEED_CHECK(std::isfinite(mean), "zscore: the mean must be finite, got {}", mean);
  HEED_CHECK(std::isfinite(std) && std > 0, "zscore: the standard deviation must be positive and finite, got {}", std);
  std::vector<double> z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = (x[i] - mean) / std;
  return z;
}

std::vector<double> resample_poly(const std::vector<double>& x, int up, int down) {
  const char* op = "resample_poly";
  check_signal(x, op);
  HEED_CHECK(up >= 1 && down >= 1, "{}: up and down must be at least 1, got {} and {}", op, up, down);
  int g = std::gcd(up, down);
  up /= g;
  down /= g;
  HEED_CHECK(std::max(up, down) <= 10000, "{}: up / down reduce to {} / {}, above the limit of 10000", op, up, down);
  if (up == 1 && down == 1) return x;

  // firwin(2 half_len + 1, 1 / max_rate, window=('kaiser', 5.0)): a windowed sinc, unit DC gain.
  int64_t max_rate = std::max(up, down), half_len = 10 * max_rate, taps = 2 * half_len + 1;
  double cutoff = 1.0 / static_cast<double>(max_rate), sum = 0;
  std::vector<double> h(static_cast<size_t>(taps));
  for (int64_t i = 0; i < taps; ++i) {
    double m = static_cast<double>(i - half_len), arg = pi * cutoff * m, r = m / static_cast<double>(half_len);
    double sinc = m == 0 ? 1.0 : std::sin(arg) / arg;
    h[static_cast<size_t>(i)] = cutoff * sinc * bessel_i0(5.0 * std::sqrt(1 - r * r)) / bessel_i0(5.0);
    sum += h[static_cast<size_t>(i)];
  }
  for (double& v : h) v *= static_cast<double>(up) / sum;

  // upfirdn: y[m] = sum_i h[i] xu[m down - pre_pad - i], xu being x with up - 1 zeros after
  // each sample; scipy keeps m in [pre_remove, pre_remove + n_out).
  int64_t n_in = static_cast<int64_t>(x.size()), n_out = (n_in * up + down - 1) / down;
  int64_t pre_pad = down - half_len % down, pre_remove = (half_len + pre_pad) / down;
  std::vector<double> y(static_cast<size_t>(n_out));
  for (int64_t j = 0; j < n_out; ++j) {
    int64_t c = (pre_remove + j) * down - pre_pad;
    double acc = 0;
    for (int64_t i = c % up; i < taps && i <= c; i += up) {
      int64_t sample = (c - i) / up;
      if (sample < n_in) acc += h[static_cast<size_t>(i)] * x[static_cast<size_t>(sample)];
    }
    y[static_cast<size_t>(j)] = acc;
  }
  return y;
}

}  // namespace heed::signal
