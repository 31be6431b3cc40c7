#!/usr/bin/python3
# Writes PyTorch's reference values for heed's optim/ module, read back by tests/optim/:
#   tests/fixtures/optim_steps.safetensors       optimizers, step by step (test_optimizers.cpp)
#   tests/fixtures/optim_schedulers.safetensors  learning-rate curves (test_schedulers.cpp)
#   tests/fixtures/optim_clip.safetensors        gradient clipping (test_clip.cpp)
# Run with Debian's python3 (torch + numpy):  /usr/bin/python3 scripts/make_optim_fixtures.py
#
# optim_steps: a tiny float64 regression, loss(W, b) = sum((tanh(X @ W + b) - Y)^2) with
#   X (8,3), Y (8,4), W (3,4), b (4,). Eight rows cannot be fitted by 16 parameters through a
#   tanh, so the gradient stays well away from zero and tanh away from saturation: the problem
#   is well conditioned and float64 runs of heed and PyTorch agree to rounding.
#   problem.X, problem.Y, problem.W0, problem.b0   the data and the starting point
#   problem.gradW, problem.gradb                   the gradient at the starting point
#   CASE.W.K, CASE.b.K                             parameters after step K (K in SNAPSHOTS)
# optim_schedulers: two parameter groups (base lr 0.1 and 0.02).
#   CASE.lr (51, 2)        the lr of each group after construction (row 0) and after each step
#   CASE.momentum (51, 2)  OneCycleLR only: SGD's momentum or Adam's beta1, likewise
#   CASE.metrics (50,)     ReduceLROnPlateau only: the metric given to step t
# optim_clip: clip.grad0 (3,4) and clip.grad1 (5,) are the gradients before clipping;
#   CASE.total (0-d) the returned norm, CASE.grad0 / CASE.grad1 the gradients after clipping.
# The safetensors files are written by hand (8-byte LE header length, JSON header, raw bytes).
import math
import os

import torch
from torch.nn.utils import clip_grad_norm_, clip_grad_value_
from torch.optim import SGD, Adam, AdamW
from torch.optim import lr_scheduler as sched
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(2024)
torch.set_default_dtype(torch.float64)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# ---------------------------------------------------------------- optimizers, step by step
STEPS = 100
SNAPSHOTS = [1, 2, 3, 5, 10, 20, 50, 100]

X = torch.randn(8, 3)
Y = torch.rand(8, 4) * 1.6 - 0.8
W0 = 0.5 * torch.randn(3, 4)
B0 = 0.1 * torch.randn(4)


def loss_fn(W, b):
    d = torch.tanh(X @ W + b) - Y
    return (d * d).sum()


# Case name -> optimizer over (W, b). foreach=False: torch 1.13's single-tensor path, the one
# heed follows line by line. Keep this list in step with the table in test_optimizers.cpp.
OPTIMIZERS = {
    "sgd": lambda W, b: SGD([W, b], lr=0.01, foreach=False),
    "sgd_momentum_dampening": lambda W, b: SGD([W, b], lr=0.01, momentum=0.9, dampening=0.3, weight_decay=0.01,
                                               foreach=False),
    "sgd_nesterov_wd": lambda W, b: SGD([W, b], lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.05,
                                        foreach=False),
    "sgd_two_groups": lambda W, b: SGD([{"params": [W]}, {"params": [b], "lr": 0.002, "momentum": 0.5}], lr=0.01,
                                       momentum=0.9, foreach=False),
    "adam": lambda W, b: Adam([W, b], lr=0.01, foreach=False),
    "adam_amsgrad_wd": lambda W, b: Adam([W, b], lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05,
                                         amsgrad=True, foreach=False),
    "adamw": lambda W, b: AdamW([W, b], lr=0.01, weight_decay=0.1, foreach=False),
    "adamw_amsgrad": lambda W, b: AdamW([W, b], lr=0.02, betas=(0.85, 0.995), amsgrad=True, foreach=False),
    "adamw_two_groups": lambda W, b: AdamW([{"params": [W], "weight_decay": 0.1}, {"params": [b], "lr": 0.003,
                                                                                   "weight_decay": 0.0}],
                                           lr=0.02, foreach=False),
}


def optimizer_fixtures():
    W, b = W0.clone().requires_grad_(), B0.clone().requires_grad_()
    gW, gb = torch.autograd.grad(loss_fn(W, b), [W, b])
    out = [("problem.X", X), ("problem.Y", Y), ("problem.W0", W0), ("problem.b0", B0), ("problem.gradW", gW),
           ("problem.gradb", gb)]
    for name, make in OPTIMIZERS.items():
        W, b = W0.clone().requires_grad_(), B0.clone().requires_grad_()
        opt = make(W, b)
        losses = []
        for step in range(1, STEPS + 1):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(W, b)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step in SNAPSHOTS:
                out += [(f"{name}.W.{step}", W.detach().clone()), (f"{name}.b.{step}", b.detach().clone())]
        print(f"  {name:24s} loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    return out


# ---------------------------------------------------------------- learning-rate schedules
SCHED_STEPS = 50
BASE_LRS = [0.1, 0.02]


def warmup_decay(warmup, total, final, cosine):
    """heed's WarmupDecayLR factor for step t (optim/lr_scheduler.h), run by torch's LambdaLR."""

    def factor(t):
        if t < warmup:
            return (t + 1) / (warmup + 1)
        p = min(1.0, (t - warmup) / max(1, total - warmup - 1))
        shape = 0.5 * (1 + math.cos(math.pi * p)) if cosine else 1 - p
        return final + (1 - final) * shape

    return factor


def two_groups(kind):
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    groups = [{"params": [a], "lr": BASE_LRS[0]}, {"params": [b], "lr": BASE_LRS[1]}]
    if kind == "sgd":
        return SGD(groups, lr=0.1, momentum=0.9)
    return Adam(groups, lr=0.1)


# Case name -> (optimizer kind, scheduler factory). Keep in step with test_schedulers.cpp.
SCHEDULERS = {
    "step_lr": ("sgd", lambda o: sched.StepLR(o, step_size=7, gamma=0.5)),
    "multistep_lr": ("sgd", lambda o: sched.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3)),
    "exponential_lr": ("sgd", lambda o: sched.ExponentialLR(o, gamma=0.93)),
    "cosine_lr": ("sgd", lambda o: sched.CosineAnnealingLR(o, T_max=20, eta_min=0.001)),
    "cosine_lr_no_min": ("sgd", lambda o: sched.CosineAnnealingLR(o, T_max=13)),
    "warmup_cosine": ("sgd", lambda o: sched.LambdaLR(o, warmup_decay(10, 40, 0.1, True))),
    "warmup_linear": ("sgd", lambda o: sched.LambdaLR(o, warmup_decay(5, 30, 0.0, False))),
    "no_warmup_cosine": ("sgd", lambda o: sched.LambdaLR(o, warmup_decay(0, 20, 0.05, True))),
    "onecycle_sgd": ("sgd", lambda o: sched.OneCycleLR(o, max_lr=[0.5, 0.1], total_steps=50)),
    "onecycle_adam_linear_three_phase": ("adam", lambda o: sched.OneCycleLR(
        o, max_lr=0.01, total_steps=60, pct_start=0.25, anneal_strategy="linear", three_phase=True, div_factor=10.0,
        final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)),
    "onecycle_no_momentum": ("sgd", lambda o: sched.OneCycleLR(o, max_lr=0.3, total_steps=50, pct_start=0.4,
                                                                cycle_momentum=False)),
    "plateau_min": ("sgd", lambda o: sched.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=3, threshold=1e-2,
                                                              cooldown=2, min_lr=[0.004, 0.001])),
    "plateau_max_abs": ("sgd", lambda o: sched.ReduceLROnPlateau(o, mode="max", factor=0.2, patience=2,
                                                                  threshold=0.05, threshold_mode="abs")),
}


def plateau_metrics(mode):
    t = torch.arange(SCHED_STEPS, dtype=torch.float64)
    noise = 0.02 * torch.randn(SCHED_STEPS)
    falling = torch.where(t < 20, 1 / (1 + 0.3 * t), torch.full_like(t, 1 / 7)) + noise
    return falling if mode == "min" else 1 - falling


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def scheduler_fixtures():
    out = []
    for name, (kind, make) in SCHEDULERS.items():
        opt = two_groups(kind)
        s = make(opt)
        plateau = isinstance(s, sched.ReduceLROnPlateau)
        metrics = plateau_metrics(s.mode) if plateau else None
        lrs = [[g["lr"] for g in opt.param_groups]]
        moms = [[momentum_of(g) for g in opt.param_groups]]
        for t in range(SCHED_STEPS):
            opt.step()  # no gradients: changes nothing, but keeps torch's call order
            if plateau:
                s.step(metrics[t].item())
            else:
                s.step()
            lrs.append([g["lr"] for g in opt.param_groups])
            moms.append([momentum_of(g) for g in opt.param_groups])
        out.append((f"{name}.lr", torch.tensor(lrs)))
        if name.startswith("onecycle"):
            out.append((f"{name}.momentum", torch.tensor(moms)))
        if plateau:
            out.append((f"{name}.metrics", metrics))
    return out


# ---------------------------------------------------------------- gradient clipping
GRAD0 = torch.randn(3, 4)
GRAD1 = 2 * torch.randn(5)

# Case name -> function of the parameter list, returning the total norm (None for value clipping).
CLIPS = {
    "norm2_clipped": lambda ps: clip_grad_norm_(ps, max_norm=1.0),
    "norm2_unclipped": lambda ps: clip_grad_norm_(ps, max_norm=100.0),
    "norm_inf": lambda ps: clip_grad_norm_(ps, max_norm=0.5, norm_type=math.inf),
    "norm1": lambda ps: clip_grad_norm_(ps, max_norm=2.0, norm_type=1.0),
    "norm3": lambda ps: clip_grad_norm_(ps, max_norm=1.5, norm_type=3.0),
    "value": lambda ps: clip_grad_value_(ps, clip_value=0.7),
}


def clip_fixtures():
    out = [("clip.grad0", GRAD0), ("clip.grad1", GRAD1)]
    for name, clip in CLIPS.items():
        p0, p1, unused = torch.zeros(3, 4), torch.zeros(5), torch.zeros(2)
        p0.grad, p1.grad = GRAD0.clone(), GRAD1.clone()
        total = clip([p0, p1, unused])
        assert unused.grad is None
        if total is not None:
            out.append((f"{name}.total", total.detach().clone()))
        out += [(f"{name}.grad0", p0.grad), (f"{name}.grad1", p1.grad)]
    return out


if __name__ == "__main__":
    meta = {"generator": "scripts/make_optim_fixtures.py", "torch": torch.__version__}
    write_safetensors(os.path.join(FIXTURES, "optim_steps.safetensors"), optimizer_fixtures(),
                      dict(meta, snapshots=",".join(map(str, SNAPSHOTS))))
    write_safetensors(os.path.join(FIXTURES, "optim_schedulers.safetensors"), scheduler_fixtures(), meta)
    write_safetensors(os.path.join(FIXTURES, "optim_clip.safetensors"), clip_fixtures(), meta)
