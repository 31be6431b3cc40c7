// nn::Embedding (see embedding.h).
#include "nn/embedding.h"

#include "autograd/node.h"
#include "nn/init.h"

namespace heed::nn {
namespace {
std::optional<int64_t> wrap_padding(std::optional<int64_t> idx, int64_t num) {
  if (!idx) return idx;
  HEED_CHECK(*idx >= -num && *idx < num, "Embedding: padding_idx {} out of range for {} embeddings", *idx, num);
  return *idx < 0 ? *idx + num : *idx;
}
}  // namespace

Embedding::Embedding(int64_t num, int64_t dim, std::optional<int64_t> pad)
    : Module("Embedding"), num_embeddings(num), embedding_dim(dim), padding_idx(wrap_padding(pad, num)) {
  HEED_CHECK(num >= 0 && dim >= 0, "Embedding: sizes must be non-negative, got num={}, dim={}", num, dim);
  weight = register_parameter("weight", empty({num, dim}));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (padding_idx) {
    NoGradGuard no_grad;
    weight.select(0, *padding_idx).copy_(zeros({}, {weight.dtype(), weight.device()}));
  }
}

Tensor Embedding::forward(const Tensor& ids) {
  HEED_CHECK(ids.dtype() == DType::Int64, "Embedding: ids must be int64, got {} of shape {}", ids.dtype(), ids.shape());
  return embedding(weight, ids, padding_idx);  // (…) -> (…, dim)
}

std::string Embedding::extra_repr() const {
  return padding_idx ? fmt::format("{}, {}, padding_idx={}", num_embeddings, embedding_dim, *padding_idx)
                     : fmt::format("{}, {}", num_embeddings, embedding_dim);
}

}  // namespace heed::nn
