#!/usr/bin/python3
# Writes tests/fixtures/ops.safetensors: PyTorch's values and gradients for heed's ops, read back
# by tests/autograd/test_torch_fixtures.cpp. Run with Debian's python3 (torch + numpy):
#   /usr/bin/python3 scripts/make_fixtures.py
#
# Per case NAME (no '.' in names):
#   NAME.in0, NAME.in1, ...      inputs (floats as F64, indices as I64, masks as U8)
#   NAME.out / NAME.gout         output and a random tensor of its shape
#   NAME.out0, NAME.gout0, ...   instead, for ops with several outputs (split, chunk)
#   NAME.gradK                   d sum(out * gout) / d inK, for each input K that requires grad
# The safetensors file is written by hand (8-byte LE header length, JSON header, raw bytes).
import os

import torch
import torch.nn.functional as F
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)

CASES = {}  # name -> list of (tensor name, numpy array), in order


def randn(*shape):
    return torch.randn(*shape)


def pos(*shape):  # strictly positive, away from 0 (log, sqrt, pow bases, divisors)
    return torch.rand(*shape) + 0.5


def ints(lo, hi, *shape):
    return torch.randint(lo, hi, shape, dtype=torch.int64)


def case(name, fn, inputs, grad=None):
    """Records fn(*inputs). grad: indices of inputs that require grad (default: every float)."""
    assert "." not in name and name not in CASES, name
    if grad is None:
        grad = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    leaves = []
    for i, x in enumerate(inputs):
        x = x.detach().clone()
        if i in grad:
            x.requires_grad_(True)
        leaves.append(x)
    out = fn(*leaves)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    gouts = [torch.randn(o.shape) for o in outs]
    loss = sum((o * g).sum() for o, g in zip(outs, gouts))
    grads = torch.autograd.grad(loss, [leaves[i] for i in grad], allow_unused=False) if grad else []
    entries = [(f"in{i}", x.detach()) for i, x in enumerate(inputs)]
    if isinstance(out, (list, tuple)):
        for k, (o, g) in enumerate(zip(outs, gouts)):
            entries += [(f"out{k}", o.detach()), (f"gout{k}", g)]
    else:
        entries += [("out", out.detach()), ("gout", gouts[0])]
    entries += [(f"grad{i}", g) for i, g in zip(grad, grads)]
    CASES[name] = [(f"{name}.{k}", t.contiguous().numpy()) for k, t in entries]


# ---------------------------------------------------------------- binary arithmetic
for op_name, op in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div)]:
    rhs = pos if op_name == "div" else randn
    case(f"{op_name}_row", op, [randn(3, 4), rhs(4)])      # (3,4) with (4,)
    case(f"{op_name}_outer", op, [randn(3, 1), rhs(1, 4)])  # (3,1) with (1,4)
case("pow_tensor", torch.pow, [pos(3, 4), randn(3, 4)])
case("pow_tensor_row", torch.pow, [pos(3, 4), randn(4)])
case("pow_scalar3", lambda x: torch.pow(x, 3), [randn(3, 4)])
case("pow_scalar0_5", lambda x: torch.pow(x, 0.5), [pos(3, 4)])
case("maximum", torch.maximum, [randn(3, 4), randn(3, 4)])
case("maximum_row", torch.maximum, [randn(3, 4), randn(4)])
case("minimum", torch.minimum, [randn(3, 4), randn(3, 4)])
case("minimum_outer", torch.minimum, [randn(3, 1), randn(1, 4)])

# ---------------------------------------------------------------- unary math and activations
case("neg", torch.neg, [randn(3, 4)])
case("exp", torch.exp, [randn(3, 4)])
case("log", torch.log, [pos(3, 4)])
case("sqrt", torch.sqrt, [pos(3, 4)])
case("rsqrt", torch.rsqrt, [pos(3, 4)])
case("abs", torch.abs, [randn(3, 4)])
case("sin", torch.sin, [randn(3, 4)])
case("cos", torch.cos, [randn(3, 4)])
case("erf", torch.erf, [randn(3, 4)])
case("tanh", torch.tanh, [randn(3, 4)])
case("sigmoid", torch.sigmoid, [randn(3, 4)])
case("relu", torch.relu, [randn(3, 4)])
case("gelu", lambda x: F.gelu(x, approximate="none"), [2 * randn(3, 4)])
case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [2 * randn(3, 4)])
case("silu", F.silu, [2 * randn(3, 4)])
case("clamp", lambda x: torch.clamp(x, -0.5, 0.5), [randn(3, 4)])
case("where", lambda c, a, b: torch.where(c.bool(), a, b), [ints(0, 2, 3, 4).to(torch.uint8), randn(3, 4), randn(4)])
case("masked_fill", lambda x, m: x.masked_fill(m.bool(), -1.5), [randn(3, 4), ints(0, 2, 4).to(torch.uint8)])

# ---------------------------------------------------------------- reductions
case("sum_all", lambda x: x.sum(), [randn(3, 4)])
case("sum_dim1_keep", lambda x: x.sum(dim=(1,), keepdim=True), [randn(2, 3, 4)])
case("sum_dims02", lambda x: x.sum(dim=(0, 2)), [randn(2, 3, 4)])
case("mean_all", lambda x: x.mean(), [randn(3, 4)])
case("mean_dim1_keep", lambda x: x.mean(dim=(1,), keepdim=True), [randn(2, 3, 4)])
case("var_all", lambda x: x.var(unbiased=True), [randn(3, 4)])
case("var_all_c0", lambda x: x.var(unbiased=False), [randn(3, 4)])
case("var_dim1_keep", lambda x: x.var(dim=(1,), unbiased=True, keepdim=True), [randn(2, 3, 4)])
case("var_dim1_keep_c0", lambda x: x.var(dim=(1,), unbiased=False, keepdim=True), [randn(2, 3, 4)])
case("max_dim1", lambda x: torch.max(x, dim=1).values, [randn(2, 3, 4)])
case("max_dim0_keep", lambda x: torch.max(x, dim=0, keepdim=True).values, [randn(3, 4)])
case("min_dim1", lambda x: torch.min(x, dim=1).values, [randn(2, 3, 4)])
case("amax_all", torch.amax, [randn(3, 4)])
case("amin_all", torch.amin, [randn(3, 4)])
case("softmax_dim0", lambda x: torch.softmax(x, 0), [randn(3, 4)])
case("softmax_dimm1", lambda x: torch.softmax(x, -1), [randn(2, 3, 4)])
case("log_softmax_dim0", lambda x: torch.log_softmax(x, 0), [randn(3, 4)])
case("log_softmax_dimm1", lambda x: torch.log_softmax(x, -1), [randn(2, 3, 4)])

# ---------------------------------------------------------------- linear algebra
case("matmul_2d", torch.matmul, [randn(3, 4), randn(4, 5)])
case("matmul_1d_2d", torch.matmul, [randn(4), randn(4, 5)])
case("matmul_2d_1d", torch.matmul, [randn(3, 4), randn(4)])
case("matmul_dot", torch.matmul, [randn(4), randn(4)])
case("matmul_batch_2d", torch.matmul, [randn(2, 3, 4), randn(4, 5)])
case("matmul_batch_bcast", torch.matmul, [randn(2, 3, 4), randn(1, 4, 5)])
case("matmul_batch", torch.matmul, [randn(2, 3, 4), randn(2, 4, 5)])
case("transpose_matmul", lambda a, b: a.transpose(0, 1) @ b, [randn(4, 3), randn(4, 5)])
case("transpose_matmul_3d", lambda a, b: a.transpose(1, 2) @ b.transpose(-1, -2), [randn(2, 4, 3), randn(2, 5, 4)])

# ---------------------------------------------------------------- shapes and views
case("reshape", lambda x: x.reshape(4, 6), [randn(2, 3, 4)])
case("permute_reshape", lambda x: x.permute(2, 0, 1).reshape(4, 6), [randn(2, 3, 4)])
case("permute", lambda x: x.permute(2, 0, 1), [randn(2, 3, 4)])
case("transpose", lambda x: x.transpose(0, 2), [randn(2, 3, 4)])
case("expand", lambda x: x.expand(2, 3, 4), [randn(3, 1)])
case("slice_step", lambda x: x[:, 1:4:2], [randn(3, 4)])
case("slice_dim0", lambda x: x[1:3], [randn(4, 3)])
case("select", lambda x: x.select(1, -1), [randn(2, 3, 4)])
case("narrow", lambda x: x.narrow(1, 1, 2), [randn(3, 4)])
case("cat_dim0", lambda a, b: torch.cat([a, b], 0), [randn(2, 3), randn(1, 3)])
case("cat_dim1", lambda a, b, c: torch.cat([a, b, c], 1), [randn(3, 2), randn(3, 4), randn(3, 1)])
case("stack_dim1", lambda a, b, c: torch.stack([a, b, c], 1), [randn(3, 4), randn(3, 4), randn(3, 4)])
case("split_size", lambda x: torch.split(x, 2, dim=0), [randn(5, 4)])
case("split_sizes", lambda x: torch.split(x, [1, 3], dim=1), [randn(3, 4)])
case("chunk", lambda x: torch.chunk(x, 2, dim=1), [randn(3, 5)])

# ---------------------------------------------------------------- indexing
case("index_select_dim0", lambda x, i: torch.index_select(x, 0, i), [randn(5, 4), torch.tensor([0, 2, 2, 4])])
case("index_select_dim1", lambda x, i: torch.index_select(x, 1, i), [randn(3, 4), torch.tensor([3, 1, 3])])
case("gather", lambda x, i: torch.gather(x, 1, i), [randn(3, 4), ints(0, 4, 3, 5)])
case("scatter_add", lambda s, i, src: torch.scatter_add(s, 1, i, src), [randn(3, 5), ints(0, 5, 3, 4), randn(3, 4)])
case("embedding", lambda w, ids: F.embedding(ids, w), [randn(6, 3), torch.tensor([[0, 2, 5, 2], [1, 1, 3, 0]])])
case("embedding_padding", lambda w, ids: F.embedding(ids, w, padding_idx=1),
     [randn(6, 3), torch.tensor([[0, 2, 5, 2], [1, 1, 3, 0]])])

# ---------------------------------------------------------------- losses
TGT = torch.tensor([0, 3, 1, 1, 2])          # (5,) targets for (5, 4) logits
TGT_IGN = torch.tensor([0, -100, 1, 3, -100])  # with the default ignore_index
TGT_IGN1 = torch.tensor([0, 1, 2, 1, 3])       # ignore_index=1
W = torch.tensor([0.5, 2.0, 1.0, 1.5])       # class weights (no gradient in PyTorch)
NDTGT = ints(0, 4, 2, 3)                     # (2, 3) targets for (2, 4, 3) logits

case("ce_mean", lambda x, t: F.cross_entropy(x, t), [randn(5, 4), TGT])
case("ce_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"), [randn(5, 4), TGT])
case("ce_none", lambda x, t: F.cross_entropy(x, t, reduction="none"), [randn(5, 4), TGT])
case("ce_weight", lambda x, t, w: F.cross_entropy(x, t, weight=w), [randn(5, 4), TGT, W], grad=[0])
case("ce_weight_none", lambda x, t, w: F.cross_entropy(x, t, weight=w, reduction="none"), [randn(5, 4), TGT, W],
     grad=[0])
case("ce_ignore", lambda x, t: F.cross_entropy(x, t), [randn(5, 4), TGT_IGN])
case("ce_ignore1_sum", lambda x, t: F.cross_entropy(x, t, ignore_index=1, reduction="sum"), [randn(5, 4), TGT_IGN1])
case("ce_smooth", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), [randn(5, 4), TGT])
case("ce_smooth_sum", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, reduction="sum"), [randn(5, 4), TGT])
case("ce_smooth_none", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, reduction="none"), [randn(5, 4), TGT])
case("ce_weight_smooth", lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1), [randn(5, 4), TGT, W],
     grad=[0])
case("ce_weight_smooth_ignore", lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
     [randn(5, 4), TGT_IGN, W], grad=[0])
case("ce_smooth_ignore1_none",
     lambda x, t: F.cross_entropy(x, t, ignore_index=1, label_smoothing=0.1, reduction="none"), [randn(5, 4), TGT_IGN1])
case("ce_nd", lambda x, t: F.cross_entropy(x, t), [randn(2, 4, 3), NDTGT])
case("ce_nd_none", lambda x, t: F.cross_entropy(x, t, reduction="none"), [randn(2, 4, 3), NDTGT])
case("ce_nd_weight_smooth", lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
     [randn(2, 4, 3), NDTGT, W], grad=[0])
case("nll_mean", lambda x, t: F.nll_loss(x, t), [randn(5, 4), TGT])
case("nll_sum", lambda x, t: F.nll_loss(x, t, reduction="sum"), [randn(5, 4), TGT])
case("nll_none", lambda x, t: F.nll_loss(x, t, reduction="none"), [randn(5, 4), TGT])
case("nll_weight", lambda x, t, w: F.nll_loss(x, t, weight=w), [randn(5, 4), TGT, W], grad=[0])
case("nll_weight_ignore", lambda x, t, w: F.nll_loss(x, t, weight=w), [randn(5, 4), TGT_IGN, W], grad=[0])
case("nll_nd", lambda x, t: F.nll_loss(x, t), [randn(2, 4, 3), NDTGT])
case("mse_mean", F.mse_loss, [randn(3, 4), randn(3, 4)])
case("mse_sum", lambda x, y: F.mse_loss(x, y, reduction="sum"), [randn(3, 4), randn(3, 4)])
case("mse_none", lambda x, y: F.mse_loss(x, y, reduction="none"), [randn(3, 4), randn(3, 4)])
case("bce_logits", F.binary_cross_entropy_with_logits, [2 * randn(3, 4), torch.rand(3, 4)])
case("bce_logits_weight_pos", lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw),
     [2 * randn(3, 4), torch.rand(3, 4), pos(3, 4), pos(4)], grad=[0, 1])
case("bce_logits_pos_sum",
     lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="sum"),
     [2 * randn(3, 4), torch.rand(3, 4), pos(4)], grad=[0, 1])
case("bce_logits_weight_none",
     lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, weight=w, reduction="none"),
     [2 * randn(3, 4), torch.rand(3, 4), pos(4)], grad=[0, 1])


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.join(root, "tests", "fixtures", "ops.safetensors")
    tensors = [t for entries in CASES.values() for t in entries]
    write_safetensors(out, tensors, {"generator": "scripts/make_fixtures.py", "torch": torch.__version__})
    print(f"{out}: {len(CASES)} cases, {len(tensors)} tensors, {os.path.getsize(out)} bytes")
