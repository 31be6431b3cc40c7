# The benchmark driver behind scripts/bench (standard library only, so any python3 runs it).
# For each workload of ../shared/WORKLOADS.md it runs heed-bench, then PyTorch's
# bench/torch/workloads.py, each in a fresh process, and prints the table: heed and PyTorch
# median ms, heed/PyTorch, the target and whether it is met, and GFLOP/s (matmul FLOPs
# counted from the shapes) beside raw OpenBLAS sgemm from the same run. The table also goes to
# a JSON file and a Markdown page (docs/benchmarks.md for a full run).
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PYTHON = "/usr/bin/python3"
TIMEOUT_S = 600

ORDER = ["gemm", "mha", "text", "cnn", "lstm", "overhead", "memory"]


def matmul_gflop(name):
    """Matmul FLOPs of one timed iteration (forward + backward), counted from the shapes."""
    if name == "gemm":
        return 2 * 1024**3 / 1e9
    if name == "mha":  # B 16, T 128, E 256; the input needs no gradient, so in_proj's backward is dW only
        bt, t, e = 16 * 128, 128, 256
        in_proj, attention, out_proj = 2 * bt * e * 3 * e, 2 * 2 * bt * t * e, 2 * bt * e * e
        return (in_proj + attention + out_proj + in_proj + 2 * (attention + out_proj)) / 1e9
    if name == "text":  # per layer: in_proj, scores and weighted sum, out_proj, two feed-forward GEMMs
        bt, t, e, f = 32 * 256, 256, 128, 512
        layer = 2 * bt * e * 3 * e + 2 * 2 * bt * t * e + 2 * bt * e * e + 2 * 2 * bt * e * f
        return 3 * 2 * layer / 1e9  # backward: dX and dW, twice the forward
    return None


# name -> (description, check on (heed, torch) results)
TARGETS = {
    "gemm": (">= 95% of sgemm", lambda h, t: h["gflops"] >= 0.95 * h["sgemm_gflops"]),
    "mha": ("<= 0.5", lambda h, t: ratio(h, t) <= 0.5),
    "text": ("<= 0.5", lambda h, t: ratio(h, t) <= 0.5),
    "cnn": ("<= 1.0", lambda h, t: ratio(h, t) <= 1.0),
    "lstm": ("<= 1.0", lambda h, t: ratio(h, t) <= 1.0),
    "overhead": ("<= 0.25", lambda h, t: ratio(h, t) <= 0.25),
    "memory": ("<= 1.0", lambda h, t: ratio(h, t) <= 1.0),
}


def figure(r):
    return r["peak_rss_mib"] if r["workload"] == "memory" else r["median_ms"]


def ratio(h, t):
    return figure(h) / figure(t)


def run_one(cmd, env):
    """Runs one side of one workload; returns (result dict, None) or (None, error text)."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT_S} s"
    except OSError as e:
        return None, str(e)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        return None, (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
    try:
        return json.loads(lines[-1]), None
    except json.JSONDecodeError:
        return None, f"unreadable output: {lines[-1][:200]}"


def torch_status():
    """(version, None) when /usr/bin/python3 imports torch, else (None, why)."""
    if not os.path.exists(TORCH_PYTHON):
        return None, f"{TORCH_PYTHON} not found"
    p = subprocess.run([TORCH_PYTHON, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        return None, "python3-torch is not installed (apt-get install python3-torch)"
    return p.stdout.strip(), None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def heed_commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    head = git("rev-parse", "--short=12", "HEAD")
    if head.returncode != 0:
        return "unknown"
    dirty = git("diff", "--quiet", "HEAD", "--").returncode != 0
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def median_round(runs):
    """The run whose figure is the median of the rounds' (the lower middle one for an even count),
    with every round's figure under "round_figures"; None when no round ran."""
    if not runs:
        return None
    ordered = sorted(runs, key=figure)
    return {**ordered[(len(ordered) - 1) // 2], "round_figures": [figure(r) for r in runs]}


def fmt_figure(name, r):
    if r is None:
        return "—"
    return f"{r['peak_rss_mib']:.0f} MiB" if name == "memory" else f"{r['median_ms']:.2f}"


def make_row(name, heed, torch):
    row = {"workload": name, "target": TARGETS[name][0], "heed": heed, "torch": torch,
           "ratio": None, "met": None}
    if heed is not None and torch is not None:
        row["ratio"] = ratio(heed, torch)
    if heed is not None and (torch is not None or name == "gemm"):
        row["met"] = bool(TARGETS[name][1](heed, torch))
    return row


def table(rows, sgemm_gflops):
    head = ["workload", "heed median ms", "PyTorch median ms", "heed/PyTorch", "target", "met?",
            "heed GFLOP/s", "PyTorch GFLOP/s", "sgemm GFLOP/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        name, gflop = r["workload"], matmul_gflop(r["workload"])

        def rate(side):
            res = r[side]
            return f"{gflop / res['median_ms'] * 1e3:.1f}" if gflop and res else ""
        met = {True: "yes", False: "**MISSED**", None: "n/a"}[r["met"]]
        cells = [name, fmt_figure(name, r["heed"]), fmt_figure(name, r["torch"]),
                 f"{r['ratio']:.3f}" if r["ratio"] is not None else "—", r["target"], met,
                 rate("heed"), rate("torch"), f"{sgemm_gflops:.1f}" if gflop and sgemm_gflops else ""]
        if name == "gemm" and r["heed"]:
            cells[5] += f" ({r['heed']['gflops'] / r['heed']['sgemm_gflops']:.0%} of sgemm)"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(report):
    rows = report["rows"]
    mem = next((r for r in rows if r["workload"] == "memory"), None)
    notes = [
        "- heed and PyTorch run alternately, one fresh process per workload, side and round, with the same "
        "thread count (`heed::set_num_threads`, `torch.set_num_threads`, `OMP_NUM_THREADS`, "
        "`OPENBLAS_NUM_THREADS`). A round's figure is the median of its timed iterations after the warm-up "
        "ones; the table shows each side's median round (every round's figure is in the JSON).",
        "- Ratios are heed / PyTorch; lower is better. Absolute times drift on shared machines, ratios "
        "from one run hold. Missed targets stay in the table, marked **MISSED**.",
        "- GFLOP/s counts the matmul FLOPs of one iteration from the shapes (forward + backward); "
        "sgemm is raw `cblas_sgemm` 1024³ called from C++ in the same run.",
        "- On a loaded machine OpenMP's spin-waiting (libgomp's default) slows both sides several times "
        "over; `OMP_WAIT_POLICY=passive` in the command means both sides ran with it.",
        "- memory: peak resident set (VmHWM) of a fresh process running 20 `text` steps.",
    ]
    if mem and mem["heed"] and mem["torch"]:
        notes.append(f"  Resident set before building the model: heed {mem['heed']['baseline_rss_mib']:.0f} MiB, "
                     f"PyTorch {mem['torch']['baseline_rss_mib']:.0f} MiB (the interpreter and libtorch).")
    errors = [f"- {r['workload']} ({side}): {r[side + '_error']}" for r in rows for side in ("heed", "torch")
              if r.get(side + "_error")]
    out = [
        "# Benchmarks: heed beside PyTorch on the CPU",
        "",
        "Generated by `scripts/bench` (bench/run.py); the workloads are defined in ../shared/WORKLOADS.md.",
        "",
        f"- command: `{report['command']}`",
        f"- date: {report['date']}",
        f"- CPU: {report['cpu']} ({report['cpus']} CPUs online)",
        f"- threads: {report['threads']}, timed iterations: {report['iters']} after {report['warmup']} warm-up, "
        f"{report['rounds']} round(s)",
        f"- heed commit: {report['heed_commit']}",
        f"- PyTorch: {report['torch_version'] or 'missing: ' + report['torch_missing']}",
        f"- load average (1, 5, 15 min) before / after: {report['load_before']} / {report['load_after']}",
        "",
        table(rows, report["sgemm_gflops"]),
        "",
        "Notes:",
        *notes,
    ]
    if errors:
        out += ["", "Failures:", *errors]
    return "\n".join(out) + "\n"


def parse_args():
    p = argparse.ArgumentParser(prog="scripts/bench")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    # Debian's torch runs its first half-dozen 1024³ matmuls at half speed on these machines:
    # a few more warm-up iterations than the 3 the workloads ask for at least.
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3, help="fresh processes per side and workload, alternating")
    p.add_argument("--only", default=",".join(ORDER), help="comma-separated workloads: " + ",".join(ORDER))
    p.add_argument("--heed-bench", required=True, help="path of the heed-bench executable")
    p.add_argument("--out-json", required=True)
    p.add_argument("--out-md", required=True)
    p.add_argument("--command", required=True, help="the command line, as recorded in the page")
    a = p.parse_args()
    if a.threads < 1 or a.iters < 1 or a.rounds < 1 or a.warmup < 3:
        p.error("--threads, --iters and --rounds want integers >= 1, --warmup >= 3")
    a.only = [w.strip() for w in a.only.split(",") if w.strip()]
    unknown = [w for w in a.only if w not in ORDER]
    if unknown or not a.only:
        p.error(f"--only: unknown or empty workload list {unknown} (choose from {','.join(ORDER)})")
    a.only = [w for w in ORDER if w in a.only]
    return a


def main():
    a = parse_args()
    torch_version, torch_missing = torch_status()
    if torch_missing:
        print(f"PyTorch missing ({torch_missing}): reporting heed's figures only", flush=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
    flags = ["--threads", str(a.threads), "--iters", str(a.iters), "--warmup", str(a.warmup)]
    report = {
        "command": a.command, "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(), "cpus": os.cpu_count(), "threads": a.threads, "iters": a.iters, "warmup": a.warmup,
        "rounds": a.rounds,
        "heed_commit": heed_commit(), "torch_version": torch_version, "torch_missing": torch_missing,
        "load_before": load_average(), "sgemm_gflops": None, "rows": [],
    }
    for name in a.only:
        heed_runs, torch_runs, heed_err, torch_err = [], [], None, None
        for _ in range(a.rounds):  # alternately, so that a slow spell of the machine hits both sides
            result, err = run_one([a.heed_bench, name, *flags], env)
            heed_runs, heed_err = heed_runs + ([result] if result else []), heed_err or err
            if not torch_missing:
                result, err = run_one([TORCH_PYTHON, "bench/torch/workloads.py", name, *flags], env)
                torch_runs, torch_err = torch_runs + ([result] if result else []), torch_err or err
        heed, torch = median_round(heed_runs), median_round(torch_runs)
        row = make_row(name, heed, torch)
        row["heed_error"], row["torch_error"] = heed_err, torch_err
        if name == "gemm" and heed:
            report["sgemm_gflops"] = heed["sgemm_gflops"]
        report["rows"].append(row)
        status = "  ".join(f"{side} {fmt_figure(name, r) if r else 'FAILED: ' + (err or 'skipped')}"
                           for side, r, err in (("heed", heed, heed_err), ("torch", torch, torch_err)))
        print(f"{name:9s} {status}", flush=True)
    if report["sgemm_gflops"] is None and any(matmul_gflop(w) for w in a.only):
        sgemm, _ = run_one([a.heed_bench, "gemm", *flags], env)  # the GFLOP/s reference
        report["sgemm_gflops"] = sgemm["sgemm_gflops"] if sgemm else None
    report["load_after"] = load_average()
    page = markdown(report)
    os.makedirs(os.path.dirname(os.path.abspath(a.out_json)), exist_ok=True)
    with open(a.out_json, "w") as f:
        json.dump(report, f, indent=1)
    with open(a.out_md, "w") as f:
        f.write(page)
    print()
    print(table(report["rows"], report["sgemm_gflops"]))
    print(f"\nwrote {os.path.relpath(a.out_json, ROOT)} and {os.path.relpath(a.out_md, ROOT)}")
    failed = any(r["heed_error"] for r in report["rows"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
