#!/usr/bin/python3
# Writes PyTorch's reference values for heed's basic nn layers, read back by
# tests/nn/test_nn_fixtures.cpp. Run with Debian's python3 (torch + numpy):
#   /usr/bin/python3 scripts/make_nn_fixtures.py
#
# tests/fixtures/nn_basic.safetensors, per case NAME (no '.' in names), all float64:
#   NAME.p.<key>      the module's state_dict (parameters and buffers, PyTorch's names)
#   NAME.in0, ...     inputs (floats F64, indices I64)
#   NAME.out, NAME.gout   output and a random tensor of its shape
#   NAME.gin<K>       d sum(out * gout) / d inK, for each float input K that requires grad
#   NAME.gp.<name>    the same for every parameter, by its named_parameters() name
# Float64 so that heed and PyTorch agree to rounding (the test uses tight tolerances); the
# float32 path is covered by the checkpoint case below.
#
# tests/fixtures/nn_mlp_torch.safetensors: the float32 state_dict of a torch.nn.Sequential
# (Linear(4, 8), Tanh, Linear(8, 2)) exactly as a PyTorch user would export it; the case
# ckpt_mlp in nn_basic.safetensors holds a float32 input, torch's output and gradients, and the
# test loads the checkpoint with Module::load.
#
# Safetensors files are written by hand (8-byte LE header length, JSON header, raw bytes).
import os

import torch
import torch.nn as nn
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(4321)
torch.set_default_dtype(torch.float64)

CASES = {}  # name -> list of (tensor name, numpy array)


def randn(*shape):
    return torch.randn(*shape)


def case(name, module, inputs, grad=None, train=False):
    """Records module(*inputs). grad: indices of inputs that require grad (default: every float)."""
    assert "." not in name and name not in CASES, name
    module.train(train)
    if grad is None:
        grad = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    leaves = []
    for i, x in enumerate(inputs):
        x = x.detach().clone()
        if i in grad:
            x.requires_grad_(True)
        leaves.append(x)
    out = module(*leaves)
    gout = torch.randn(out.shape, dtype=out.dtype)
    params = list(module.named_parameters())
    wrt = [leaves[i] for i in grad] + [p for _, p in params]
    grads = torch.autograd.grad((out * gout).sum(), wrt) if wrt else []
    entries = [(f"p.{k}", v) for k, v in module.state_dict().items()]
    entries += [(f"in{i}", x.detach()) for i, x in enumerate(inputs)]
    entries += [("out", out.detach()), ("gout", gout)]
    entries += [(f"gin{i}", g) for i, g in zip(grad, grads[: len(grad)])]
    entries += [(f"gp.{n}", g) for (n, _), g in zip(params, grads[len(grad):])]
    CASES[name] = [(f"{name}.{k}", t.detach().contiguous().numpy()) for k, t in entries]


def randomize(module):  # affine params away from their 1/0 init, so they are really tested
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape))
    return module


# ---------------------------------------------------------------- layers
case("linear", nn.Linear(4, 3), [randn(2, 5, 4)])
case("linear_nobias", nn.Linear(4, 3, bias=False), [randn(5, 4)])
case("embedding_pad", nn.Embedding(6, 3, padding_idx=1), [torch.tensor([[0, 1, 5, 2], [1, 1, 3, 0]])])
case("embedding_negpad", nn.Embedding(5, 2, padding_idx=-1), [torch.tensor([4, 0, 4, 2, 3])])
case("layernorm", randomize(nn.LayerNorm(4)), [randn(2, 3, 4)])
case("layernorm_2d", randomize(nn.LayerNorm([3, 4], eps=1e-3)), [randn(2, 3, 4)])
case("layernorm_noaffine", nn.LayerNorm(4, elementwise_affine=False), [randn(3, 4)])

# ---------------------------------------------------------------- activations and dropout
case("relu", nn.ReLU(), [randn(3, 4)])
case("gelu", nn.GELU(), [2 * randn(3, 4)])
case("gelu_tanh", nn.GELU(approximate="tanh"), [2 * randn(3, 4)])
case("tanh", nn.Tanh(), [randn(3, 4)])
case("sigmoid", nn.Sigmoid(), [randn(3, 4)])
case("silu", nn.SiLU(), [2 * randn(3, 4)])
case("softmax_dim1", nn.Softmax(dim=1), [randn(2, 3, 4)])
case("log_softmax_last", nn.LogSoftmax(dim=-1), [randn(2, 3, 4)])
case("identity", nn.Identity(), [randn(3, 4)])
case("dropout_eval", nn.Dropout(0.5), [randn(3, 4)], train=False)

# ---------------------------------------------------------------- containers
case("sequential", nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), [randn(5, 4)])

# ---------------------------------------------------------------- losses (input, target)
TGT = torch.tensor([0, 3, 1, 1, 2])            # (5,) targets for (5, 4) logits
TGT_IGN = torch.tensor([0, -100, 1, 3, -100])  # with the default ignore_index
W = torch.tensor([0.5, 2.0, 1.0, 1.5])         # class weights (a buffer)
NDTGT = torch.randint(0, 4, (2, 3))            # (2, 3) targets for (2, 4, 3) logits

case("ce_weight_smooth", nn.CrossEntropyLoss(weight=W, label_smoothing=0.1), [randn(5, 4), TGT])
case("ce_ignore1_sum", nn.CrossEntropyLoss(ignore_index=1, reduction="sum"), [randn(5, 4), TGT])
case("ce_nd", nn.CrossEntropyLoss(), [randn(2, 4, 3), NDTGT])
case("nll_weight_ignore", nn.NLLLoss(weight=W), [torch.log_softmax(randn(5, 4), 1), TGT_IGN])
case("nll_none", nn.NLLLoss(reduction="none"), [torch.log_softmax(randn(5, 4), 1), TGT])
case("mse", nn.MSELoss(), [randn(3, 4), randn(3, 4)])
case("mse_sum", nn.MSELoss(reduction="sum"), [randn(3, 4), randn(3, 4)])
case("bce_weight_pos", nn.BCEWithLogitsLoss(weight=torch.rand(4) + 0.5, pos_weight=torch.rand(4) + 0.5),
     [2 * randn(3, 4), torch.rand(3, 4)])
case("bce_none", nn.BCEWithLogitsLoss(reduction="none"), [2 * randn(3, 4), torch.rand(3, 4)])

# ---------------------------------------------------------------- a float32 checkpoint
torch.set_default_dtype(torch.float32)
MLP = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))  # PyTorch's own default init
case("ckpt_mlp", MLP, [torch.randn(3, 4)])
CASES["ckpt_mlp"] = [(k, a) for k, a in CASES["ckpt_mlp"] if ".p." not in k]  # the weights go to their own file
CKPT = [(k, v.detach().contiguous().numpy()) for k, v in MLP.state_dict().items()]


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    meta = {"generator": "scripts/make_nn_fixtures.py", "torch": torch.__version__}
    out = os.path.join(root, "tests", "fixtures", "nn_basic.safetensors")
    tensors = [t for entries in CASES.values() for t in entries]
    write_safetensors(out, tensors, meta)
    print(f"{out}: {len(CASES)} cases, {len(tensors)} tensors, {os.path.getsize(out)} bytes")
    ckpt = os.path.join(root, "tests", "fixtures", "nn_mlp_torch.safetensors")
    write_safetensors(ckpt, CKPT, {"format": "pt", **meta})
    print(f"{ckpt}: {len(CKPT)} tensors, {os.path.getsize(ckpt)} bytes")
