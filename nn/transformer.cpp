// nn::TransformerEncoderLayer and nn::TransformerEncoder (see transformer.h).
// Shape legend: B batch, T length, E d_model, F dim_feedforward.
#include "nn/transformer.h"

namespace heed::nn {

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& o)
    : Module("TransformerEncoderLayer"), options(o) {
  HEED_CHECK(o.activation == "relu" || o.activation == "gelu",
             "TransformerEncoderLayer: activation must be \"relu\" or \"gelu\", got \"{}\"", o.activation);
  HEED_CHECK(o.dim_feedforward > 0, "TransformerEncoderLayer: dim_feedforward must be positive, got {}",
             o.dim_feedforward);
  // Registered in PyTorch's order, so state_dict() lists the same keys in the same order.
  self_attn =
      register_module("self_attn", std::make_shared<MultiHeadAttention>(o.d_model, o.nhead, o.dropout, true,
                                                                        std::nullopt, std::nullopt, o.batch_first));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout));
}

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward, double p,
                                                 const std::string& activation, bool batch_first, bool norm_first)
    : TransformerEncoderLayer(TransformerEncoderLayerOptions{d_model, nhead, dim_feedforward, p, activation, 1e-5,
                                                             batch_first, norm_first}) {}

std::string TransformerEncoderLayer::extra_repr() const {
  return fmt::format(
      "d_model={}, nhead={}, dim_feedforward={}, dropout={}, activation={}, batch_first={}, "
      "norm_first={}",
      options.d_model, options.nhead, options.dim_feedforward, options.dropout, options.activation, options.batch_first,
      options.norm_first);
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const AttentionMasks& masks) {
  return run(src, masks, nullptr);
}

std::pair<Tensor, Tensor> TransformerEncoderLayer::forward_with_weights(const Tensor& src, const AttentionMasks& masks) {
  Tensor weights;
  Tensor out = run(src, masks, &weights);
  return {out, weights};
}

Tensor TransformerEncoderLayer::run(const Tensor& src, const AttentionMasks& masks, Tensor* weights) {
  auto self_attention = [&](const Tensor& x) {  // (…, E) -> (…, E)
    auto attended = self_attn->forward(x, x, x, masks, /*need_weights=*/weights != nullptr);
    if (weights) *weights = attended.weights;
    return dropout1->forward(attended.output);
  };
  auto feed_forward = [&](const Tensor& x) {  // (…, E) -> (…, F) -> (…, E)
    Tensor hidden = linear1->forward(x);
    hidden = options.activation == "relu" ? relu(hidden) : gelu(hidden);
    return dropout2->forward(linear2->forward(dropout->forward(hidden)));
  };
  Tensor x = src;
  if (options.norm_first) {
    x = x + self_attention(norm1->forward(x));
    x = x + feed_forward(norm2->forward(x));
  } else {
    x = norm1->forward(x + self_attention(x));
    x = norm2->forward(x + feed_forward(x));
  }
  return x;
}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayerOptions& layer_options, int64_t num_layers_,
                                       bool final_norm)
    : Module("TransformerEncoder"), num_layers(num_layers_) {
  HEED_CHECK(num_layers > 0, "TransformerEncoder: num_layers must be positive, got {}", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < num_layers; ++i) layers->push_back(std::make_shared<TransformerEncoderLayer>(layer_options));
  if (final_norm)
    norm = register_module("norm", std::make_shared<LayerNorm>(layer_options.d_model, layer_options.layer_norm_eps));
}

TransformerEncoderLayer& TransformerEncoder::layer(size_t i) const {
  return static_cast<TransformerEncoderLayer&>(*(*layers)[i]);
}

Tensor TransformerEncoder::forward(const Tensor& src, const AttentionMasks& masks) {
  Tensor x = src;
  for (size_t i = 0; i < layers->size(); ++i) x = layer(i).forward(x, masks);
  return norm ? norm->forward(x) : x;
}

}  // namespace heed::nn
