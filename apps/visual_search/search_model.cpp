#include "apps/visual_search/search_model.h"

#include "tensor/error.h"

namespace heed::search {

nlohmann::json to_json(const SearchModelConfig& c) {
  return {{"canvas", c.canvas}, {"cell", c.cell},     {"item", c.item},   {"patch", c.patch},
          {"width", c.width},   {"layers", c.layers}, {"heads", c.heads}, {"feedforward", c.feedforward},
          {"dropout", c.dropout}, {"categories", c.categories}, {"stem_channels", c.stem_channels},
          {"patch_presence", c.patch_presence}};
}

SearchModelConfig search_model_config_from_json(const nlohmann::json& j) {
  try {
    SearchModelConfig c;
    c.canvas = j.at("canvas"), c.cell = j.at("cell"), c.item = j.at("item"), c.patch = j.at("patch");
    c.width = j.at("width"), c.layers = j.at("layers"), c.heads = j.at("heads"), c.feedforward = j.at("feedforward");
    c.dropout = j.at("dropout"), c.categories = j.at("categories");
    c.stem_channels = j.value("stem_channels", c.stem_channels);  // older runs: the defaults
    c.patch_presence = j.value("patch_presence", c.patch_presence);
    return c;
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("model settings in config.json: {}", e.what());
  }
}

namespace {

// LayerNorm over the channels of (B,C,H,W) at each position: independent of the batch, so the
// canvas and the cue, which pass the stem separately, are normalised alike. The result is made
// contiguous once here, so that the activation and convolution after it run on unit strides.
class ChannelLayerNorm : public nn::Module {
 public:
  explicit ChannelLayerNorm(int64_t channels) : nn::Module("ChannelLayerNorm") {
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(channels));
  }
  Tensor forward(const Tensor& x) override {
    return permute(norm->forward(permute(x, {0, 2, 3, 1})), {0, 3, 1, 2}).contiguous();
  }
  std::shared_ptr<nn::LayerNorm> norm;
};

}  // namespace

SearchModel::SearchModel(const SearchModelConfig& c) : nn::Module("VisualSearchModel"), config(c) {
  HEED_CHECK(c.patch >= 2 && (c.patch & (c.patch - 1)) == 0, "model: --patch {} is not a power of two >= 2", c.patch);
  HEED_CHECK(c.cell % c.patch == 0 && c.canvas % c.cell == 0 && c.item <= c.cell,
             "model: canvas {}, cell {}, item {} and patch {} do not fit together", c.canvas, c.cell, c.item, c.patch);
  HEED_CHECK(c.width > 0 && c.layers > 0 && c.heads > 0 && c.width % c.heads == 0 && c.feedforward > 0,
             "model: --width {} must be a positive multiple of --heads {}, --layers and --feedforward positive", c.width,
             c.heads);
  HEED_CHECK(c.dropout >= 0 && c.dropout < 1, "model: dropout {} is not in [0, 1)", c.dropout);
  HEED_CHECK(c.stem_channels > 0, "model: --stem-channels {} is not positive", c.stem_channels);
  // One stride-2 convolution per halving: 16, 32, 64, 64... channels (stem_channels 16), the last `width`.
  stem = register_module("stem", std::make_shared<nn::Sequential>());
  int64_t channels = 1;
  for (int64_t size = c.patch, k = 0; size > 1; size /= 2, ++k) {
    const int64_t out = size == 2 ? c.width : std::min<int64_t>(c.stem_channels << k, 4 * c.stem_channels);
    stem->push_back(std::make_shared<nn::Conv2d>(channels, out, 3, 2, 1));
    // LayerNorm from the second convolution on: after the first it would wash out brightness.
    if (size > 2 && k > 0) stem->push_back(std::make_shared<ChannelLayerNorm>(out));
    if (size > 2) stem->push_back(std::make_shared<nn::GELU>());
    channels = out;
  }
  const int64_t side = c.tokens_per_side();
  row_position = register_parameter("row_position", nn::init::normal_(empty({side, c.width}), 0, 0.02));
  column_position = register_parameter("column_position", nn::init::normal_(empty({side, c.width}), 0, 0.02));
  cue_type = register_parameter("cue_type", nn::init::normal_(empty({c.width}), 0, 0.02));
  match = register_module("match", std::make_shared<nn::Linear>(c.width, c.width));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
  nn::TransformerEncoderLayerOptions layer{.d_model = c.width, .nhead = c.heads, .dim_feedforward = c.feedforward,
                                           .dropout = c.dropout, .activation = "gelu", .batch_first = true,
                                           .norm_first = true};
  encoder = register_module("encoder", std::make_shared<nn::TransformerEncoder>(layer, c.layers, true));
  presence_head = register_module("presence_head", std::make_shared<nn::Linear>(c.width, 2));
  patch_head = register_module("patch_head", std::make_shared<nn::Linear>(c.width, 3));
  if (c.patch_presence) patch_presence_bias = register_parameter("patch_presence_bias", zeros({1}));
  if (c.categories > 0)
    category_head = register_module("category_head", std::make_shared<nn::Linear>(c.width, 2 * c.categories));
}

namespace {

// log Σ exp(x) over dim, shifted by the (constant) maximum so that nothing overflows.
Tensor logsumexp(const Tensor& x, int64_t dim) {
  Tensor shift = max(x.detach(), {dim}, true);
  return shift.squeeze(dim) + log(sum(exp(x - shift), {dim}));
}

}  // namespace

Tensor SearchModel::stem_forward(const Tensor& images) { return stem->forward(images); }

SearchModel::Output SearchModel::run(const Tensor& canvas, const Tensor& cue, Map map, bool cue_attention) {
  const int64_t side = config.tokens_per_side(), tokens = side * side;
  HEED_CHECK(canvas.dim() == 4 && canvas.size(1) == 1 && canvas.size(2) == config.canvas && canvas.size(3) == config.canvas,
             "model: canvas of shape {}, expected (B, 1, {}, {})", canvas.shape(), config.canvas, config.canvas);
  HEED_CHECK(cue.dim() == 4 && cue.size(0) == canvas.size(0) && cue.size(1) == 1 && cue.size(2) == config.cell &&
                 cue.size(3) == config.cell,
             "model: cue of shape {}, expected ({}, 1, {}, {})", cue.shape(), canvas.size(0), config.cell, config.cell);
  const int64_t batch = canvas.size(0), width = config.width;

  Tensor patches = permute(reshape(stem_forward(canvas), {batch, width, tokens}), {0, 2, 1});  // (B,P,E)
  Tensor position = reshape(reshape(row_position, {side, 1, width}) + reshape(column_position, {1, side, width}),
                            {1, tokens, width});
  Tensor cue_features = reshape(mean(stem_forward(cue), {2, 3}), {batch, 1, width});  // (B,1,E)
  Tensor matched = match->forward(patches * cue_features);                           // (B,P,E)
  Tensor x = (*dropout)(cat({cue_features + cue_type, patches + position + matched}, 1));  // (B,1+P,E)

  Tensor attention, rollout, graph_attention;
  for (size_t i = 0; i < size_t(config.layers); ++i) {
    nn::TransformerEncoderLayer& layer = encoder->layer(i);
    const bool last = i + 1 == size_t(config.layers);
    if (map == Map::Rollout || (map == Map::LastLayer && last)) {
      NoGradGuard no_grad;
      Tensor normed = layer.norm1->forward(x.detach());
      Tensor weights = layer.self_attn->forward(normed, normed, normed, {}, true, true).weights;  // (B,T,T)
      if (map == Map::Rollout) {
        Tensor mixed = weights * 0.5 + eye(1 + tokens, {weights.dtype(), weights.device()}) * 0.5;
        rollout = rollout.defined() ? matmul(mixed, rollout) : mixed;
      } else {
        attention = weights;
      }
    }
    if (last && cue_attention) {
      auto [y, weights] = layer.forward_with_weights(x, {});
      x = y, graph_attention = weights.select(1, 0).narrow(1, 1, tokens);  // the cue's row, patch columns
    } else {
      x = layer.forward(x, {});
    }
  }
  x = encoder->norm->forward(x);
  if (map == Map::Rollout) attention = rollout;
  if (attention.defined()) {
    NoGradGuard no_grad;
    attention = attention.select(1, 0).narrow(1, 1, tokens).contiguous();  // the cue's row, patch columns
  }
  Tensor cue_presence = presence_head->forward(x.select(1, 0));
  Tensor patch_logits = patch_head->forward(x.narrow(1, 1, tokens));
  Output out{cue_presence, cue_presence, {}, patch_logits, attention, graph_attention, {}, {}};
  if (config.patch_presence) {
    // Each patch's log-odds of being the target, pooled: the scene's odds are about their sum.
    Tensor others = logsumexp(cat({patch_logits.narrow(2, 0, 1), patch_logits.narrow(2, 2, 1)}, 2), 2);
    Tensor odds = logsumexp(reshape(patch_logits.narrow(2, 1, 1), {batch, tokens}) - others, 1) + patch_presence_bias;
    out.patch_presence_logits = cat({zeros({batch, 1}, {odds.dtype(), odds.device()}), reshape(odds, {batch, 1})}, 1);
    out.presence_logits = (cue_presence + out.patch_presence_logits) * 0.5;
  }
  if (category_head && is_training()) {
    out.patch_category_logits = category_head->forward(patches);
    out.cue_category_logits = category_head->forward(reshape(cue_features, {batch, width}));
  }
  return out;
}

}  // namespace heed::search
