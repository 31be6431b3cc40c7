#!/usr/bin/python3
# Writes tests/fixtures/conv.safetensors: PyTorch's values and gradients for heed's convolution,
# pooling and batch-norm ops and layers, read back by tests/autograd/test_conv.cpp (functional
# ops) and tests/nn/test_conv.cpp (the nn_* cases: layers). Run with Debian's python3:
#   /usr/bin/python3 scripts/make_conv_fixtures.py
#
# Functional case NAME (the layout of scripts/make_fixtures.py):
#   NAME.in0, NAME.in1, ...   inputs (float64 unless the case says float32)
#   NAME.out, NAME.gout       output and a random upstream gradient of its shape
#   NAME.gradK                d sum(out * gout) / d inK, for each input K that requires grad
#   NAME.afterK               input K's value after the call (batch norm's running statistics)
# Layer cases nn_NAME hold named tensors described where they are made.
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(4321)
torch.set_default_dtype(torch.float64)

CASES = {}  # name -> list of (tensor name, numpy array), in order


def randn(*shape, dtype=torch.float64):
    return torch.randn(*shape, dtype=dtype)


def case(name, fn, inputs, grad=None, after=()):
    """Records fn(*inputs). grad: inputs that require grad (default: every float one).
    after: inputs fn updates in place, recorded again after the call."""
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
    gout = torch.randn(out.shape, dtype=out.dtype)
    grads = torch.autograd.grad((out * gout).sum(), [leaves[i] for i in grad]) if grad else []
    entries = [(f"in{i}", x.detach()) for i, x in enumerate(inputs)]
    entries += [("out", out.detach()), ("gout", gout)]
    entries += [(f"grad{i}", g) for i, g in zip(grad, grads)]
    entries += [(f"after{i}", leaves[i].detach()) for i in after]
    CASES[name] = [(f"{name}.{k}", t.contiguous().numpy()) for k, t in entries]


def named(name, tensors):
    """A layer case: tensors is a list of (key, tensor)."""
    assert "." not in name and name not in CASES, name
    CASES[name] = [(f"{name}.{k}", t.detach().contiguous().numpy()) for k, t in tensors]


# ---------------------------------------------------------------- im2col / col2im (unfold / fold)
case("unfold", lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [randn(2, 3, 5, 6)])
case("unfold_plain", lambda x: F.unfold(x, 2), [randn(1, 2, 3, 4)])
# fold of (2, 3·2·3, L): output 5x6 with the unfold case's parameters has 3x4 windows
case("fold", lambda c: F.fold(c, (5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [randn(2, 18, 12)])
case("fold_overlap", lambda c: F.fold(c, (4, 4), 3, padding=1), [randn(1, 18, 16)])

# ---------------------------------------------------------------- conv2d
case("conv2d", F.conv2d, [randn(2, 3, 6, 7), randn(4, 3, 3, 3), randn(4)])
case("conv2d_stride2_pad1", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
     [randn(2, 3, 6, 7), randn(4, 3, 3, 3), randn(4)])
case("conv2d_dilation_nobias", lambda x, w: F.conv2d(x, w, stride=(1, 2), padding=(1, 2), dilation=2),
     [randn(2, 3, 7, 8), randn(5, 3, 3, 2)])
case("conv2d_groups2", lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
     [randn(2, 4, 5, 5), randn(6, 2, 3, 3), randn(6)])
case("conv2d_depthwise", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), groups=3),
     [randn(2, 3, 6, 5), randn(6, 1, 3, 3), randn(6)])
case("conv2d_1x1", F.conv2d, [randn(2, 5, 3, 4), randn(3, 5, 1, 1), randn(3)])
case("conv2d_unbatched", lambda x, w, b: F.conv2d(x, w, b, padding=1), [randn(3, 5, 5), randn(2, 3, 3, 3), randn(2)])
case("conv2d_f32", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
     [randn(2, 3, 9, 9, dtype=torch.float32), randn(8, 3, 3, 3, dtype=torch.float32), randn(8, dtype=torch.float32)])

# ---------------------------------------------------------------- conv1d
case("conv1d", F.conv1d, [randn(2, 3, 10), randn(4, 3, 3), randn(4)])
case("conv1d_stride2_pad2_dil2", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2),
     [randn(2, 3, 11), randn(4, 3, 3), randn(4)])
case("conv1d_groups2_nobias", lambda x, w: F.conv1d(x, w, padding=1, groups=2), [randn(2, 4, 9), randn(6, 2, 3)])
case("conv1d_unbatched", F.conv1d, [randn(3, 8), randn(2, 3, 4), randn(2)])
case("conv1d_f32", lambda x, w, b: F.conv1d(x, w, b, padding=1),
     [randn(3, 4, 12, dtype=torch.float32), randn(5, 4, 3, dtype=torch.float32), randn(5, dtype=torch.float32)])

# ---------------------------------------------------------------- pooling
case("max_pool2d_k2", lambda x: F.max_pool2d(x, 2), [randn(2, 3, 6, 7)])
case("max_pool2d_k3s2p1", lambda x: F.max_pool2d(x, 3, 2, 1), [randn(2, 3, 7, 6)])
case("max_pool2d_rect_dilated", lambda x: F.max_pool2d(x, (2, 3), (1, 2), (1, 1), dilation=(2, 1)), [randn(2, 2, 6, 7)])
# Ties (small integers): the gradient goes to the first maximum in row-major window order.
case("max_pool2d_ties", lambda x: F.max_pool2d(x, 3, 1, 1), [torch.randint(0, 3, (1, 2, 5, 5)).double()])
# A window whose in-bounds elements are all -inf: PyTorch takes its first in-bounds element.
NEG_INF_CORNER = torch.randn(1, 2, 5, 5)
NEG_INF_CORNER[:, :, :2, :2] = float("-inf")
case("max_pool2d_all_neg_inf_window", lambda x: F.max_pool2d(x, 3, 2, 1), [NEG_INF_CORNER])
case("max_pool2d_unbatched", lambda x: F.max_pool2d(x, 2, 1), [randn(3, 4, 5)])
case("max_pool2d_f32", lambda x: F.max_pool2d(x, 3, 2), [randn(2, 4, 9, 9, dtype=torch.float32)])
case("avg_pool2d_k2", lambda x: F.avg_pool2d(x, 2), [randn(2, 3, 6, 7)])
case("avg_pool2d_k3s2p1", lambda x: F.avg_pool2d(x, 3, 2, 1), [randn(2, 3, 7, 6)])
case("avg_pool2d_exclude_pad", lambda x: F.avg_pool2d(x, (3, 2), (2, 1), 1, count_include_pad=False),
     [randn(2, 2, 7, 5)])
case("avg_pool2d_f32", lambda x: F.avg_pool2d(x, 3, 2, 1), [randn(2, 4, 9, 9, dtype=torch.float32)])
case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [randn(2, 3, 5, 7)])
case("adaptive_avg_pool2d_global", lambda x: F.adaptive_avg_pool2d(x, 1), [randn(2, 3, 4, 5)])
case("adaptive_avg_pool2d_grow", lambda x: F.adaptive_avg_pool2d(x, (5, 4)), [randn(2, 2, 3, 3)])
case("adaptive_avg_pool2d_f32", lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
     [randn(2, 4, 7, 8, dtype=torch.float32)])

# ---------------------------------------------------------------- batch norm
# Inputs: x, weight, bias, running_mean, running_var (the last two without gradients).
def stats(c, dtype=torch.float64):
    return [randn(c, dtype=dtype), torch.rand(c, dtype=dtype) + 0.5]


case("batch_norm_train_2d", lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, training=True),
     [randn(4, 3, 3, 3), randn(3), randn(3)] + stats(3), grad=[0, 1, 2], after=[3, 4])
case("batch_norm_train_1d_momentum", lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, True, 0.3, 1e-3),
     [randn(6, 4), randn(4), randn(4)] + stats(4), grad=[0, 1, 2], after=[3, 4])
case("batch_norm_train_3d_noaffine", lambda x, rm, rv: F.batch_norm(x, rm, rv, training=True),
     [randn(4, 3, 5)] + stats(3), grad=[0], after=[1, 2])
case("batch_norm_train_nostats", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     [randn(3, 2, 4, 2), randn(2), randn(2)])
case("batch_norm_eval", lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, training=False),
     [randn(4, 3, 3, 3), randn(3), randn(3)] + stats(3), grad=[0, 1, 2], after=[3, 4])
case("batch_norm_train_f32", lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, training=True),
     [randn(8, 4, 5, 5, dtype=torch.float32), randn(4, dtype=torch.float32), randn(4, dtype=torch.float32)]
     + stats(4, torch.float32), grad=[0, 1, 2], after=[3, 4])


# ---------------------------------------------------------------- layers (tests/nn/test_conv.cpp)
def conv_layer(name, layer, x):
    """weight, bias, x, y = layer(x), gout, and the grads of sum(y * gout)."""
    x = x.clone().requires_grad_(True)
    y = layer(x)
    gout = torch.randn(y.shape)
    dx, dw, db = torch.autograd.grad((y * gout).sum(), [x, layer.weight, layer.bias])
    named(name, [("weight", layer.weight), ("bias", layer.bias), ("x", x), ("y", y), ("gout", gout),
                 ("grad_x", dx), ("grad_weight", dw), ("grad_bias", db)])


conv_layer("nn_conv2d", nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
           randn(2, 4, 7, 6))
conv_layer("nn_conv1d", nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2), randn(2, 3, 9))


def batchnorm_layer(name, layer, xs):
    """Random affine parameters, one training step per x in xs but the last, then eval on the
    last: weight, bias, x0.., y0.., running_mean, running_var, num_batches_tracked, and the
    gradients of the first step's sum(y0 * gout0)."""
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape))
        layer.bias.copy_(torch.randn(layer.bias.shape))
    tensors = [("weight", layer.weight.clone()), ("bias", layer.bias.clone())]
    layer.train()
    for k, x in enumerate(xs):
        if k == len(xs) - 1:
            layer.eval()
        x = x.clone().requires_grad_(k == 0)
        y = layer(x)
        tensors += [(f"x{k}", x), (f"y{k}", y)]
        if k == 0:
            gout = torch.randn(y.shape)
            dx, dw, db = torch.autograd.grad((y * gout).sum(), [x, layer.weight, layer.bias])
            tensors += [("gout0", gout), ("grad_x0", dx), ("grad_weight", dw), ("grad_bias", db)]
    tensors += [("running_mean", layer.running_mean), ("running_var", layer.running_var),
                ("num_batches_tracked", layer.num_batches_tracked)]
    named(name, tensors)


batchnorm_layer("nn_batchnorm2d", nn.BatchNorm2d(3), [randn(4, 3, 3, 3), randn(4, 3, 3, 3), randn(2, 3, 3, 3)])
batchnorm_layer("nn_batchnorm1d_cumulative", nn.BatchNorm1d(4, momentum=None, eps=1e-3),
                [randn(5, 4), randn(5, 4), randn(5, 4), randn(3, 4)])
batchnorm_layer("nn_batchnorm1d_3d", nn.BatchNorm1d(2), [randn(3, 2, 4), randn(3, 2, 4)])


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.join(root, "tests", "fixtures", "conv.safetensors")
    tensors = [t for entries in CASES.values() for t in entries]
    write_safetensors(out, tensors, {"generator": "scripts/make_conv_fixtures.py", "torch": torch.__version__})
    print(f"{out}: {len(CASES)} cases, {len(tensors)} tensors, {os.path.getsize(out)} bytes")
