#!/usr/bin/python3
# Writes tests/fixtures/signal.safetensors: scipy.signal's outputs for heed's EEG signal
# processing (datasets/signal.h), read back by tests/datasets/test_signal.cpp. Run with Debian's
# python3 (numpy + scipy):
#   /usr/bin/python3 scripts/make_signal_fixtures.py
#
# Two deterministic signals (noise + alpha/theta/beta sinusoids + 50 Hz line noise + offset):
#   x0 (256 Hz, 4 s, 1024 samples), x1 (250 Hz, 3 s, 750 samples). All tensors F64.
#   <filter>.sos                  scipy.signal.butter(..., output='sos'), for reference
#   <filter>.sosfilt.<x>          sosfilt(scipy's sos, x)
#   <filter>.sosfiltfilt.<x>      sosfiltfilt(scipy's sos, x)
#   <filter>.padlen               sosfiltfilt's default padlen for that sos
#   notch<F>.b / .a / .filtfilt.<x>   iirnotch(F, 30, fs) and filtfilt(b, a, x)
#   welch<N>.<x>.f / .psd         welch(x, fs, nperseg=N)
#   spectrogram<N>.<x>.f / .t / .power  spectrogram(x, fs, nperseg=N), power row-major [f][t]
#   welch<N>.<x>.bands            trapz of the PSD over delta, theta, alpha, beta, gamma ([lo, hi) bins)
#   zscore.<x>                    (x - mean) / std with the parameters stored in zscore.<x>.stats
#   resample<U>_<D>.<x>           resample_poly(x, U, D)
import os

import numpy as np
import scipy
import scipy.signal as ss
from safetensors_writer import write_safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = np.random.default_rng(8)


def eeg_like(fs, seconds):
    t = np.arange(int(fs * seconds)) / fs
    return (3.0 * rng.standard_normal(t.size) + 12.0 * np.sin(2 * np.pi * 10.0 * t + 0.3)
            + 5.0 * np.sin(2 * np.pi * 6.0 * t) + 2.0 * np.sin(2 * np.pi * 21.0 * t + 1.0)
            + 8.0 * np.sin(2 * np.pi * 50.0 * t) + 40.0)


signals = {"x0": (256.0, eeg_like(256.0, 4.0)), "x1": (250.0, eeg_like(250.0, 3.0))}
tensors = [(name, x) for name, (fs, x) in signals.items()]


def padlen(sos):
    ntaps = 2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum())
    return 3 * ntaps


# Filters are designed at each signal's own rate; the names say order, type and band.
FILTERS = {
    "bandpass4_1_40": (4, [1.0, 40.0], "bandpass"),
    "bandpass3_8_13": (3, [8.0, 13.0], "bandpass"),
    "lowpass5_30": (5, 30.0, "lowpass"),
    "highpass2_0p5": (2, 0.5, "highpass"),
}
for fname, (order, band, btype) in FILTERS.items():
    for name, (fs, x) in signals.items():
        sos = ss.butter(order, band, btype=btype, fs=fs, output="sos")
        key = f"{fname}.{name}"
        tensors += [(f"{key}.sos", sos), (f"{key}.padlen", np.array([float(padlen(sos))])),
                    (f"{key}.sosfilt", ss.sosfilt(sos, x)), (f"{key}.sosfiltfilt", ss.sosfiltfilt(sos, x))]

for f0 in (50.0, 60.0):
    for name, (fs, x) in signals.items():
        b, a = ss.iirnotch(f0, 30.0, fs)
        key = f"notch{int(f0)}.{name}"
        tensors += [(f"{key}.b", b), (f"{key}.a", a), (f"{key}.filtfilt", ss.filtfilt(b, a, x))]

BANDS = [(1, 4), (4, 8), (8, 13), (13, 30), (30, 45)]
for nperseg in (256, 200, 125):
    for name, (fs, x) in signals.items():
        f, psd = ss.welch(x, fs, nperseg=nperseg)
        bands = []
        for lo, hi in BANDS:
            m = (f >= lo) & (f < hi)
            bands.append(np.trapz(psd[m], f[m]))
        key = f"welch{nperseg}.{name}"
        tensors += [(f"{key}.f", f), (f"{key}.psd", psd), (f"{key}.bands", np.array(bands))]

for nperseg in (128, 100):
    for name, (fs, x) in signals.items():
        f, t, sxx = ss.spectrogram(x, fs, nperseg=nperseg)
        key = f"spectrogram{nperseg}.{name}"
        tensors += [(f"{key}.f", f), (f"{key}.t", t), (f"{key}.power", sxx.reshape(-1))]

for name, (fs, x) in signals.items():
    stats = np.array([x[: x.size // 2].mean(), x[: x.size // 2].std()])  # "training split" statistics
    tensors += [(f"zscore.{name}.stats", stats), (f"zscore.{name}", (x - stats[0]) / stats[1])]
    for up, down in ((1, 2), (128, 125), (3, 2)):
        tensors.append((f"resample{up}_{down}.{name}", ss.resample_poly(x, up, down)))

write_safetensors(os.path.join(ROOT, "tests", "fixtures", "signal.safetensors"), tensors,
                  {"scipy": scipy.__version__, "numpy": np.__version__, "script": "scripts/make_signal_fixtures.py"})
