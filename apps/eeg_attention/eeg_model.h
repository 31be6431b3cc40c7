// The EEG classifiers of heed-eeg.
//   eegnet-lstm (default): x (B,C,T) -> temporal convolution (F1 filters of kernel_seconds: a learned
//   filter bank) -> BatchNorm -> depthwise spatial convolution over all channels (D
//   filters each: learned spatial filters, as EEGNet, Lawhern et al. 2018) -> BatchNorm ->
//   square, average over 16 samples every 8, log (band power over time, as ShallowConvNet,
//   Schirrmeister et al. 2017: a gain change becomes an offset) -> dropout -> LSTM -> additive
//   attention pooling over the steps (its weights are the model's attention over the window) ->
//   linear classifier.
//   BandPowerMlp (baseline): log band powers per channel (delta..gamma, Welch) -> MLP.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/nn.h"

namespace heed::eeg {

struct EegModelConfig {
  std::string kind = "eegnet-lstm";  // or "bandpower"
  int64_t channels = 0, samples = 0, classes = 2;
  double sample_rate = 128;
  int64_t temporal_filters = 4, depth = 2, hidden = 16;
  double dropout = 0.5;
  double kernel_seconds = 0.25;  // length of the temporal filters
  int64_t features() const { return channels * 5; }  // bandpower: 5 bands per channel
};
nlohmann::json to_json(const EegModelConfig& config);
EegModelConfig eeg_model_config_from_json(const nlohmann::json& j);  // throws heed::Error

class EegModel : public nn::Module {
 public:
  explicit EegModel(const EegModelConfig& config);  // throws heed::Error on sizes that do not fit
  // x: (B,C,T) z-scored windows for eegnet-lstm, (B,features) standardised log band powers for
  // bandpower. Returns logits (B,classes); last_attention (B,steps) after an eegnet-lstm forward.
  Tensor forward(const Tensor& x) override;
  Tensor last_attention() const;  // no graph; undefined for bandpower
  int64_t steps() const;          // attention steps per window

  const EegModelConfig config;

 private:
  std::shared_ptr<nn::Sequential> features_, mlp_;
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::AdditiveAttentionPooling> pool_;
  std::shared_ptr<nn::Linear> classifier_;
};

}  // namespace heed::eeg
