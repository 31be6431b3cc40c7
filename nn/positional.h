// Positional encodings: add to a sequence of embeddings a vector that depends on the position.
//   SinusoidalPositionalEncoding ("Attention Is All You Need", §3.5, https://arxiv.org/abs/1706.03762):
//     PE[pos, 2i] = sin(pos / 10000^(2i/E)),  PE[pos, 2i+1] = cos(pos / 10000^(2i/E))
//     fixed; held as the buffer "pe" (max_len, E), so it follows to(device) and to(dtype).
//   LearnedPositionalEncoding: PE = the first T rows of an Embedding over positions
//     ("embedding.weight" (max_len, E), N(0, 1) as nn::Embedding), trained with the model.
// Both return dropout(x + PE[:T]) (dropout only in training; 0 by default).
//
// Shape legend: B batch, T sequence length (≤ max_len), E d_model.
//   x (T,B,E), or (B,T,E) with batch_first -> same shape
#pragma once
#include <memory>

#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/module.h"

namespace heed::nn {

class SinusoidalPositionalEncoding : public Module {
 public:
  explicit SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len = 5000, double dropout = 0.0,
                                        bool batch_first = false);
  Tensor forward(const Tensor& x) override;  // (T,B,E) / (B,T,E) -> same
  std::string extra_repr() const override;

  const int64_t d_model, max_len;
  const bool batch_first;
  Tensor pe;  // buffer (max_len, E), float32 until moved with to()
  std::shared_ptr<Dropout> dropout;
};

class LearnedPositionalEncoding : public Module {
 public:
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model, double dropout = 0.0, bool batch_first = false);
  Tensor forward(const Tensor& x) override;  // (T,B,E) / (B,T,E) -> same
  std::string extra_repr() const override;

  const int64_t max_len, d_model;
  const bool batch_first;
  std::shared_ptr<Embedding> embedding;  // weight (max_len, E)
  std::shared_ptr<Dropout> dropout;
};

}  // namespace heed::nn
