// The visual-search model:
//   canvas (B,1,S,S) -> CNN stem (3x3 convolutions of stride 2, GELU, from the second one on
//   LayerNorm over channels first; S/patch per side) -> one
//   token per patch + a learned 2-D position (row + column embeddings)
//   cue (B,1,cell,cell): the cue image centred on a black cell -> the same stem -> mean over its
//   positions -> + a learned "cue" embedding -> the first token
//   each patch token also gets match(patch ⊙ cue features) (a Linear of the elementwise product:
//   a similarity to the cue the encoder starts from)
//   [cue, patches] -> pre-norm Transformer encoder (GELU) -> final LayerNorm
//   heads: presence (absent/present) from the cue token; a label per patch (O, Important,
//   Unimportant) from each patch token; optionally presence also from the patch labels (the
//   logsumexp of the patches' Important log-odds: present if any patch is the target); in training, an auxiliary head on the stem's patch and
//   cue features (category and brightness) teaches the stem what the items are
// The attention map is the cue token's attention to the patches in the last layer, heads
// averaged, or with rollout (Abnar & Zuidema 2020) the product over layers of 0.5·A + 0.5·I.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "nn/nn.h"

namespace heed::search {

struct SearchModelConfig {
  int64_t canvas = 128, cell = 32, item = 28, patch = 32;
  int64_t width = 96, layers = 3, heads = 4, feedforward = 384;
  int64_t stem_channels = 16;  // of the first convolution, doubling per halving up to 4x
  int64_t categories = 0;  // > 0: an auxiliary head classifying each item's and the cue's category and brightness
  bool patch_presence = false;  // presence also read from the patches' Important log-odds
  double dropout = 0.1;
  int64_t tokens_per_side() const { return canvas / patch; }
};
nlohmann::json to_json(const SearchModelConfig& config);
SearchModelConfig search_model_config_from_json(const nlohmann::json& j);  // throws heed::Error

class SearchModel : public nn::Module {
 public:
  enum class Map { None, LastLayer, Rollout };
  struct Output {
    Tensor presence_logits;  // (B,2): absent, present (with patch_presence, the mean of the two below)
    Tensor cue_presence_logits, patch_presence_logits;  // (B,2) from the cue token, from the patch labels
    Tensor patch_logits;     // (B,P,3): O, Important, Unimportant
    Tensor attention;        // (B,P), each row summing to at most 1, no graph; undefined with Map::None
    Tensor cue_attention;    // (B,P) the same for the last layer, with its graph; only when run asks for it
    Tensor patch_category_logits, cue_category_logits;  // (B,P,2K), (B,2K) from the stem: 2·category + bright
  };
  explicit SearchModel(const SearchModelConfig& config);  // throws heed::Error on sizes that do not fit
  // cue_attention: also return the last layer's cue-to-patch attention with its graph (for a loss on it).
  Output run(const Tensor& canvas, const Tensor& cue, Map map = Map::None, bool cue_attention = false);
  using nn::Module::forward;

  const SearchModelConfig config;

 private:
  Tensor stem_forward(const Tensor& images);  // (B,1,h,w) -> (B,width,h/patch,w/patch)
  std::shared_ptr<nn::Sequential> stem;
  Tensor row_position, column_position, cue_type;
  std::shared_ptr<nn::Linear> match;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::TransformerEncoder> encoder;
  std::shared_ptr<nn::Linear> presence_head, patch_head, category_head;
  Tensor patch_presence_bias;
};

}  // namespace heed::search
