// Sequence ops: scaled dot-product attention, masked softmax, the LSTM / GRU cell steps, and two
// one-node splits that keep recurrences' backward linear in T. Each is composed from
// differentiable ops (matmul, softmax, masked_fill, sigmoid, tanh, cat), so each has a double
// backward and runs on any device. Not here: fused kernels (a later benchmarks issue), and the
// modules that own parameters (nn/attention.h, nn/recurrent.h).
//
// Shape legend: B batch, H heads, T query length, S key length, D query/key head size,
// Dv value head size, I input size, N hidden size.
//
// Attention ("Attention Is All You Need", https://arxiv.org/abs/1706.03762):
//   A = softmax(q·kᵀ·scale + additive_mask, over S),  out = dropout(A)·v,  scale = 1/√D.
// Masked scores get exactly zero weight (they are set to the dtype's lowest finite value, whose
// exp is 0 like −inf's, so anomaly mode sees no Inf).
// A query row whose keys are all masked out gets zero weights and a zero output (and zero
// gradients), not PyTorch 1.13's NaN: heed treats "nothing to attend to" as "attend to nothing".
//
//   auto [out, weights] = heed::scaled_dot_product_attention(q, k, v, {.causal = true, .need_weights = true});
#pragma once
#include <optional>
#include <vector>

#include "tensor/tensor.h"

namespace heed {

// Members have default initialisers, so designated initialisers may name any subset.
struct AttentionOptions {
  // Bool (uint8, true = masked out) or float (added to the scores; −inf masks out);
  // broadcastable to (B,H,T,S), e.g. (T,S) or (B,1,T,S).
  Tensor attn_mask{};
  Tensor key_padding_mask{};  // (B,S) bool, true = padding (masked out for every query)
  bool causal = false;        // query t sees keys s ≤ t (top-left aligned when T ≠ S)
  double dropout_p = 0.0;     // dropout on the weights, applied whenever > 0 (pass 0 in eval)
  bool need_weights = false;
  std::optional<double> scale{};  // default 1/√D
};

struct AttentionResult {
  Tensor output;   // (B,H,T,Dv)
  Tensor weights;  // (B,H,T,S) after dropout, as used; undefined unless need_weights
};

// q (B,H,T,D), k (B,H,S,D), v (B,H,S,Dv), all of one floating dtype.
AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const AttentionOptions& options = {});

// softmax over the last dim with `blocked` (bool, broadcastable to x) entries given exactly
// zero weight; a row with every entry blocked gets all-zero weights and zero gradient (not NaN).
// Used by attention and by attention pooling (nn/attention.h). x (…, S) -> (…, S).
Tensor masked_softmax(const Tensor& x, const Tensor& blocked);

// ---- recurrent cells (torch.nn.LSTMCell / GRUCell formulas, gate order as PyTorch) ----
// LSTM (Hochreiter & Schmidhuber 1997, https://www.bioinf.jku.at/publications/older/2604.pdf):
//   [i f g o] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh
//   c' = σ(f)⊙c + σ(i)⊙tanh(g),  h' = σ(o)⊙tanh(c')
// GRU (Cho et al. 2014, https://arxiv.org/abs/1406.1078):
//   [r z] = σ(x·W_ih[r z]ᵀ + b_ih[r z] + h·W_hh[r z]ᵀ + b_hh[r z])
//   n = tanh(x·W_inᵀ + b_in + r⊙(h·W_hnᵀ + b_hn)),  h' = (1 − z)⊙n + z⊙h
struct LstmState {
  Tensor h;  // (B,N)
  Tensor c;  // (B,N)
};

// One LSTM step from the input's projection, hoisted out of the time loop by the caller:
// x_proj (B,4N) = x·W_ihᵀ + b_ih + b_hh; h, c (B,N); w_hh (4N,N). One GEMM for all four gates.
LstmState lstm_step(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh);
// x (B,I), h, c (B,N), w_ih (4N,I), w_hh (4N,N), b_ih, b_hh (4N) or undefined (no bias).
LstmState lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh);

// One GRU step: x_proj (B,3N) = x·W_ihᵀ + b_ih; h (B,N); w_hh (3N,N); b_hh (3N) or undefined.
Tensor gru_step(const Tensor& x_proj, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);
// x (B,I), h (B,N), w_ih (3N,I), w_hh (3N,N), b_ih, b_hh (3N) or undefined. Returns h' (B,N).
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh);

// ---- one-node splits, for recurrences and packed projections ----
// x.select(dim, t) for every t, recorded as ONE node whose backward stacks the parts' gradients
// (zeros for parts that got none): O(x) work, where T select()s would each build and add a zero
// tensor of x's full size, O(T·x). x (T,…) with dim 0 -> T tensors (…).
std::vector<Tensor> unbind_steps(const Tensor& x, int64_t dim);
// chunk(x, parts, dim) into equal views, as one node likewise; x.size(dim) % parts == 0.
std::vector<Tensor> split_gates(const Tensor& x, int64_t parts, int64_t dim);

}  // namespace heed
