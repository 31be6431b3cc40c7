// The text classifiers heed-text trains. Each maps token ids (B,T) int64 with a padding mask
// (B,T) bool (true = padding) to class logits (B,C) and a weight per token (B,T) that says
// what the model looked at:
//   transformer  Embedding + sinusoidal positions -> dropout -> pre-norm TransformerEncoder
//                (GELU, no dropout inside: dropout on the (B,H,T,T) attention weights cost
//                half the training time) -> AdditiveAttentionPooling -> dropout -> Linear;
//                weights = pooling attention
//   lstm         Embedding -> bidirectional LSTM (E/2 per direction) -> AdditiveAttentionPooling
//                -> dropout -> Linear; weights = pooling attention
//   bow          TF-IDF bag of words -> Linear (logistic regression); the features are
//                log(1 + count)·idf, L2-normalised, idf = log((1 + N) / (1 + df)) + 1 from the
//                training texts (buffer "idf"); weights = each token's share of its evidence
//                for the predicted class (feature · (w_pred − mean_c w_c), clipped at 0)
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/nn.h"

namespace heed::text {

struct ModelConfig {
  std::string kind = "transformer";  // transformer, lstm or bow
  int64_t vocab_size = 0, num_classes = 0;
  int64_t embed = 64, layers = 1, heads = 4, feedforward = 256, max_length = 256;
  double dropout = 0.3;
  std::string pooling = "attention";  // transformer: "attention", or "attention+mean" (their sum)
};
nlohmann::json to_json(const ModelConfig& config);
ModelConfig model_config_from_json(const nlohmann::json& j);  // throws heed::Error on missing keys

class TextModel : public nn::Module {
 public:
  struct Output {
    Tensor logits;   // (B,C)
    Tensor weights;  // (B,T), no graph
  };
  using nn::Module::forward;
  explicit TextModel(std::string type_name) : nn::Module(std::move(type_name)) {}
  virtual Output classify(const Tensor& ids, const Tensor& padding_mask) = 0;
};

// Throws heed::Error on an unknown kind or sizes that do not fit (heads not dividing embed...).
std::shared_ptr<TextModel> make_model(const ModelConfig& config);
// For bow: the idf of each vocabulary id over the training documents (ids per document).
void set_idf(TextModel& model, const std::vector<std::vector<int64_t>>& documents);

}  // namespace heed::text
