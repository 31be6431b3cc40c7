# PyTorch's side of heed-bench's `attention` workload on the GPU (scripts/gpu-check):
# torch.nn.functional.scaled_dot_product_attention, batch 8, 16 heads, 1024 queries and keys,
# head size 64, float32; forward and forward + backward of sum(output), without and with the
# causal mask. Prints one JSON line with the medians in ms.
#   python3 bench/torch/attention_gpu.py [--iters N] [--warmup N]
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    B, H, T, D = 8, 16, 1024, 64
    out = {"workload": "attention", "framework": "torch", "torch": torch.__version__, "shape": f"{B}x{H}x{T}x{D}"}
    for causal in (False, True):
        q, k, v = (torch.randn(B, H, T, D, device="cuda", requires_grad=True) for _ in range(3))

        def forward():
            with torch.no_grad():
                F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        def both():
            for t in (q, k, v):
                t.grad = None
            F.scaled_dot_product_attention(q, k, v, is_causal=causal).sum().backward()

        tag = "causal_" if causal else ""
        out[tag + "forward_ms"] = median_ms(forward, args.iters, args.warmup)
        out[tag + "forward_backward_ms"] = median_ms(both, args.iters, args.warmup)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
