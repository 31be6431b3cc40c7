#!/usr/bin/python3
# Writes the EEG file fixtures read back by tests/datasets/test_eeg_io.cpp. Run with Debian's
# python3 (numpy, scipy, MNE 1.3):
#   /usr/bin/python3 scripts/make_eeg_fixtures.py [EEG_DATA]   (EEG_DATA: default data/eeg)
#
# (a) tests/fixtures/eeg/: small files whose header bytes are written here by hand
#     two_rates.edf       EDF, "Fz" at 128 Hz and "Cz" at 96 Hz (4 records of 1 s)
#     annotations.edf     EDF+C, 2 channels at 64 Hz (uV, mV), 5 records, 4 annotations
#     discontinuous.edf   EDF+D, 1 channel at 32 Hz, records at 0, 1 and 3 s (a 1 s gap)
#     bdf24.bdf           BDF, 2 channels of 24-bit samples at 128 Hz, 3 records
# (b) tests/fixtures/eeg_files.json: what MNE reads from each (and from the real files fetched
#     by scripts/fetch-eeg-data, when EEG_DATA holds them): rate, labels, units, n_samples,
#     samples [0, 16) and [n/2, n/2 + 16) per channel in the file's units, each channel's
#     digital step, annotations. Channels at a lower rate than the file's highest are stored
#     as scipy.signal.resample_poly of their own samples (what heed does; MNE resamples them
#     with an FFT per record), and n_samples is the highest-rate channel's.
import json
import math
import os
import sys

import mne
import numpy as np
import scipy.signal as ss

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "eeg")
EEG_DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "data", "eeg")
REAL = ["motor-imagery/sample.edf", "physionet/S001R01.edf", "edfjs/sample.edf", "edfjs/edfp-sample.edf"]
SLICE = 16
rng = np.random.default_rng(8)


def field(value, width):
    text = str(value).encode("ascii")
    assert len(text) <= width, (value, width)
    return text.ljust(width)


def tal(onset, duration=None, labels=()):
    text = ("+" if onset >= 0 else "") + format(onset, "g")
    if duration is not None:
        text += "\x15" + format(duration, "g")
    text += "\x14" + ("".join(lab + "\x14" for lab in labels) if labels else "\x14")  # "+0\x14\x14": a record's time
    return (text + "\x00").encode("utf-8")


def write_edf(path, signals, n_records, record_seconds, reserved="", bdf=False, record_tals=None,
              annot_bytes=0):
    """signals: dicts with label, unit, pmin, pmax, dmin, dmax, spr, digital (n_records * spr ints).
    record_tals: per record, the bytes of its annotation signal (padded to annot_bytes)."""
    width = 3 if bdf else 2
    rows = [dict(s) for s in signals]
    if record_tals is not None:
        label = "BDF Annotations" if bdf else "EDF Annotations"
        rows.append({"label": label, "unit": "", "pmin": -1, "pmax": 1, "dmin": -8388608 if bdf else -32768,
                     "dmax": 8388607 if bdf else 32767, "spr": annot_bytes // width})
    ns = len(rows)
    head = (b"\xffBIOSEMI" if bdf else field("0", 8)) + field("X X X X" if reserved else "heed fixture", 80)
    head += field("Startdate 01-JAN-2020 X X heed" if reserved else "heed test recording", 80)
    head += field("01.01.20", 8) + field("10.00.00", 8) + field(256 * (ns + 1), 8)
    head += field("24BIT" if bdf and not reserved else reserved, 44)
    head += field(n_records, 8) + field(record_seconds, 8) + field(ns, 4)
    for key, width_ in (("label", 16), ("transducer", 80), ("unit", 8), ("pmin", 8), ("pmax", 8), ("dmin", 8),
                        ("dmax", 8), ("prefilter", 80), ("spr", 8), ("reserved", 32)):
        for r in rows:
            head += field(r.get(key, ""), width_)
    body = bytearray()
    for k in range(n_records):
        for r in signals:
            d = np.asarray(r["digital"][k * r["spr"]:(k + 1) * r["spr"]], dtype="<i4")
            body += d.astype("<i2").tobytes() if not bdf else b"".join(int(v).to_bytes(4, "little", signed=True)[:3] for v in d)
        if record_tals is not None:
            body += record_tals[k].ljust(annot_bytes, b"\x00")
    with open(path, "wb") as f:
        f.write(head + bytes(body))


def eeg_digital(n, fs, lo, hi):
    t = np.arange(n) / fs
    x = 0.35 * np.sin(2 * np.pi * 10 * t) + 0.2 * np.sin(2 * np.pi * 3 * t + 1) + 0.1 * rng.standard_normal(n)
    return np.clip(np.round(lo + (x + 1) / 2 * (hi - lo)), lo, hi).astype(np.int64)


def make_small_files():
    os.makedirs(OUT, exist_ok=True)
    fz = dict(label="Fz", unit="uV", pmin=-200, pmax=200, dmin=-32768, dmax=32767, spr=128,
              digital=eeg_digital(512, 128, -32768, 32767), transducer="AgAgCl electrode", prefilter="HP:0.1Hz")
    cz = dict(label="Cz", unit="uV", pmin=-150.5, pmax=150.5, dmin=-2048, dmax=2047, spr=96,
              digital=eeg_digital(384, 96, -2048, 2047))
    write_edf(os.path.join(OUT, "two_rates.edf"), [fz, cz], 4, 1)

    c3 = dict(label="C3", unit="uV", pmin=-500, pmax=500, dmin=-32768, dmax=32767, spr=64,
              digital=eeg_digital(320, 64, -32768, 32767))
    ecg = dict(label="ECG", unit="mV", pmin=-5, pmax=5, dmin=-32768, dmax=32767, spr=64,
               digital=eeg_digital(320, 64, -32768, 32767))
    tals = [tal(k) + b"" for k in range(5)]
    tals[0] += tal(0.5, 0.25, ["left"])
    tals[1] += tal(1.75, None, ["right"])
    tals[3] += tal(3.125, 1.5, ["rest", "eyes closed"])
    write_edf(os.path.join(OUT, "annotations.edf"), [c3, ecg], 5, 1, reserved="EDF+C", record_tals=tals,
              annot_bytes=60)

    oz = dict(label="Oz", unit="uV", pmin=-100, pmax=100, dmin=-32768, dmax=32767, spr=32,
              digital=eeg_digital(96, 32, -32768, 32767))
    tals = [tal(0), tal(1), tal(3) + tal(3.5, 0.5, ["after gap"])]
    write_edf(os.path.join(OUT, "discontinuous.edf"), [oz], 3, 1, reserved="EDF+D", record_tals=tals,
              annot_bytes=40)

    a1 = dict(label="A1", unit="uV", pmin=-8388.6, pmax=8388.6, dmin=-8388608, dmax=8388607, spr=128,
              digital=eeg_digital(384, 128, -8388608, 8388607))
    a2 = dict(label="A2", unit="uV", pmin=-1000, pmax=1000, dmin=-8388608, dmax=8388607, spr=128,
              digital=eeg_digital(384, 128, -8388608, 8388607))
    write_edf(os.path.join(OUT, "bdf24.bdf"), [a1, a2], 3, 1, bdf=True)


UNIT_SCALE = {"uV": 1e6, "µV": 1e6, "mV": 1e3, "V": 1.0, "nV": 1e9}


def header_fields(path):
    """Per-channel rates and digital steps from the header (MNE keeps no steps)."""
    with open(path, "rb") as f:
        main = f.read(256)
        ns = int(main[252:256])
        sig = f.read(256 * ns)
    duration = float(main[244:252])

    def col(offset, width):
        return [sig[offset * ns + i * width: offset * ns + (i + 1) * width].decode("latin-1").strip() for i in range(ns)]

    labels, pmin, pmax, dmin, dmax, spr = (col(0, 16), col(104, 8), col(112, 8), col(120, 8), col(128, 8),
                                           col(216, 8))
    out = []
    for i in range(ns):
        if labels[i] in ("EDF Annotations", "BDF Annotations"):
            continue
        step = (float(pmax[i]) - float(pmin[i])) / (float(dmax[i]) - float(dmin[i]))
        out.append({"label": labels[i], "spr": int(spr[i]), "step": step, "rate": int(spr[i]) / duration})
    return out


def slices(x):
    mid = x.size // 2
    return [float(v) for v in x[:SLICE]], [float(v) for v in x[mid:mid + SLICE]]


def reference(path, name):
    read = mne.io.read_raw_bdf if path.endswith(".bdf") else mne.io.read_raw_edf
    raw = read(path, preload=True, verbose="error")
    fields = header_fields(path)
    top = max(f["spr"] for f in fields)
    n = raw.n_times
    channels = []
    for i, ch in enumerate(raw.ch_names):
        unit = raw._orig_units[ch]
        scale = UNIT_SCALE.get(unit, 1.0)
        x = raw.get_data(picks=[i])[0] * scale
        f = fields[i]
        if f["spr"] != top:  # heed resamples the channel's own samples polyphase
            own = raw_channel_samples(path, i, f, fields)
            g = math.gcd(top, f["spr"])
            x = ss.resample_poly(own, top // g, f["spr"] // g)[:n]
        first, middle = slices(x)
        channels.append({"label": ch, "unit": "uV" if unit == "µV" else unit, "step": f["step"],
                         "first": first, "middle": middle})
    annotations = [{"onset": float(a["onset"]), "duration": float(a["duration"]), "label": a["description"]}
                   for a in raw.annotations]
    return {"file": name, "sample_rate": float(raw.info["sfreq"]), "n_samples": int(n), "channels": channels,
            "annotations": annotations}


def raw_channel_samples(path, index, f, fields):
    """A 16-bit EDF channel's physical samples at its own rate, decoded here (MNE resamples it)."""
    with open(path, "rb") as fh:
        main = fh.read(256)
        ns = int(main[252:256])
        sig = fh.read(256 * ns)
        n_records = int(main[236:244])
        data = np.frombuffer(fh.read(), dtype="<i2")
    col = lambda off, w: float(sig[off * ns + index * w: off * ns + (index + 1) * w])
    pmin, pmax, dmin, dmax = col(104, 8), col(112, 8), col(120, 8), col(128, 8)
    sprs = [int(sig[216 * ns + i * 8: 216 * ns + (i + 1) * 8]) for i in range(ns)]
    start = sum(sprs[:index])
    records = data.reshape(n_records, sum(sprs))[:, start:start + sprs[index]].reshape(-1)
    return pmin + (records.astype(np.float64) - dmin) * (pmax - pmin) / (dmax - dmin)


def main():
    make_small_files()
    cases = []
    for name in ("two_rates.edf", "annotations.edf", "discontinuous.edf", "bdf24.bdf"):
        cases.append(reference(os.path.join(OUT, name), "eeg/" + name))
    real = []
    for name in REAL:
        path = os.path.join(EEG_DATA, name)
        if os.path.exists(path):
            real.append(reference(path, name))
        else:
            print(f"make_eeg_fixtures: {path} is missing (run scripts/fetch-eeg-data); not in the fixture")
    with open(os.path.join(ROOT, "tests", "fixtures", "eeg_files.json"), "w") as f:
        json.dump({"mne_version": mne.__version__, "small": cases, "real": real}, f, indent=1)
        f.write("\n")
    for c in cases + real:
        print(f"{c['file']}: {c['sample_rate']} Hz, {len(c['channels'])} channels, {c['n_samples']} samples,"
              f" {len(c['annotations'])} annotations")


main()
