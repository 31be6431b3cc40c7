// The fused CPU kernels (dropout, layer norm, attention) against the same computations composed
// from plain ops, values and gradients, with and without masks and dropout; gradcheck in float64.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/attention.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "tensor/ops.h"
#include "tensor/philox.h"
#include "tensor/random.h"
#include "tests/helpers.h"

using namespace heed;
using heed::test::values;

namespace {

// softmax(q·kᵀ·scale, masked)·dropout·v with plain ops, for reference.
Tensor attention_by_hand(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& blocked, double p) {
  Tensor scores = matmul(q * (1.0 / std::sqrt(static_cast<double>(q.size(3)))), k.transpose(-1, -2));
  Tensor w = masked_softmax(scores, blocked);
  if (p > 0) w = w * (bernoulli(w.shape(), 1 - p, {w.dtype()}) * (1.0 / (1 - p)));
  return matmul(w, v);
}

std::vector<Tensor> grads_of(const Tensor& out, const std::vector<Tensor>& inputs, const Tensor& seed) {
  return autograd::grad({out}, inputs, {seed});
}

}  // namespace

TEST_CASE("fused dropout draws exactly the stream bernoulli draws, at any start") {
  for (uint64_t offset : {0ull, 1ull, 3ull, 1001ull}) {
    Tensor x = rand({3, 37}, {DType::Float64});
    Tensor y = raw::dropout(x, 0.3, 42, offset);
    auto vx = values(x), vy = values(y);
    for (size_t i = 0; i < vx.size(); ++i) {
      const bool kept = philox::uniform(42, offset, i) < 0.7;
      CHECK(vy[i] == (kept ? vx[i] * (1.0 / 0.7) : 0.0));
    }
  }
  manual_seed(5);
  Tensor x = randn({8, 33}).requires_grad_(true);
  manual_seed(9);
  Tensor y = dropout(x, 0.25);
  manual_seed(9);
  Tensor by_hand = x * (bernoulli(x.shape(), 0.75) * (1.0 / 0.75));
  CHECK_CLOSE(y, by_hand, 0, 0);
  Tensor g = randn(x.shape());
  CHECK_CLOSE(grads_of(y, {x}, g)[0], grads_of(by_hand, {x}, g)[0], 0, 0);
}

TEST_CASE("fused layer norm matches the composed formula, and passes gradcheck and gradgradcheck") {
  Tensor x = randn({4, 5, 6}, {DType::Float64}).requires_grad_(true);
  Tensor w = randn({5, 6}, {DType::Float64}).requires_grad_(true);
  Tensor b = randn({5, 6}, {DType::Float64}).requires_grad_(true);
  Tensor y = layer_norm(x, 2, w, b, 1e-5);
  Tensor mu = mean(x, {1, 2}, true);
  Tensor by_hand = (x - mu) * rsqrt(var(x, {1, 2}, 0, true) + 1e-5) * w + b;
  CHECK_CLOSE(y, by_hand, 1e-12, 1e-12);
  Tensor g = randn(x.shape(), {DType::Float64});
  auto fused = grads_of(y, {x, w, b}, g), composed = grads_of(by_hand, {x, w, b}, g);
  for (size_t i = 0; i < 3; ++i) CHECK_CLOSE(fused[i], composed[i], 1e-10, 1e-10);
  auto f = [](const std::vector<Tensor>& in) { return layer_norm(in[0], 1, in[1], in[2], 1e-5); };
  Tensor xt = randn({6, 3}, {DType::Float64}).t().requires_grad_(true);  // strided input
  std::vector<Tensor> in{xt, randn({6}, {DType::Float64}).requires_grad_(true),
                         randn({6}, {DType::Float64}).requires_grad_(true)};
  CHECK(gradcheck(f, in).ok);
  CHECK(gradgradcheck(f, in).ok);
}

TEST_CASE("fused attention matches the composed one with padding, causal and dropout") {
  const int64_t B = 2, H = 3, T = 5, S = 7, D = 4;
  Tensor q = randn({B, H, T, D}, {DType::Float64}).requires_grad_(true);
  Tensor k = randn({B, H, S, D}, {DType::Float64}).requires_grad_(true);
  Tensor v = randn({B, H, S, D}, {DType::Float64}).requires_grad_(true);
  Tensor padding = raw::binary(BinaryOp::Gt, arange(0, S, 1, {DType::Int64}).reshape({1, S}),
                               Tensor(arange(3, 3 + 2 * B, 2, {DType::Int64})).reshape({B, 1}));  // (B,S)
  for (bool causal : {false, true}) {
    for (double p : {0.0, 0.4}) {
      CAPTURE(causal);
      CAPTURE(p);
      AttentionOptions o{.key_padding_mask = padding, .causal = causal, .dropout_p = p};
      manual_seed(3);
      Tensor fused = scaled_dot_product_attention(q, k, v, o).output;
      Tensor blocked = raw::reshape(padding, {B, 1, 1, S});
      if (causal)
        blocked = raw::binary(BinaryOp::Maximum, blocked,
                              raw::binary(BinaryOp::Gt, arange(0, S, 1, {DType::Int64}).reshape({1, S}),
                                          arange(0, T, 1, {DType::Int64}).reshape({T, 1})));
      manual_seed(3);
      Tensor by_hand = attention_by_hand(q, k, v, blocked, p);
      CHECK_CLOSE(fused, by_hand, 1e-12, 1e-10);
      Tensor g = randn(fused.shape(), {DType::Float64});
      auto gf = grads_of(fused, {q, k, v}, g), gh = grads_of(by_hand, {q, k, v}, g);
      for (size_t i = 0; i < 3; ++i) CHECK_CLOSE(gf[i], gh[i], 1e-10, 1e-8);
    }
  }
}

TEST_CASE("fused attention: fully masked rows give zeros, weights carry gradients, double backward works") {
  Tensor q = randn({1, 2, 3, 4}, {DType::Float64}).requires_grad_(true);
  Tensor k = randn({1, 2, 3, 4}, {DType::Float64}).requires_grad_(true);
  Tensor v = randn({1, 2, 3, 4}, {DType::Float64}).requires_grad_(true);
  Tensor all_padding = raw::fill_like(raw::empty({1, 3}, kBool, Device::cpu()), 1);
  AttentionResult r = scaled_dot_product_attention(q, k, v, {.key_padding_mask = all_padding, .need_weights = true});
  for (double x : values(r.output)) CHECK(x == 0.0);
  for (double x : values(r.weights)) CHECK(x == 0.0);

  auto f = [](const std::vector<Tensor>& in) {
    AttentionResult a = scaled_dot_product_attention(in[0], in[1], in[2], {.causal = true, .need_weights = true});
    return sum(a.output * a.output) + sum(a.weights * a.weights);
  };
  CHECK(gradcheck(f, {q, k, v}).ok);
  CHECK(gradgradcheck(f, {q, k, v}).ok);
}
