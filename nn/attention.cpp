// nn::MultiHeadAttention and nn::AdditiveAttentionPooling (see attention.h).
// Shape legend: B batch, T queries, S keys, E embed_dim, H heads, D head size.
#include "nn/attention.h"

#include "autograd/attention.h"
#include "nn/init.h"

namespace heed::nn {

MultiHeadAttention::MultiHeadAttention(int64_t embed_dim_, int64_t num_heads_, double dropout_, bool bias,
                                       std::optional<int64_t> kdim_, std::optional<int64_t> vdim_, bool batch_first_)
    : Module("MultiHeadAttention"),
      embed_dim(embed_dim_),
      num_heads(num_heads_),
      head_dim(num_heads_ > 0 ? embed_dim_ / num_heads_ : 0),
      kdim(kdim_.value_or(embed_dim_)),
      vdim(vdim_.value_or(embed_dim_)),
      dropout(dropout_),
      batch_first(batch_first_) {
  HEED_CHECK(embed_dim > 0 && num_heads > 0 && kdim > 0 && vdim > 0,
             "MultiHeadAttention: embed_dim, num_heads, kdim, vdim must be positive, got {}, {}, {}, {}", embed_dim,
             num_heads, kdim, vdim);
  HEED_CHECK(embed_dim % num_heads == 0, "MultiHeadAttention: embed_dim {} is not divisible by num_heads {}", embed_dim,
             num_heads);
  HEED_CHECK(dropout >= 0 && dropout < 1, "MultiHeadAttention: dropout must be in [0, 1), got {}", dropout);
  // Registered in PyTorch's order; out_proj (a Linear, drawing its own init) comes last.
  if (kdim == embed_dim && vdim == embed_dim) {
    in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed_dim, embed_dim}));
  } else {
    q_proj_weight = register_parameter("q_proj_weight", empty({embed_dim, embed_dim}));
    k_proj_weight = register_parameter("k_proj_weight", empty({embed_dim, kdim}));
    v_proj_weight = register_parameter("v_proj_weight", empty({embed_dim, vdim}));
  }
  if (bias) in_proj_bias = register_parameter("in_proj_bias", empty({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, bias));
  reset_parameters();
}

void MultiHeadAttention::reset_parameters() {  // torch.nn.MultiheadAttention._reset_parameters
  if (in_proj_weight.defined()) {
    init::xavier_uniform_(in_proj_weight);
  } else {
    init::xavier_uniform_(q_proj_weight);
    init::xavier_uniform_(k_proj_weight);
    init::xavier_uniform_(v_proj_weight);
  }
  if (in_proj_bias.defined()) init::zeros_(in_proj_bias);
  if (out_proj->bias.defined()) init::zeros_(out_proj->bias);
}

std::string MultiHeadAttention::extra_repr() const {
  return fmt::format("embed_dim={}, num_heads={}, dropout={}, bias={}, kdim={}, vdim={}, batch_first={}", embed_dim,
                     num_heads, dropout, in_proj_bias.defined(), kdim, vdim, batch_first);
}

Tensor MultiHeadAttention::forward(const Tensor& x) { return forward(x, x, x, {}, false).output; }

MultiHeadAttention::Output MultiHeadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const AttentionMasks& masks, bool need_weights,
                                                       bool average_attn_weights) {
  const char* layer = "MultiHeadAttention";
  const int64_t E = embed_dim, H = num_heads, D = head_dim;
  HEED_CHECK((query.dim() == 3 || query.dim() == 2) && key.dim() == query.dim() && value.dim() == query.dim(),
             "{}: query, key, value must all be 3-D ({}) or all 2-D (unbatched); got {}, {}, {}", layer,
             batch_first ? "B,T,E" : "T,B,E", query.shape(), key.shape(), value.shape());
  const Tensor& w = out_proj->weight;
  HEED_CHECK(query.dtype() == w.dtype() && key.dtype() == w.dtype() && value.dtype() == w.dtype(),
             "{}: query, key, value are {}, {}, {}; parameters are {}", layer, query.dtype(), key.dtype(),
             value.dtype(), w.dtype());
  HEED_CHECK(query.size(-1) == E && key.size(-1) == kdim && value.size(-1) == vdim,
             "{}: expected feature sizes embed_dim {}, kdim {}, vdim {}; got query {}, key {}, value {}", layer, E,
             kdim, vdim, query.shape(), key.shape(), value.shape());
  const bool unbatched = query.dim() == 2;
  // Batch and time dims of the given layout: (B,T,·) with batch_first, else (T,B,·).
  const int64_t bdim = unbatched ? -1 : batch_first ? 0 : 1, tdim = unbatched ? 0 : batch_first ? 1 : 0;
  const int64_t B = unbatched ? 1 : query.size(bdim), T = query.size(tdim), S = key.size(tdim);
  HEED_CHECK(key.shape().front() == value.shape().front() && (unbatched || key.size(1) == value.size(1)) &&
                 (unbatched || key.size(bdim) == B),
             "{}: key {} and value {} must share batch and length, and match query {}'s batch", layer, key.shape(),
             value.shape(), query.shape());

  // ---- projections, in the given layout (…, E)
  Tensor q, k, v;
  if (in_proj_weight.defined() && query.is_same(key) && key.is_same(value)) {
    std::vector<Tensor> qkv = split_gates(linear(query, in_proj_weight, in_proj_bias), 3, -1);  // one GEMM
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    std::vector<Tensor> b = in_proj_bias.defined() ? split_gates(in_proj_bias, 3, 0) : std::vector<Tensor>(3);
    std::vector<Tensor> ws = in_proj_weight.defined()
                                 ? split_gates(in_proj_weight, 3, 0)
                                 : std::vector<Tensor>{q_proj_weight, k_proj_weight, v_proj_weight};
    q = linear(query, ws[0], b[0]);
    k = linear(key, ws[1], b[1]);
    v = linear(value, ws[2], b[2]);
  }
  // (…, E) -> (B,H,L,D): split the features into heads, then move heads before time (views).
  auto heads = [&](const Tensor& t, int64_t L) {
    if (unbatched) return t.reshape({L, H, D}).permute({1, 0, 2}).unsqueeze(0);
    return batch_first ? t.reshape({B, L, H, D}).permute({0, 2, 1, 3}) : t.reshape({L, B, H, D}).permute({1, 2, 0, 3});
  };

  // ---- masks: PyTorch's layouts, checked here so errors name this layer
  AttentionOptions options;
  options.causal = masks.causal;
  options.need_weights = need_weights;
  options.dropout_p = is_training() ? dropout : 0.0;
  if (const Tensor& m = masks.attn_mask; m.defined()) {
    HEED_CHECK(m.dtype() == kBool || m.is_floating_point(), "{}: attn_mask must be bool (uint8) or floating, got {}",
               layer, m.dtype());
    if (m.dim() == 3) {
      HEED_CHECK(m.shape() == Shape({B * H, T, S}), "{}: 3-D attn_mask must be (B·H,T,S) = [{}, {}, {}], got {}", layer,
                 B * H, T, S, m.shape());
      options.attn_mask = m.reshape({B, H, T, S});
    } else {
      const Shape full{B, H, T, S};
      bool ok = m.dim() == 2 ? m.shape() == Shape({T, S}) : m.dim() == 4;
      for (int64_t i = 0; ok && i < m.dim(); ++i) {
        const int64_t want = full[static_cast<size_t>(4 - m.dim() + i)];
        ok = m.size(i) == want || m.size(i) == 1;
      }
      HEED_CHECK(ok,
                 "{}: attn_mask has shape {}; expected (T,S) = [{}, {}], (B·H,T,S) or a shape broadcastable to "
                 "(B,H,T,S) = {}",
                 layer, m.shape(), T, S, full);
      options.attn_mask = m;
    }
  }
  if (const Tensor& p = masks.key_padding_mask; p.defined()) {
    HEED_CHECK(p.dtype() == kBool, "{}: key_padding_mask must be bool (uint8), got {}", layer, p.dtype());
    const Shape want = unbatched ? Shape{S} : Shape{B, S};
    HEED_CHECK(p.shape() == want, "{}: key_padding_mask has shape {}, expected (B,S) = {}", layer, p.shape(), want);
    options.key_padding_mask = unbatched ? p.reshape({1, S}) : p;
  }

  AttentionResult r = scaled_dot_product_attention(heads(q, T), heads(k, S), heads(v, S), options);
  // (B,H,T,D) -> the input's layout with heads concatenated, (…, E).
  Tensor o = unbatched     ? r.output.squeeze(0).permute({1, 0, 2}).reshape({T, E})
             : batch_first ? r.output.permute({0, 2, 1, 3}).reshape({B, T, E})
                           : r.output.permute({2, 0, 1, 3}).reshape({T, B, E});
  Output out{out_proj->forward(o), Tensor()};
  if (need_weights) {
    out.weights = average_attn_weights ? r.weights.mean({1}) : r.weights;  // (B,T,S) or (B,H,T,S)
    if (unbatched) out.weights = out.weights.squeeze(0);
  }
  return out;
}

// ---- AdditiveAttentionPooling ----
AdditiveAttentionPooling::AdditiveAttentionPooling(int64_t input_size_, int64_t attention_size_, bool bias)
    : Module("AdditiveAttentionPooling"), input_size(input_size_), attention_size(attention_size_) {
  HEED_CHECK(input_size > 0 && attention_size >= 0,
             "AdditiveAttentionPooling: input_size must be positive and attention_size non-negative, got {}, {}",
             input_size, attention_size);
  if (attention_size > 0) {
    proj = register_module("proj", std::make_shared<Linear>(input_size, attention_size, bias));
    score = register_module("score", std::make_shared<Linear>(attention_size, 1, false));
  } else {
    score = register_module("score", std::make_shared<Linear>(input_size, 1, bias));
  }
}

std::string AdditiveAttentionPooling::extra_repr() const {
  return fmt::format("input_size={}, attention_size={}", input_size, attention_size);
}

Tensor AdditiveAttentionPooling::forward(const Tensor& h, const Tensor& padding_mask) {
  const char* layer = "AdditiveAttentionPooling";
  HEED_CHECK(h.dim() == 3 && h.size(2) == input_size, "{}: input must be (B,T,E) with E = input_size {}, got {}", layer,
             input_size, h.shape());
  if (padding_mask.defined())
    HEED_CHECK(padding_mask.dtype() == kBool && padding_mask.shape() == Shape({h.size(0), h.size(1)}),
               "{}: padding_mask must be bool (B,T) = [{}, {}], got {} {}", layer, h.size(0), h.size(1),
               padding_mask.dtype(), padding_mask.shape());
  Tensor hidden = proj ? tanh(proj->forward(h)) : h;       // (B,T,A) or (B,T,E)
  Tensor scores = score->forward(hidden).squeeze(-1);      // (B,T)
  last_weights = masked_softmax(scores, padding_mask);     // (B,T); all-padding rows: zeros
  return matmul(last_weights.unsqueeze(1), h).squeeze(1);  // (B,1,T)·(B,T,E) -> (B,E)
}

}  // namespace heed::nn
