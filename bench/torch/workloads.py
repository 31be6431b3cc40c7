# PyTorch's side of the reference workloads (../shared/WORKLOADS.md): the same program as
# bench/workloads.cpp, same shapes, PyTorch's default initialisation (which heed's layers copy),
# AdamW lr 1e-3, gradients set to none before each step, same thread count.
#   /usr/bin/python3 bench/torch/workloads.py <workload> [--threads N] [--iters N] [--warmup N]
# prints one JSON line, as heed-bench does.
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def time_ms(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def times(ms):
    return {"median_ms": statistics.median(ms), "times_ms": ms}


def status_mib(field):  # a field of /proc/self/status in MiB ("VmHWM": peak resident set)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def training_step(model, opt, x, y):
    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def gemm(args):
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = time_ms(lambda: a @ b, args.iters, args.warmup)
    return {**times(ms), "gflops": 2 * n**3 / statistics.median(ms) / 1e6}


def mha(args):
    attn = nn.MultiheadAttention(256, 8, batch_first=True)
    x = torch.randn(16, 128, 256)

    def step():
        attn.zero_grad(set_to_none=True)
        attn(x, x, x, need_weights=False)[0].sum().backward()
    return times(time_ms(step, args.iters, args.warmup))


class TextClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(20000, 128)
        self.positions = nn.Embedding(256, 128)
        layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(128, 2)

    def forward(self, ids):  # (B, T) int64 -> (B, 2)
        h = self.tokens(ids) + self.positions.weight[: ids.shape[1]]
        return self.head(self.encoder(h).mean(1))


def text_data():
    return torch.randint(0, 20000, (32, 256)), torch.randint(0, 2, (32,))


def text(args):
    model = TextClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return times(time_ms(training_step(model, opt, *text_data()), args.iters, args.warmup))


def memory(args):
    baseline = status_mib("VmRSS")
    model = TextClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ms = time_ms(training_step(model, opt, *text_data()), 20, 0)
    return {**times(ms), "peak_rss_mib": status_mib("VmHWM"), "baseline_rss_mib": baseline}


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(1600, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):  # (B, 1, 28, 28) -> (B, 10)
        h = self.pool(F.relu(self.conv1(x)))
        h = self.pool(F.relu(self.conv2(h)))
        return self.fc2(F.relu(self.fc1(h.flatten(1))))


def cnn(args):
    model = SmallCnn()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    return times(time_ms(training_step(model, opt, x, y), args.iters, args.warmup))


class LstmClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 64, batch_first=True)
        self.score = nn.Linear(64, 1)  # heed's AdditiveAttentionPooling(64, 0): score_t = v·h_t + b
        self.head = nn.Linear(64, 2)

    def forward(self, x):  # (B, T, 16) -> (B, 2)
        h, _ = self.lstm(x)
        a = torch.softmax(self.score(h).squeeze(-1), dim=1)
        return self.head((a.unsqueeze(-1) * h).sum(1))


def lstm(args):
    model = LstmClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(32, 256, 16), torch.randint(0, 2, (32,))
    return times(time_ms(training_step(model, opt, x, y), args.iters, args.warmup))


def overhead(args):
    def run():
        x = torch.zeros(16, requires_grad=True)
        y = x
        for _ in range(1000):
            y = y + 1.0
        y.sum().backward()
    return times(time_ms(run, args.iters, args.warmup))


WORKLOADS = {"gemm": gemm, "mha": mha, "text": text, "cnn": cnn, "lstm": lstm, "overhead": overhead,
             "memory": memory}


def main():
    parser = argparse.ArgumentParser(prog="workloads.py")
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if args.threads < 1 or args.iters < 1 or args.warmup < 0:
        parser.error("--threads and --iters want integers >= 1, --warmup >= 0")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result = {"workload": args.workload, "framework": "torch", "threads": args.threads,
              "torch_version": torch.__version__}
    result.update(WORKLOADS[args.workload](args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
