// nn::Embedding: a lookup table of learned vectors (torch.nn.Embedding).
//   ids (any shape, int64) -> (*ids.shape, dim); weight (num_embeddings, dim).
// Initialised N(0, 1) as in PyTorch, with the padding row (if any) zeroed; that row then gets
// no gradient (heed::embedding), so it stays as it was loaded or initialised.
#pragma once
#include <optional>

#include "nn/module.h"

namespace heed::nn {

class Embedding : public Module {
 public:
  // padding_idx may be negative (counted from the end), as in PyTorch.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& ids) override;  // (…) int64 -> (…, dim)
  std::string extra_repr() const override;
  void reset_parameters();

  const int64_t num_embeddings, embedding_dim;
  const std::optional<int64_t> padding_idx;  // wrapped into [0, num_embeddings)
  Tensor weight;  // (num_embeddings, dim)
};

}  // namespace heed::nn
