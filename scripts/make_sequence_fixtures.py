#!/usr/bin/python3
# Writes tests/fixtures/sequence.safetensors: PyTorch's values and gradients for heed's sequence
# layers (MultiheadAttention, TransformerEncoderLayer / TransformerEncoder, LSTM, GRU, attention
# pooling, sinusoidal positions), read back by tests/nn/test_attention_torch.cpp. Run with
# Debian's python3 (torch + numpy):
#   /usr/bin/python3 scripts/make_sequence_fixtures.py
#
# Per case NAME (no '.' in names), all floats F64, masks U8:
#   NAME.p.<key>          the module's state_dict, PyTorch's names
#   NAME.in<K>            inputs (masks and initial states included)
#   NAME.out<K>           outputs (e.g. out0 = attention output, out1 = weights)
#   NAME.gout<K>          a random tensor of out<K>'s shape
#   NAME.gin<K>           d Σ_K sum(out<K> * gout<K>) / d in<K>, for each float input that requires grad
#   NAME.gp.<name>        the same for every parameter, by its named_parameters() name
# Modules run in eval mode (dropout off) with grad enabled, so PyTorch takes its reference
# (not fast) path. No query row is fully masked: PyTorch 1.13 gives NaN there, heed gives 0.
# The safetensors file is written by hand (8-byte LE header length, JSON header, raw bytes).
import math
import os

import torch
import torch.nn as nn
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(2468)
torch.set_default_dtype(torch.float64)

CASES = {}  # name -> list of (tensor name, numpy array)


def randn(*shape):
    return torch.randn(*shape)


def mask(rows):  # a bool mask from nested lists of 0/1
    return torch.tensor(rows, dtype=torch.bool)


def case(name, module, inputs, call, grad=None):
    """Records call(module, *inputs) -> tuple of outputs. grad: indices of inputs that require grad
    (default: every float input)."""
    assert "." not in name and name not in CASES, name
    module.eval()
    if grad is None:
        grad = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    leaves = []
    for i, x in enumerate(inputs):
        x = x.detach().clone()
        if i in grad:
            x.requires_grad_(True)
        leaves.append(x)
    outs = call(module, *leaves)
    gouts = [torch.randn(o.shape) for o in outs]
    loss = sum((o * g).sum() for o, g in zip(outs, gouts))
    params = list(module.named_parameters())
    wrt = [leaves[i] for i in grad] + [p for _, p in params]
    grads = torch.autograd.grad(loss, wrt)
    entries = [(f"p.{k}", v) for k, v in module.state_dict().items()]
    entries += [(f"in{i}", x.detach()) for i, x in enumerate(inputs)]
    for k, (o, g) in enumerate(zip(outs, gouts)):
        assert not torch.isnan(o).any(), f"{name}: output {k} has NaN"
        entries += [(f"out{k}", o.detach()), (f"gout{k}", g)]
    entries += [(f"gin{i}", g) for i, g in zip(grad, grads[: len(grad)])]
    entries += [(f"gp.{n}", g) for (n, _), g in zip(params, grads[len(grad):])]
    CASES[name] = [(f"{name}.{k}", t.detach().contiguous().numpy()) for k, t in entries]


def float_mask(shape, blocked):
    """An additive mask: random finite values, -inf where `blocked` (bool) is true."""
    return torch.randn(shape).masked_fill(blocked, float("-inf"))


def causal(T, S):
    return torch.ones(T, S, dtype=torch.bool).triu(1)  # true above the diagonal: key s > query t


# ---------------------------------------------------------------- MultiheadAttention
# Self-attention, time-major (T=3, B=2, E=4), head-averaged weights.
case("mha_self", nn.MultiheadAttention(4, 2), [randn(3, 2, 4)],
     lambda m, x: m(x, x, x, need_weights=True))
# Cross-attention with kdim=3, vdim=5 (separate q/k/v weights), batch_first, key padding,
# per-head weights.
case("mha_cross_kdim_vdim", nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True),
     [randn(2, 3, 4), randn(2, 4, 3), randn(2, 4, 5), mask([[0, 0, 1, 0], [0, 0, 0, 1]])],
     lambda m, q, k, v, kpm: m(q, k, v, key_padding_mask=kpm, need_weights=True, average_attn_weights=False))
# Packed weights, distinct query / key / value tensors (the split in_proj path), no bias.
case("mha_packed_cross", nn.MultiheadAttention(4, 2, bias=False), [randn(2, 2, 4), randn(3, 2, 4), randn(3, 2, 4)],
     lambda m, q, k, v: m(q, k, v, need_weights=True))
# Causal self-attention: PyTorch gets the mask, heed its causal flag.
case("mha_causal", nn.MultiheadAttention(6, 3, batch_first=True), [randn(2, 4, 6)],
     lambda m, x: m(x, x, x, attn_mask=causal(4, 4), need_weights=True, average_attn_weights=False))
# A bool (T,S) attn_mask together with key padding.
case("mha_bool_mask_padding", nn.MultiheadAttention(4, 2, batch_first=True),
     [randn(2, 3, 4), mask([[0, 1, 0], [0, 0, 1], [1, 0, 0]]), mask([[0, 0, 0], [0, 1, 0]])],
     lambda m, x, am, kpm: m(x, x, x, attn_mask=am, key_padding_mask=kpm, need_weights=True))
# A float (B·H,T,S) additive mask with some -inf entries (no gradient through the mask).
case("mha_float_mask_3d", nn.MultiheadAttention(4, 2),
     [randn(3, 2, 4), float_mask((4, 3, 3), causal(3, 3).repeat(4, 1, 1))],
     lambda m, x, am: m(x, x, x, attn_mask=am, need_weights=True), grad=[0])
# Unbatched input (T,E).
case("mha_unbatched", nn.MultiheadAttention(4, 2), [randn(3, 4)], lambda m, x: m(x, x, x, need_weights=True))

# ---------------------------------------------------------------- Transformer encoder
def encoder_layer(**kw):
    return nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, **kw)


case("encoder_layer_post_relu", encoder_layer(), [randn(3, 2, 4)], lambda m, x: (m(x),))
case("encoder_layer_pre_gelu", encoder_layer(activation="gelu", norm_first=True, batch_first=True),
     [randn(2, 3, 4), mask([[0, 0, 1], [0, 0, 0]])], lambda m, x, kpm: (m(x, src_key_padding_mask=kpm),))
case("encoder_2layers_padding_norm",
     nn.TransformerEncoder(encoder_layer(batch_first=True), 2, norm=nn.LayerNorm(4)),
     [randn(2, 4, 4), mask([[0, 0, 0, 1], [0, 1, 1, 0]]), causal(4, 4)],
     lambda m, x, kpm, am: (m(x, mask=am, src_key_padding_mask=kpm),))

# ---------------------------------------------------------------- LSTM and GRU
# 2 layers, bidirectional, batch_first (B=2, T=3, I=3, N=2), with an initial state.
case("lstm_2layer_bidir", nn.LSTM(3, 2, num_layers=2, bidirectional=True, batch_first=True),
     [randn(2, 3, 3), randn(4, 2, 2), randn(4, 2, 2)],
     lambda m, x, h0, c0: (lambda o: (o[0], o[1][0], o[1][1]))(m(x, (h0, c0))))
# 1 layer, time-major, no bias, zero initial state.
case("lstm_nobias", nn.LSTM(3, 4, bias=False), [randn(4, 2, 3)],
     lambda m, x: (lambda o: (o[0], o[1][0], o[1][1]))(m(x)))
case("gru_2layer_bidir", nn.GRU(3, 2, num_layers=2, bidirectional=True, batch_first=True),
     [randn(2, 3, 3), randn(4, 2, 2)], lambda m, x, h0: m(x, h0))
case("gru_1layer", nn.GRU(2, 3), [randn(4, 2, 2)], lambda m, x: m(x))
case("lstm_unbatched", nn.LSTM(3, 2), [randn(4, 3), randn(1, 2), randn(1, 2)],
     lambda m, x, h0, c0: (lambda o: (o[0], o[1][0], o[1][1]))(m(x, (h0, c0))))


# ---------------------------------------------------------------- attention pooling
class AdditivePooling(nn.Module):
    """score_t = vᵀ tanh(W h_t + b), softmax over t with padding excluded, Σ_t a_t h_t."""

    def __init__(self, input_size, attention_size):
        super().__init__()
        self.proj = nn.Linear(input_size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(self, h, pad):
        s = self.score(torch.tanh(self.proj(h))).squeeze(-1).masked_fill(pad, float("-inf"))
        a = torch.softmax(s, -1)
        return (a.unsqueeze(1) @ h).squeeze(1), a


case("pool_additive", AdditivePooling(4, 3), [randn(2, 5, 4), mask([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]])],
     lambda m, h, pad: m(h, pad))


# ---------------------------------------------------------------- sinusoidal positions
class Sinusoidal(nn.Module):
    """The PyTorch tutorial's PositionalEncoding, also for odd d_model."""

    def __init__(self, d_model, max_len):
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div[: d_model // 2])
        self.register_buffer("pe", pe)

    def forward(self, x):  # (T,B,E)
        return x + self.pe[: x.size(0)].unsqueeze(1)


case("sinusoidal_even", Sinusoidal(6, 10), [randn(7, 2, 6)], lambda m, x: (m(x),))
case("sinusoidal_odd", Sinusoidal(5, 8), [randn(8, 1, 5)], lambda m, x: (m(x),))


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.join(root, "tests", "fixtures", "sequence.safetensors")
    tensors = [t for entries in CASES.values() for t in entries]
    write_safetensors(out, tensors, {"generator": "scripts/make_sequence_fixtures.py", "torch": torch.__version__})
    print(f"{out}: {len(CASES)} cases, {len(tensors)} tensors, {os.path.getsize(out)} bytes")
