// The Transformer encoder ("Attention Is All You Need", https://arxiv.org/abs/1706.03762),
// compatible with torch.nn.TransformerEncoderLayer / TransformerEncoder: same submodule names
// (self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2; layers.N, norm), so
// a PyTorch state dict loads unchanged.
//   post-norm (default):  x = norm1(x + SA(x)),          x = norm2(x + FF(x))
//   pre-norm (norm_first): x = x + SA(norm1(x)),          x = x + FF(norm2(x))
//   SA(x) = dropout1(self_attn(x, x, x)),  FF(x) = dropout2(linear2(dropout(act(linear1(x)))))
// Not here: the decoder, and PyTorch's inference fast path (nested tensors).
//
// Shape legend: B batch, T sequence length, E d_model, H nhead, F dim_feedforward.
//   src (T,B,E), or (B,T,E) with batch_first -> same shape
//   masks.attn_mask (T,S) / (B·H,T,S) (PyTorch's `mask`), masks.key_padding_mask (B,T)
//   (PyTorch's `src_key_padding_mask`, true = padding), masks.causal (query t sees keys ≤ t)
#pragma once
#include <memory>
#include <string>
#include <utility>

#include "nn/attention.h"
#include "nn/container.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/normalization.h"

namespace heed::nn {

// torch.nn.TransformerEncoderLayer's arguments, with its defaults.
struct TransformerEncoderLayerOptions {
  int64_t d_model = 512;
  int64_t nhead = 8;
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  std::string activation = "relu";  // "relu" or "gelu" (exact, erf form)
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;  // pre-norm
};

class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerEncoderLayerOptions& options);
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, double dropout = 0.1,
                          const std::string& activation = "relu", bool batch_first = false, bool norm_first = false);
  Tensor forward(const Tensor& src, const AttentionMasks& masks);  // (T,B,E) / (B,T,E) -> same
  Tensor forward(const Tensor& src) override { return forward(src, AttentionMasks{}); }
  // forward, and the self-attention weights averaged over heads, (B,T,S) (or (T,S) unbatched), with
  // their graph, so that a loss can shape them.
  std::pair<Tensor, Tensor> forward_with_weights(const Tensor& src, const AttentionMasks& masks);
  std::string extra_repr() const override;

  const TransformerEncoderLayerOptions options;
  std::shared_ptr<MultiHeadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;  // E -> F, F -> E
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  Tensor run(const Tensor& src, const AttentionMasks& masks, Tensor* weights);
};

class TransformerEncoder : public Module {
 public:
  // num_layers copies of the layer (each initialised afresh); final_norm adds "norm", a
  // LayerNorm(d_model, layer_norm_eps) after the last layer (usual with pre-norm layers).
  TransformerEncoder(const TransformerEncoderLayerOptions& layer, int64_t num_layers, bool final_norm = false);
  Tensor forward(const Tensor& src, const AttentionMasks& masks);  // (T,B,E) / (B,T,E) -> same
  Tensor forward(const Tensor& src) override { return forward(src, AttentionMasks{}); }
  TransformerEncoderLayer& layer(size_t i) const;

  const int64_t num_layers;
  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;  // null without final_norm
};

}  // namespace heed::nn
