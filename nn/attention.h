// Attention layers.
//   MultiHeadAttention: torch.nn.MultiheadAttention ("Attention Is All You Need",
//     https://arxiv.org/abs/1706.03762): project q, k, v, attend per head
//     (heed::scaled_dot_product_attention), concatenate heads, project out.
//       MultiHead(q, k, v) = Concat(head_1 … head_H)·W_oᵀ + b_o,
//       head_h = softmax(q·W_qhᵀ (k·W_khᵀ)ᵀ / √D + mask)·(v·W_vhᵀ)
//     Parameters are named, shaped and initialised as PyTorch's, so its state dict loads
//     unchanged: in_proj_weight (3E,E) when kdim = vdim = E, else q_proj_weight (E,E),
//     k_proj_weight (E,kdim), v_proj_weight (E,vdim); in_proj_bias (3E); out_proj.weight (E,E),
//     out_proj.bias (E). Init: xavier_uniform on the input projections, zero biases, out_proj's
//     weight as nn::Linear's.
//   AdditiveAttentionPooling: attention pooling over time (Bahdanau et al. 2014,
//     https://arxiv.org/abs/1409.0473, as used for sequence classification):
//       score_t = vᵀ·tanh(W·h_t + b),  a = softmax over t (padding excluded),  out = Σ_t a_t·h_t
//
// Shape legend: B batch, T query length, S key length, E embed_dim, H heads, D = E/H head size.
// Fully masked rows (a query, or a pooled sequence, with nothing to attend to) get zero weights
// and a zero attention output, where PyTorch 1.13 gives NaN (see autograd/attention.h).
#pragma once
#include <memory>
#include <optional>

#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/module.h"

namespace heed::nn {

// Masks for one attention call; members default-initialised, so {.causal = true} works.
struct AttentionMasks {
  Tensor key_padding_mask{};  // (B,S) bool (uint8), true = padding; (S) for unbatched input
  // bool (true = masked out) or float (added to the scores, −inf masks out), shaped as
  // PyTorch's (T,S) or (B·H,T,S), or any shape broadcastable to (B,H,T,S).
  Tensor attn_mask{};
  bool causal = false;  // query t attends to keys s ≤ t
};

class MultiHeadAttention : public Module {
 public:
  struct Output {
    Tensor output;   // (T,B,E), (B,T,E) with batch_first, or (T,E) unbatched
    Tensor weights;  // (B,T,S) averaged over heads, or (B,H,T,S); undefined unless need_weights
  };

  // kdim, vdim: key and value feature sizes (default embed_dim).
  MultiHeadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     std::optional<int64_t> kdim = std::nullopt, std::optional<int64_t> vdim = std::nullopt,
                     bool batch_first = false);

  // query (T,B,E) / (B,T,E) with batch_first / (T,E) unbatched; key (S,B,kdim), value (S,B,vdim)
  // laid out the same way. Passing one tensor as query, key and value (self-attention) projects
  // all three with a single GEMM. Weights returned are those applied (after dropout), as PyTorch.
  Output forward(const Tensor& query, const Tensor& key, const Tensor& value, const AttentionMasks& masks = {},
                 bool need_weights = true, bool average_attn_weights = true);
  Tensor forward(const Tensor& x) override;  // self-attention without masks, output only
  std::string extra_repr() const override;
  void reset_parameters();

  const int64_t embed_dim, num_heads, head_dim, kdim, vdim;
  const double dropout;  // on the attention weights, in training
  const bool batch_first;
  Tensor in_proj_weight;                               // (3E,E); undefined when kdim or vdim ≠ E
  Tensor q_proj_weight, k_proj_weight, v_proj_weight;  // (E,E), (E,kdim), (E,vdim); defined when they differ
  Tensor in_proj_bias;                                 // (3E); undefined without bias
  std::shared_ptr<Linear> out_proj;                    // (E) -> (E)
};

class AdditiveAttentionPooling : public Module {
 public:
  // attention_size 0 drops W: score_t = vᵀ·h_t + b (a single linear score, as in the `lstm`
  // workload). Submodules: "proj" (W, b: input_size -> attention_size, bias optional) and
  // "score" (vᵀ: attention_size -> 1, no bias); or only "score" (input_size -> 1, bias) with
  // attention_size 0.
  AdditiveAttentionPooling(int64_t input_size, int64_t attention_size, bool bias = true);

  // h (B,T,E), padding_mask (B,T) bool, true = padding, or undefined -> (B,E).
  // Sets last_weights (B,T) (a sequence that is all padding pools to zeros).
  Tensor forward(const Tensor& h, const Tensor& padding_mask);
  Tensor forward(const Tensor& h) override { return forward(h, Tensor()); }
  std::string extra_repr() const override;

  const int64_t input_size, attention_size;
  std::shared_ptr<Linear> proj;   // null when attention_size is 0
  std::shared_ptr<Linear> score;  // (attention_size or input_size) -> 1
  Tensor last_weights;            // (B,T) from the latest forward, part of its graph
};

}  // namespace heed::nn
