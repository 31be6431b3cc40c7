// Indexing ops and their gradients, which come in pairs: index_select ↔ index_add and
// gather ↔ scatter_add are each other's backward, so double backward closes on itself.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"

namespace heed {

using autograd::Grads;

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = raw::index_select(x, dim, index);
  if (auto node = autograd::make_node("index_select", {x}, {y}))
    node->backward = [shape = x.shape(), dim, index](const Grads& g) {
      return Grads{index_add(zeros(shape, {g[0].dtype(), g[0].device()}), dim, index, g[0])};
    };
  return y;
}

Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor y = raw::index_add(self, dim, index, src);
  if (auto node = autograd::make_node("index_add", {self, src}, {y}))
    node->backward = [dim, index](const Grads& g) { return Grads{g[0], index_select(g[0], dim, index)}; };
  return y;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = raw::gather(x, dim, index);
  if (auto node = autograd::make_node("gather", {x}, {y}))
    node->backward = [shape = x.shape(), dim, index](const Grads& g) {
      return Grads{scatter_add(zeros(shape, {g[0].dtype(), g[0].device()}), dim, index, g[0])};
    };
  return y;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor y = raw::scatter_add(self, dim, index, src);
  if (auto node = autograd::make_node("scatter_add", {self, src}, {y}))
    node->backward = [dim, index, src_shape = src.shape()](const Grads& g) {
      Tensor gs = gather(g[0], dim, index);
      return Grads{g[0], gs.shape() == src_shape ? gs : Tensor()};
    };
  return y;
}

Tensor embedding(const Tensor& weight, const Tensor& ids, std::optional<int64_t> padding_idx) {
  HEED_CHECK(weight.dim() == 2, "embedding: weight must be 2-D (num_embeddings, dim), got shape {}", weight.shape());
  HEED_CHECK(ids.dtype() == DType::Int64, "embedding: ids must be int64, got {}", ids.dtype());
  const int64_t V = weight.shape()[0], E = weight.shape()[1];
  if (padding_idx) {
    HEED_CHECK(*padding_idx >= -V && *padding_idx < V, "embedding: padding_idx {} out of range for {} embeddings",
               *padding_idx, V);
    if (*padding_idx < 0) padding_idx = *padding_idx + V;
  }
  Tensor flat = raw::reshape(ids, {ids.numel()});
  Shape out_shape = ids.shape();
  out_shape.push_back(E);
  Tensor y = raw::reshape(raw::index_select(weight, 0, flat), out_shape);
  if (auto node = autograd::make_node("embedding", {weight}, {y}))
    node->backward = [flat, V, E, padding_idx](const Grads& g) {
      Tensor rows = reshape(g[0], {-1, E});
      if (padding_idx) {  // the padding row learns nothing
        Tensor keep = raw::to_dtype(raw::binary(BinaryOp::Ne, flat, scalar_like(flat, static_cast<double>(*padding_idx))),
                                    rows.dtype());
        rows = rows * raw::unsqueeze(keep, 1);
      }
      return Grads{index_add(zeros({V, E}, {rows.dtype(), rows.device()}), 0, flat, rows)};
    };
  return y;
}

Tensor one_hot(const Tensor& ids, int64_t num_classes) {
  HEED_CHECK(ids.dtype() == DType::Int64, "one_hot: ids must be int64, got {}", ids.dtype());
  if (num_classes < 0) num_classes = ids.numel() ? static_cast<int64_t>(raw::reduce(ReduceOp::Max, ids, {}, false).item()) + 1 : 0;
  Shape shape = ids.shape();
  shape.push_back(num_classes);
  Tensor idx = raw::unsqueeze(ids, -1);
  return raw::scatter_add(zeros(shape, {DType::Int64, ids.device()}), -1, idx, raw::fill_like(idx, 1));
}

}  // namespace heed
