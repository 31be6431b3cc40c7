#include "apps/eeg_attention/eeg_model.h"

#include <cmath>

#include "tensor/error.h"

namespace heed::eeg {

namespace {
constexpr int64_t kPool = 16, kStride = 8;  // samples of one power step, and between steps
}  // namespace

nlohmann::json to_json(const EegModelConfig& c) {
  return {{"kind", c.kind},
          {"channels", c.channels},
          {"samples", c.samples},
          {"classes", c.classes},
          {"sample_rate", c.sample_rate},
          {"temporal_filters", c.temporal_filters},
          {"depth", c.depth},
          {"hidden", c.hidden},
          {"dropout", c.dropout},
          {"kernel_seconds", c.kernel_seconds}};
}

EegModelConfig eeg_model_config_from_json(const nlohmann::json& j) {
  try {
    EegModelConfig c;
    c.kind = j.at("kind"), c.channels = j.at("channels"), c.samples = j.at("samples"), c.classes = j.at("classes");
    c.sample_rate = j.at("sample_rate"), c.temporal_filters = j.at("temporal_filters"), c.depth = j.at("depth");
    c.hidden = j.at("hidden"), c.dropout = j.at("dropout"), c.kernel_seconds = j.at("kernel_seconds");
    return c;
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("model config: {}", e.what());
  }
}

EegModel::EegModel(const EegModelConfig& c) : nn::Module("EegModel"), config(c) {
  HEED_CHECK(c.kind == "eegnet-lstm" || c.kind == "bandpower", "model: unknown kind '{}' (eegnet-lstm or bandpower)",
             c.kind);
  HEED_CHECK(c.channels >= 1 && c.classes >= 2 && c.hidden >= 1 && c.dropout >= 0 && c.dropout < 1,
             "model: needs >= 1 channel, >= 2 classes, hidden >= 1 and dropout in [0, 1)");
  if (c.kind == "bandpower") {
    mlp_ = register_module("mlp", std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
                                      std::make_shared<nn::Linear>(c.features(), c.hidden), std::make_shared<nn::GELU>(),
                                      std::make_shared<nn::Dropout>(c.dropout),
                                      std::make_shared<nn::Linear>(c.hidden, c.classes)}));
    return;
  }
  HEED_CHECK(c.samples >= 2 * kPool, "model: a window of {} samples is too short (at least {})", c.samples, 2 * kPool);
  HEED_CHECK(c.temporal_filters >= 1 && c.depth >= 1, "model: temporal filters and depth must be >= 1");
  const int64_t f1 = c.temporal_filters, f2 = c.temporal_filters * c.depth;
  HEED_CHECK(c.kernel_seconds > 0, "model: the temporal kernel must be positive, got {} s", c.kernel_seconds);
  int64_t kernel = std::max<int64_t>(3, int64_t(std::lround(c.sample_rate * c.kernel_seconds)) | 1);  // odd
  kernel = std::min(kernel, c.samples | 1);
  features_ = register_module(
      "features",
      std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
          std::make_shared<nn::Conv2d>(1, f1, Size2{1, kernel}, 1, Size2{0, kernel / 2}, 1, 1, false),
          std::make_shared<nn::BatchNorm2d>(f1),
          std::make_shared<nn::Conv2d>(f1, f2, Size2{c.channels, 1}, 1, 0, 1, f1, false),
          std::make_shared<nn::BatchNorm2d>(f2)}));
  lstm_ = register_module("lstm", std::make_shared<nn::LSTM>(f2, c.hidden, 1, true, true));
  pool_ = register_module("pool", std::make_shared<nn::AdditiveAttentionPooling>(c.hidden, c.hidden));
  classifier_ = register_module("classifier", std::make_shared<nn::Linear>(c.hidden, c.classes));
}

int64_t EegModel::steps() const { return config.kind == "bandpower" ? 0 : (config.samples - kPool) / kStride + 1; }

Tensor EegModel::forward(const Tensor& x) {
  if (config.kind == "bandpower") {
    HEED_CHECK(x.dim() == 2 && x.size(1) == config.features(), "model: expected (B, {}) band powers, got {}",
               config.features(), x.shape());
    return (*mlp_)(x);
  }
  HEED_CHECK(x.dim() == 3 && x.size(1) == config.channels && x.size(2) == config.samples,
             "model: expected windows (B, {}, {}), got {}", config.channels, config.samples, x.shape());
  Tensor f = (*features_)(reshape(x, {x.size(0), 1, config.channels, config.samples}));  // (B,F2,1,T)
  Tensor power = avg_pool2d(f * f, Size2{1, kPool}, Size2{1, kStride});                 // (B,F2,1,steps)
  Tensor log_power = log(power + 1e-4);
  log_power = dropout(log_power - mean(log_power, {1}, true), config.dropout, is_training());  // relative powers
  Tensor sequence = transpose(reshape(log_power, {f.size(0), f.size(1), power.size(3)}), 1, 2);  // (B,steps,F2)
  Tensor h = lstm_->forward(sequence);
  return classifier_->forward(pool_->forward(h));
}

Tensor EegModel::last_attention() const {
  if (!pool_ || !pool_->last_weights.defined()) return Tensor();
  return pool_->last_weights.detach();
}

}  // namespace heed::eeg
