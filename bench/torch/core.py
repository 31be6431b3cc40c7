# PyTorch side of bench/core.cpp: the same overhead and gemm workloads, same thread count.
# Run with Debian's python3-torch: /usr/bin/python3 bench/torch/core.py [threads]
import json, statistics, sys, time
import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

def median_ms(fn, warmup=3, runs=10):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)

a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
print(json.dumps({"workload": "gemm", "torch_ms": round(median_ms(lambda: a @ b), 3)}))

def overhead():
    x = torch.zeros(16, requires_grad=True)
    y = x
    for _ in range(1000):
        y = y + 1.0
    y.sum().backward()

print(json.dumps({"workload": "overhead", "torch_ms": round(median_ms(overhead), 3)}))
