// EEG signal processing, one channel at a time (a caller loops over channels), float64 in and
// out. Each function gives the numbers of the scipy function it names (checked against scipy
// 1.10 in tests/datasets/test_signal.cpp, fixtures from scripts/make_signal_fixtures.py).
// Frequencies are in Hz, `fs` is the sampling rate in Hz. Bad arguments (order < 1, a
// frequency outside (0, fs/2), low >= high, empty or non-finite input, a signal too short for
// the padding) throw heed::Error saying what is wrong.
#pragma once
#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace heed::signal {

// One second-order section: {b0, b1, b2, a0, a1, a2} with a0 = 1, the transfer function
// (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2). A filter is the cascade of its sections.
using Section = std::array<double, 6>;
using Sos = std::vector<Section>;

// Digital Butterworth filters as scipy.signal.butter(order, ..., fs=fs, output='sos'): the
// analog prototype, pre-warped band edges, lp2lp / lp2hp / lp2bp, the bilinear transform, and
// scipy's overall gain in the first section. The transfer function equals scipy's; poles may be
// grouped into sections differently, which changes nothing but rounding. A bandpass filter of
// order N has N sections (2N poles); an odd-order lowpass or highpass ends with a first-order
// section (b2 = a2 = 0), as scipy's does.
Sos butter_lowpass_sos(int order, double cutoff_hz, double fs);
Sos butter_highpass_sos(int order, double cutoff_hz, double fs);
Sos butter_bandpass_sos(int order, double low_hz, double high_hz, double fs);

// scipy.signal.sosfilt(sos, x): the cascade in direct form II transposed, starting at rest.
std::vector<double> sosfilt(const Sos& sos, const std::vector<double>& x);

// scipy.signal.sosfiltfilt(sos, x) with its defaults: zero phase, forward then backward.
//  - x is extended at both ends by padlen = 3 * (2 * sections + 1 - min(sections with b2 == 0,
//    sections with a2 == 0)) samples of odd extension: 2 x[0] - x[padlen..1] on the left,
//    2 x[n-1] - x[n-2..n-1-padlen] on the right; x must be longer than padlen;
//  - each pass starts from sosfilt_zi (the steady state of a unit step) times the first value
//    it filters; the padding is cut off at the end.
std::vector<double> sosfiltfilt(const Sos& sos, const std::vector<double>& x);

// The default padlen of sosfiltfilt (above); x must have more samples than this.
int sosfiltfilt_padlen(const Sos& sos);

// scipy.signal.iirnotch(f0, Q, fs): a second-order notch at f0 Hz with quality factor Q
// (bandwidth f0 / Q at -3 dB). Returns (b, a), each of length 3, a[0] = 1.
std::pair<std::vector<double>, std::vector<double>> iirnotch(double f0_hz, double q, double fs);

// scipy.signal.filtfilt(b, a, x) with its defaults (padtype 'odd', padlen 3 * max(len(a),
// len(b)), initial conditions lfilter_zi scaled by the first value of each pass); b and a are
// normalised by a[0] != 0. x must be longer than padlen.
std::vector<double> filtfilt(const std::vector<double>& b, const std::vector<double>& a,
                             const std::vector<double>& x);

struct Spectrum {
  std::vector<double> frequencies;  // k * fs / nperseg, k = 0 .. nperseg / 2
  std::vector<double> psd;          // power spectral density, units of x squared per Hz
};

// scipy.signal.welch(x, fs, nperseg=nperseg) with its defaults: periodic Hann window,
// noverlap = nperseg / 2 (floor), segments that fit entirely ((n - noverlap) / step of them,
// step = nperseg - noverlap), each segment's mean removed before windowing, one-sided,
// density scaling |FFT|^2 / (fs * sum(w^2)) averaged over segments, doubled except at 0 Hz and
// (for even nperseg) the Nyquist bin. Unlike scipy, an nperseg longer than x is an error rather
// than a warning. The FFT is KISS FFT's, in double precision.
Spectrum welch(const std::vector<double>& x, double fs, int nperseg);

// scipy.signal.spectrogram(x, fs, nperseg=nperseg) with its defaults: periodic Tukey window
// (alpha 0.25), noverlap = nperseg / 8 (floor), each segment's mean removed, one-sided density
// scaling as welch, but one column per segment (not averaged). times are the segments' centres.
struct Spectrogram {
  std::vector<double> frequencies, times;
  std::vector<std::vector<double>> power;  // power[frequency][segment]
};
Spectrogram spectrogram(const std::vector<double>& x, double fs, int nperseg);

// The power in [lo_hz, hi_hz): numpy.trapz(psd[m], freqs[m]) over the bins m with
// lo_hz <= f < hi_hz, i.e. the trapezoid rule between the first and last bin in the band (the
// half-bins at the band's edges are not counted). At least two bins must fall in the band.
double band_power(const std::vector<double>& freqs, const std::vector<double>& psd, double lo_hz, double hi_hz);

// The EEG bands: delta [1, 4), theta [4, 8), alpha [8, 13), beta [13, 30), gamma [30, 45) Hz.
inline constexpr std::array<std::pair<const char*, std::array<double, 2>>, 5> kEegBands{{
    {"delta", {1, 4}}, {"theta", {4, 8}}, {"alpha", {8, 13}}, {"beta", {13, 30}}, {"gamma", {30, 45}}}};

// band_power over kEegBands, keyed by their names.
std::map<std::string, double> eeg_band_powers(const std::vector<double>& freqs, const std::vector<double>& psd);

// Theta power / beta power (bands as above); beta power must be positive.
double theta_beta_ratio(const std::vector<double>& freqs, const std::vector<double>& psd);

// (x - mean) / std with the statistics given, so that a training split's statistics can be
// applied to every split. std must be positive and finite.
std::vector<double> zscore(const std::vector<double>& x, double mean, double std);

// scipy.signal.resample_poly(x, up, down) with its defaults: up and down reduced by their gcd,
// a low-pass FIR h = firwin(2 * 10 * max(up, down) + 1, 1 / max(up, down), window=('kaiser',
// 5.0)) scaled by up, zero padding outside x, ceil(n * up / down) output samples, aligned as
// scipy aligns them.
std::vector<double> resample_poly(const std::vector<double>& x, int up, int down);

}  // namespace heed::signal
