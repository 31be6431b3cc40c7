#include "apps/text_classifier/text_model.h"

#include <cmath>

#include "tensor/error.h"

namespace heed::text {

nlohmann::json to_json(const ModelConfig& c) {
  return {{"kind", c.kind},   {"vocab_size", c.vocab_size}, {"num_classes", c.num_classes},
          {"embed", c.embed}, {"layers", c.layers},         {"heads", c.heads},
          {"feedforward", c.feedforward}, {"max_length", c.max_length}, {"dropout", c.dropout},
          {"pooling", c.pooling}};
}

ModelConfig model_config_from_json(const nlohmann::json& j) {
  try {
    ModelConfig c;
    c.kind = j.at("kind").get<std::string>();
    c.vocab_size = j.at("vocab_size").get<int64_t>();
    c.num_classes = j.at("num_classes").get<int64_t>();
    c.embed = j.at("embed").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.heads = j.at("heads").get<int64_t>();
    c.feedforward = j.at("feedforward").get<int64_t>();
    c.max_length = j.at("max_length").get<int64_t>();
    c.dropout = j.at("dropout").get<double>();
    c.pooling = j.value("pooling", "attention");  // runs from before the option pooled by attention
    return c;
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("model settings in config.json: {}", e.what());
  }
}

namespace {

class TransformerModel : public TextModel {
 public:
  explicit TransformerModel(const ModelConfig& c) : TextModel("TransformerTextClassifier"), add_mean(c.pooling != "attention") {
    embedding = register_module("embedding", std::make_shared<nn::Embedding>(c.vocab_size, c.embed, 0));
    position = register_module("position",
                               std::make_shared<nn::SinusoidalPositionalEncoding>(c.embed, c.max_length, c.dropout, true));
    nn::TransformerEncoderLayerOptions layer{.d_model = c.embed, .nhead = c.heads, .dim_feedforward = c.feedforward,
                                             .dropout = 0.0, .activation = "gelu", .batch_first = true,
                                             .norm_first = true};
    encoder = register_module("encoder", std::make_shared<nn::TransformerEncoder>(layer, c.layers, true));
    pool = register_module("pool", std::make_shared<nn::AdditiveAttentionPooling>(c.embed, c.embed));
    dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
    classifier = register_module("classifier", std::make_shared<nn::Linear>(c.embed, c.num_classes));
  }
  Output classify(const Tensor& ids, const Tensor& mask) override {
    Tensor h = encoder->forward((*position)(embedding->forward(ids)), {.key_padding_mask = mask});
    Tensor pooled = pool->forward(h, mask);
    if (add_mean) {  // + the mean over the text's tokens
      Tensor keep = reshape(1.0 - mask.to(h.dtype()), {mask.size(0), mask.size(1), 1});
      pooled = pooled + sum(h * keep, {1}) / clamp(sum(keep, {1}), 1.0, std::nullopt);
    }
    return {classifier->forward((*dropout)(pooled)), pool->last_weights.detach()};
  }
  const bool add_mean;
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::SinusoidalPositionalEncoding> position;
  std::shared_ptr<nn::TransformerEncoder> encoder;
  std::shared_ptr<nn::AdditiveAttentionPooling> pool;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;
};

class LstmModel : public TextModel {
 public:
  explicit LstmModel(const ModelConfig& c) : TextModel("LstmTextClassifier") {
    HEED_CHECK(c.embed % 2 == 0, "lstm model: --embed must be even (half per direction), got {}", c.embed);
    embedding = register_module("embedding", std::make_shared<nn::Embedding>(c.vocab_size, c.embed, 0));
    lstm = register_module("lstm", std::make_shared<nn::LSTM>(c.embed, c.embed / 2, c.layers, true, true, c.dropout, true));
    pool = register_module("pool", std::make_shared<nn::AdditiveAttentionPooling>(c.embed, c.embed));
    dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
    classifier = register_module("classifier", std::make_shared<nn::Linear>(c.embed, c.num_classes));
  }
  Output classify(const Tensor& ids, const Tensor& mask) override {
    Tensor h = lstm->forward((*dropout)(embedding->forward(ids)), {}).output;
    Tensor pooled = pool->forward(h, mask);
    return {classifier->forward((*dropout)(pooled)), pool->last_weights.detach()};
  }
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::AdditiveAttentionPooling> pool;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;
};

class BowModel : public TextModel {
 public:
  explicit BowModel(const ModelConfig& c) : TextModel("BagOfWordsClassifier"), vocab_size(c.vocab_size) {
    idf = register_buffer("idf", ones({c.vocab_size}));
    classifier = register_module("classifier", std::make_shared<nn::Linear>(c.vocab_size, c.num_classes));
  }
  Output classify(const Tensor& ids, const Tensor& mask) override {
    const int64_t batch = ids.size(0), length = ids.size(1);
    std::vector<int64_t> id = ids.contiguous().to_vector<int64_t>();
    std::vector<int64_t> pad = mask.contiguous().to_vector<int64_t>();
    std::vector<float> idf_values = idf.to_vector<float>();
    std::vector<float> features(size_t(batch * vocab_size), 0.0f);
    for (int64_t b = 0; b < batch; ++b) {
      float* row = &features[size_t(b * vocab_size)];
      for (int64_t t = 0; t < length; ++t)
        if (!pad[b * length + t] && id[b * length + t] >= data_start) row[id[b * length + t]] += 1;
      double norm = 0;
      for (int64_t v = 0; v < vocab_size; ++v)
        if (row[v] > 0) {
          row[v] = std::log1p(row[v]) * idf_values[v];
          norm += double(row[v]) * row[v];
        }
      if (norm > 0)
        for (int64_t v = 0; v < vocab_size; ++v) row[v] = float(row[v] / std::sqrt(norm));
    }
    Tensor x = from_vector(features, {batch, vocab_size}).to(classifier->weight.device());
    Tensor logits = classifier->forward(x);
    return {logits, is_training() ? Tensor() : token_weights(id, pad, features, logits, batch, length)};
  }
  // feature · (w_pred − mean_c w_c), clipped at 0, spread evenly over a word's occurrences.
  Tensor token_weights(const std::vector<int64_t>& id, const std::vector<int64_t>& pad, const std::vector<float>& features,
                       const Tensor& logits, int64_t batch, int64_t length) const {
    NoGradGuard no_grad;
    std::vector<int64_t> predicted = argmax(logits.detach(), 1).to_vector<int64_t>();
    Tensor w = classifier->weight.detach();
    std::vector<float> weight = w.contiguous().to_vector<float>(), mean_w = w.mean({0}).to_vector<float>();
    std::vector<float> out(size_t(batch * length), 0.0f);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<int64_t> counts(size_t(vocab_size), 0);
      for (int64_t t = 0; t < length; ++t)
        if (!pad[b * length + t] && id[b * length + t] >= data_start) ++counts[id[b * length + t]];
      for (int64_t t = 0; t < length; ++t) {
        int64_t v = id[b * length + t];
        if (pad[b * length + t] || v < data_start) continue;
        double evidence = features[b * vocab_size + v] * (weight[predicted[b] * vocab_size + v] - mean_w[v]);
        out[b * length + t] = float(std::max(0.0, evidence) / counts[v]);
      }
    }
    return from_vector(out, {batch, length});
  }
  static constexpr int64_t data_start = 3;  // ids below are PAD, UNK, CLS
  const int64_t vocab_size;
  Tensor idf;
  std::shared_ptr<nn::Linear> classifier;
};

}  // namespace

std::shared_ptr<TextModel> make_model(const ModelConfig& c) {
  HEED_CHECK(c.vocab_size > 3 && c.num_classes >= 2, "model: vocabulary of {} and {} classes (need > 3 and >= 2)",
             c.vocab_size, c.num_classes);
  HEED_CHECK(c.embed > 0 && c.layers > 0 && c.heads > 0 && c.feedforward > 0 && c.max_length > 1,
             "model: sizes must be positive (embed {}, layers {}, heads {}, feedforward {}, max length {})", c.embed,
             c.layers, c.heads, c.feedforward, c.max_length);
  HEED_CHECK(c.dropout >= 0 && c.dropout < 1, "model: dropout must be in [0, 1), got {}", c.dropout);
  HEED_CHECK(c.pooling == "attention" || c.pooling == "attention+mean",
             "model: pooling '{}' (attention or attention+mean)", c.pooling);
  if (c.kind == "transformer") {
    HEED_CHECK(c.embed % c.heads == 0, "transformer model: --embed {} is not divisible by --heads {}", c.embed, c.heads);
    return std::make_shared<TransformerModel>(c);
  }
  if (c.kind == "lstm") return std::make_shared<LstmModel>(c);
  if (c.kind == "bow") return std::make_shared<BowModel>(c);
  HEED_FAIL("model: unknown kind '{}' (transformer, lstm or bow)", c.kind);
}

void set_idf(TextModel& model, const std::vector<std::vector<int64_t>>& documents) {
  auto* bow = dynamic_cast<BowModel*>(&model);
  HEED_CHECK(bow != nullptr, "set_idf: not a bag-of-words model");
  std::vector<int64_t> df(size_t(bow->vocab_size), 0), last_seen(size_t(bow->vocab_size), -1);
  for (size_t d = 0; d < documents.size(); ++d)
    for (int64_t id : documents[d])
      if (id >= 0 && id < bow->vocab_size && last_seen[id] != int64_t(d)) {
        last_seen[id] = int64_t(d);
        ++df[id];
      }
  std::vector<float> idf(df.size());
  const double n = static_cast<double>(documents.size());
  for (size_t v = 0; v < df.size(); ++v) idf[v] = float(std::log((1 + n) / (1 + double(df[v]))) + 1);
  nn::set_data(bow->idf, from_vector(idf, {bow->vocab_size}));
}

}  // namespace heed::text
