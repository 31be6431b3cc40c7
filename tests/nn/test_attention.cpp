// Attention, piece by piece: heed::scaled_dot_product_attention's masks, fully masked rows,
// dropout and errors; nn::MultiHeadAttention's PyTorch-compatible parameters, init, layouts,
// errors and gradcheck / gradgradcheck; nn::AdditiveAttentionPooling. Values against PyTorch
// live in test_attention_torch.cpp.
// Shape legend: B batch, H heads, T queries, S keys, D head size, E embed_dim.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "../helpers.h"
#include "autograd/attention.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "module_gradcheck.h"
#include "nn/attention.h"
#include "tensor/random.h"

using namespace heed;
using heed::test::values;

namespace {

constexpr Options kF64{DType::Float64};

Tensor Bool(const std::vector<double>& v, const Shape& s) { return from_vector(v, s, {kBool}); }

bool all_finite(const Tensor& t) {
  for (double x : values(t))
    if (!std::isfinite(x)) return false;
  return true;
}

// The reference: softmax(q kᵀ / √D + additive) v, written out with plain ops.
Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& additive = Tensor()) {
  Tensor s = matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (additive.defined()) s = s + additive;
  return matmul(softmax(s, -1), v);
}

}  // namespace

// ---------------------------------------------------------------- scaled_dot_product_attention

TEST_CASE("scaled_dot_product_attention: softmax(q kᵀ/√D) v, with weights on request") {
  manual_seed(1);
  Tensor q = randn({2, 3, 4, 5}, kF64), k = randn({2, 3, 6, 5}, kF64), v = randn({2, 3, 6, 7}, kF64);
  AttentionResult r = scaled_dot_product_attention(q, k, v, {.need_weights = true});
  CHECK(r.output.shape() == Shape{2, 3, 4, 7});
  CHECK(r.weights.shape() == Shape{2, 3, 4, 6});
  CHECK_CLOSE(r.output, reference_attention(q, k, v), 1e-12, 1e-12);
  CHECK_CLOSE(sum(r.weights, {-1}), ones({2, 3, 4}, kF64), 1e-12, 0);
  CHECK_FALSE(scaled_dot_product_attention(q, k, v).weights.defined());  // need_weights off by default
  // An explicit scale replaces 1/√D.
  Tensor scaled = scaled_dot_product_attention(q, k, v, {.scale = 0.25}).output;
  CHECK_CLOSE(scaled, reference_attention(q * (0.25 * std::sqrt(5.0)), k, v), 1e-12, 1e-12);
}

TEST_CASE("scaled_dot_product_attention: causal, bool and float masks and key padding give masked keys zero weight") {
  manual_seed(2);
  Tensor q = randn({2, 2, 3, 4}, kF64), k = randn({2, 2, 3, 4}, kF64), v = randn({2, 2, 3, 4}, kF64);
  SUBCASE("causal") {
    Tensor w = scaled_dot_product_attention(q, k, v, {.causal = true, .need_weights = true}).weights;
    auto wv = values(w);
    for (int bh = 0; bh < 4; ++bh)
      for (int t = 0; t < 3; ++t)
        for (int s = t + 1; s < 3; ++s) CHECK(wv[static_cast<size_t>((bh * 3 + t) * 3 + s)] == 0.0);
    CHECK_CLOSE(sum(w, {-1}), ones({2, 2, 3}, kF64), 1e-12, 0);
  }
  SUBCASE("causal with T < S is top-left aligned") {
    Tensor w = scaled_dot_product_attention(q.narrow(2, 0, 2), k, v, {.causal = true, .need_weights = true}).weights;
    auto wv = values(w.select(0, 0).select(0, 0));  // (T=2, S=3)
    CHECK(wv[1] == 0.0);
    CHECK(wv[2] == 0.0);
    CHECK(wv[5] == 0.0);
    CHECK(wv[4] > 0.0);
  }
  SUBCASE("a bool mask equals a float mask with -inf, and both equal the reference") {
    Tensor blocked = Bool({0, 1, 0, 0, 0, 1, 1, 0, 0}, {3, 3});
    const double inf = std::numeric_limits<double>::infinity();
    Tensor additive = from_vector(std::vector<double>{0, -inf, 0, 0, 0, -inf, -inf, 0, 0}, {3, 3}, kF64);
    Tensor by_bool = scaled_dot_product_attention(q, k, v, {.attn_mask = blocked}).output;
    Tensor by_float = scaled_dot_product_attention(q, k, v, {.attn_mask = additive}).output;
    CHECK_CLOSE(by_bool, by_float, 1e-14, 0);
    CHECK_CLOSE(by_bool, reference_attention(q, k, v, additive), 1e-12, 1e-12);
  }
  SUBCASE("finite float masks are added to the scores") {
    Tensor additive = randn({2, 1, 3, 3}, kF64);
    CHECK_CLOSE(scaled_dot_product_attention(q, k, v, {.attn_mask = additive}).output,
                reference_attention(q, k, v, additive), 1e-12, 1e-12);
  }
  SUBCASE("key padding") {
    Tensor pad = Bool({0, 0, 1, 1, 0, 0}, {2, 3});
    Tensor w = scaled_dot_product_attention(q, k, v, {.key_padding_mask = pad, .need_weights = true}).weights;
    auto w0 = values(w.select(0, 0)), w1 = values(w.select(0, 1));  // (2,3,3) each
    for (int r = 0; r < 6; ++r) {
      CHECK(w0[static_cast<size_t>(r * 3 + 2)] == 0.0);
      CHECK(w1[static_cast<size_t>(r * 3 + 0)] == 0.0);
    }
    // Padding changes nothing for the keys left: the values at padded keys are never read.
    Tensor v2 = v.detach().clone();
    v2.select(0, 0).select(1, 2).copy_(full({2, 4}, 100.0, kF64));
    CHECK_CLOSE(scaled_dot_product_attention(q, k, v2, {.key_padding_mask = pad}).output,
                scaled_dot_product_attention(q, k, v, {.key_padding_mask = pad}).output, 1e-12, 0);
  }
}

TEST_CASE(
    "scaled_dot_product_attention: a fully masked row gives zero weights, zero output and zero gradient, not NaN") {
  // PyTorch 1.13 returns NaN for such rows; heed returns zeros (documented in autograd/attention.h).
  manual_seed(3);
  Tensor q = randn({2, 2, 3, 4}, kF64).requires_grad_(), k = randn({2, 2, 3, 4}, kF64).requires_grad_(),
         v = randn({2, 2, 3, 4}, kF64).requires_grad_();
  Tensor pad = Bool({0, 1, 0, 1, 1, 1}, {2, 3});  // batch 1: every key is padding
  autograd::AnomalyModeGuard anomaly;             // no op may produce NaN or Inf, forward or backward
  AttentionResult r = scaled_dot_product_attention(q, k, v, {.key_padding_mask = pad, .need_weights = true});
  CHECK(all_finite(r.output));
  CHECK(values(r.output.select(0, 1)) == std::vector<double>(24, 0.0));
  CHECK(values(r.weights.select(0, 1)) == std::vector<double>(18, 0.0));
  CHECK_CLOSE(sum(r.weights.select(0, 0), {-1}), ones({2, 3}, kF64), 1e-12, 0);  // batch 0 is unaffected
  sum(r.output * r.output).backward();
  for (const Tensor& t : {q, k, v}) {
    REQUIRE(t.grad().defined());
    CHECK(all_finite(t.grad()));
    CHECK(values(t.grad().select(0, 1)) == std::vector<double>(24, 0.0));
  }
  CHECK(max(abs(q.grad().select(0, 0))).item() > 0);
  // The same with a float mask of all -inf on one query row.
  const double inf = std::numeric_limits<double>::infinity();
  Tensor additive = from_vector(std::vector<double>{0, 0, 0, -inf, -inf, -inf, 0, -inf, 0}, {3, 3}, kF64);
  Tensor w = scaled_dot_product_attention(q, k, v, {.attn_mask = additive, .need_weights = true}).weights;
  CHECK(values(w.select(0, 0).select(0, 0).select(0, 1)) == std::vector<double>(3, 0.0));
  CHECK(all_finite(w));
}

TEST_CASE("scaled_dot_product_attention: works in float32, masked, under anomaly mode") {
  manual_seed(4);
  Tensor q = randn({1, 2, 3, 4}).requires_grad_(), k = randn({1, 2, 3, 4}), v = randn({1, 2, 3, 4});
  autograd::AnomalyModeGuard anomaly;
  Tensor out = scaled_dot_product_attention(q, k, v, {.causal = true}).output;
  CHECK(out.dtype() == DType::Float32);
  sum(out).backward();
  CHECK(all_finite(q.grad()));
  CHECK_CLOSE(out,
              reference_attention(
                  q, k, v, where(Bool({0, 1, 1, 0, 0, 1, 0, 0, 0}, {3, 3}), scalar_tensor(-1e30), scalar_tensor(0.0))),
              1e-6, 1e-5);
}

TEST_CASE("scaled_dot_product_attention: dropout on the weights follows the seed") {
  manual_seed(5);
  Tensor q = randn({1, 2, 8, 4}, kF64), k = randn({1, 2, 8, 4}, kF64), v = randn({1, 2, 8, 4}, kF64);
  manual_seed(9);
  AttentionResult a = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.5, .need_weights = true});
  manual_seed(9);
  AttentionResult b = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.5, .need_weights = true});
  CHECK(values(a.output) == values(b.output));
  Tensor plain = scaled_dot_product_attention(q, k, v, {.need_weights = true}).weights;
  // Each weight is dropped (0) or kept and scaled by 1/(1 - p) = 2; some of each.
  auto dropped = values(a.weights), kept = values(plain);
  int zeros = 0, scaled = 0;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (dropped[i] == 0.0)
      ++zeros;
    else if (std::abs(dropped[i] - 2 * kept[i]) < 1e-12)
      ++scaled;
  }
  CHECK(zeros + scaled == static_cast<int>(kept.size()));
  CHECK(zeros > 20);
  CHECK(scaled > 20);
  CHECK_CLOSE(a.output, matmul(a.weights, v), 1e-12, 1e-12);
}

TEST_CASE("scaled_dot_product_attention: errors name the op, the shapes and the dtypes") {
  Tensor q = randn({1, 2, 3, 4}), k = randn({1, 2, 5, 4}), v = randn({1, 2, 5, 6});
  auto sdpa = [](const Tensor& a, const Tensor& b, const Tensor& c, AttentionOptions o = {}) {
    return scaled_dot_product_attention(a, b, c, o);
  };
  CHECK_THROWS_WITH_AS(sdpa(randn({2, 3, 4}), k, v), doctest::Contains("must be 4-D"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, randn({1, 2, 5, 3}), v), doctest::Contains("q and k head sizes differ"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k, randn({1, 2, 4, 6})), doctest::Contains("k and v lengths differ"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k, randn({2, 2, 5, 6})), doctest::Contains("batch and head sizes differ"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k.to(DType::Float64), v), doctest::Contains("float64"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k, v, {.attn_mask = Bool({0, 1, 0}, {3})}),
                       doctest::Contains("attn_mask of shape [3] does not broadcast to (B,H,T,S) = [1, 2, 3, 5]"),
                       Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k, v, {.attn_mask = zeros({3, 5}, {DType::Int64})}),
                       doctest::Contains("attn_mask must be bool (uint8) or floating, got int64"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k, v, {.key_padding_mask = Bool({0, 0, 0}, {1, 3})}),
                       doctest::Contains("key_padding_mask has shape [1, 3], expected (B,S) = [1, 5]"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k, v, {.key_padding_mask = zeros({1, 5})}),
                       doctest::Contains("key_padding_mask must be bool"), Error);
  CHECK_THROWS_WITH_AS(sdpa(q, k, v, {.dropout_p = 1.0}), doctest::Contains("dropout_p must be in [0, 1)"), Error);
}

// ---------------------------------------------------------------- MultiHeadAttention

TEST_CASE("MultiHeadAttention: parameters named and shaped as torch.nn.MultiheadAttention") {
  nn::MultiHeadAttention packed(8, 2);
  std::vector<std::pair<std::string, Shape>> got;
  for (auto& [n, t] : packed.state_dict()) got.emplace_back(n, t.shape());
  CHECK(got ==
        std::vector<std::pair<std::string, Shape>>{
            {"in_proj_weight", {24, 8}}, {"in_proj_bias", {24}}, {"out_proj.weight", {8, 8}}, {"out_proj.bias", {8}}});
  nn::MultiHeadAttention separate(8, 4, 0.0, true, 3, 5);
  got.clear();
  for (auto& [n, t] : separate.state_dict()) got.emplace_back(n, t.shape());
  CHECK(got == std::vector<std::pair<std::string, Shape>>{{"q_proj_weight", {8, 8}},
                                                          {"k_proj_weight", {8, 3}},
                                                          {"v_proj_weight", {8, 5}},
                                                          {"in_proj_bias", {24}},
                                                          {"out_proj.weight", {8, 8}},
                                                          {"out_proj.bias", {8}}});
  CHECK(separate.head_dim == 2);
  nn::MultiHeadAttention no_bias(8, 2, 0.0, false);
  CHECK(no_bias.named_parameters().size() == 2);
}

TEST_CASE("MultiHeadAttention: PyTorch's init (xavier_uniform in_proj, zero biases)") {
  manual_seed(6);
  nn::MultiHeadAttention m(64, 4);
  const double bound = std::sqrt(6.0 / (64 + 3 * 64));  // fan_in 64, fan_out 192
  auto w = values(m.in_proj_weight);
  double mx = 0, sq = 0;
  for (double x : w) mx = std::max(mx, std::abs(x)), sq += x * x;
  CHECK(mx <= bound);
  CHECK(mx > 0.95 * bound);
  CHECK(std::sqrt(sq / static_cast<double>(w.size())) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.05));
  CHECK(values(m.in_proj_bias) == std::vector<double>(192, 0.0));
  CHECK(values(m.out_proj->bias) == std::vector<double>(64, 0.0));
  CHECK(max(abs(m.out_proj->weight)).item() <= 1.0 / 8.0);  // Linear's U(±1/√E)
  nn::MultiHeadAttention sep(4, 2, 0.0, true, 6, 4);
  CHECK(max(abs(sep.k_proj_weight)).item() <= std::sqrt(6.0 / (6 + 4)));
}

TEST_CASE("MultiHeadAttention: layouts agree (time-major, batch_first, unbatched, split self-attention)") {
  manual_seed(7);
  nn::MultiHeadAttention tm(6, 3), bf(6, 3, 0.0, true, std::nullopt, std::nullopt, true);
  tm.to(DType::Float64), bf.to(DType::Float64);
  bf.load_state_dict(tm.state_dict());
  Tensor x = randn({4, 2, 6}, kF64);  // (T,B,E)
  auto a = tm.forward(x, x, x);
  auto b = bf.forward(x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1));
  CHECK_CLOSE(a.output, b.output.transpose(0, 1), 1e-12, 1e-12);
  CHECK_CLOSE(a.weights, b.weights, 1e-12, 1e-12);
  CHECK(a.weights.shape() == Shape{2, 4, 4});
  // One tensor passed three times takes the one-GEMM path; copies take the split path.
  auto c = tm.forward(x, x.clone(), x.clone(), {}, true, false);
  CHECK_CLOSE(a.output, c.output, 1e-12, 1e-12);
  CHECK(c.weights.shape() == Shape{2, 3, 4, 4});
  CHECK_CLOSE(mean(c.weights, {1}), a.weights, 1e-12, 1e-12);
  // Unbatched (T,E) is batch 1 with the batch dim dropped.
  auto u = tm.forward(x.select(1, 1), x.select(1, 1), x.select(1, 1));
  CHECK_CLOSE(u.output, a.output.select(1, 1), 1e-12, 1e-12);
  CHECK_CLOSE(u.weights, a.weights.select(0, 1), 1e-12, 1e-12);
  CHECK_FALSE(tm.forward(x, x, x, {}, /*need_weights=*/false).weights.defined());
  CHECK_CLOSE(tm(x), a.output, 1e-12, 1e-12);  // the one-tensor forward is self-attention
}

TEST_CASE("MultiHeadAttention: masks in PyTorch's layouts, causal flag and key padding") {
  manual_seed(8);
  nn::MultiHeadAttention m(4, 2, 0.0, true, std::nullopt, std::nullopt, true);
  m.to(DType::Float64);
  Tensor x = randn({2, 3, 4}, kF64);
  Tensor causal = Bool({0, 1, 1, 0, 0, 1, 0, 0, 0}, {3, 3});
  auto by_flag = m.forward(x, x, x, {.causal = true}, true, false);
  auto by_mask = m.forward(x, x, x, {.attn_mask = causal}, true, false);
  auto by_3d = m.forward(x, x, x, {.attn_mask = causal.unsqueeze(0).expand({4, 3, 3}).contiguous()}, true, false);
  CHECK_CLOSE(by_flag.output, by_mask.output, 1e-14, 0);
  CHECK_CLOSE(by_flag.output, by_3d.output, 1e-14, 0);
  CHECK(values(by_flag.weights.select(-1, 2).select(-1, 0)) == std::vector<double>(4, 0.0));  // query 0, key 2
  // A later token never changes an earlier output under the causal mask.
  Tensor x2 = x.clone();
  x2.select(1, 2).copy_(full({2, 4}, 5.0, kF64));
  auto later = m.forward(x2, x2, x2, {.causal = true});
  CHECK_CLOSE(later.output.narrow(1, 0, 2), by_flag.output.narrow(1, 0, 2), 1e-12, 0);
  // Key padding: padded positions never influence the others.
  Tensor pad = Bool({0, 0, 1, 0, 0, 0}, {2, 3});
  auto padded = m.forward(x, x, x, {.key_padding_mask = pad});
  auto padded2 = m.forward(x2, x2, x2, {.key_padding_mask = pad});
  CHECK_CLOSE(padded.output.select(0, 0).narrow(0, 0, 2), padded2.output.select(0, 0).narrow(0, 0, 2), 1e-12, 0);
}

TEST_CASE("MultiHeadAttention: dropout on the weights in training only") {
  manual_seed(9);
  nn::MultiHeadAttention m(8, 2, 0.5);
  Tensor x = randn({5, 3, 8});
  m.eval();
  auto e1 = m.forward(x, x, x), e2 = m.forward(x, x, x);
  CHECK(values(e1.output) == values(e2.output));
  CHECK_CLOSE(sum(e1.weights, {-1}), ones({3, 5}), 1e-5, 0);
  m.train();
  auto t = m.forward(x, x, x, {}, true, false);
  auto tv = values(t.weights);
  CHECK(std::count(tv.begin(), tv.end(), 0.0) > 10);
  CHECK(values(t.output) != values(e1.output));
}

TEST_CASE("MultiHeadAttention: errors name the layer, the shapes and the dtypes") {
  CHECK_THROWS_WITH_AS(nn::MultiHeadAttention(10, 3),
                       doctest::Contains("MultiHeadAttention: embed_dim 10 is not divisible by num_heads 3"), Error);
  CHECK_THROWS_WITH_AS(nn::MultiHeadAttention(8, 2, 1.0), doctest::Contains("dropout must be in [0, 1)"), Error);
  nn::MultiHeadAttention m(4, 2, 0.0, true, 3, 5, true);
  Tensor q = randn({2, 3, 4}), k = randn({2, 6, 3}), v = randn({2, 6, 5});
  CHECK(m.forward(q, k, v).output.shape() == Shape{2, 3, 4});
  CHECK_THROWS_WITH_AS(m.forward(q, v, v), doctest::Contains("expected feature sizes embed_dim 4, kdim 3, vdim 5"),
                       Error);
  CHECK_THROWS_WITH_AS(m.forward(randn({2, 3, 5}), k, v), doctest::Contains("[2, 3, 5]"), Error);
  CHECK_THROWS_WITH_AS(m.forward(randn({3, 4}), k, v), doctest::Contains("must all be 3-D"), Error);
  CHECK_THROWS_WITH_AS(m.forward(q, k, randn({2, 5, 5})), doctest::Contains("must share batch and length"), Error);
  CHECK_THROWS_WITH_AS(m.forward(q, k, v, {.attn_mask = Bool(std::vector<double>(18, 0), {3, 6}).narrow(1, 0, 5)}),
                       doctest::Contains("MultiHeadAttention: attn_mask has shape [3, 5]; expected (T,S) = [3, 6]"),
                       Error);
  CHECK_THROWS_WITH_AS(m.forward(q, k, v, {.attn_mask = zeros({2, 3, 6})}),
                       doctest::Contains("3-D attn_mask must be (B·H,T,S) = [4, 3, 6], got [2, 3, 6]"), Error);
  CHECK_THROWS_WITH_AS(m.forward(q, k, v, {.key_padding_mask = Bool({0, 0, 0, 0, 0, 0}, {6})}),
                       doctest::Contains("key_padding_mask has shape [6], expected (B,S) = [2, 6]"), Error);
  CHECK_THROWS_WITH_AS(m.forward(q.to(DType::Float64), k, v), doctest::Contains("float64"), Error);
}

TEST_CASE("MultiHeadAttention: gradcheck and gradgradcheck w.r.t. inputs and every parameter") {
  manual_seed(10);
  SUBCASE("self-attention with key padding and causal mask") {
    nn::MultiHeadAttention m(4, 2, 0.0, true, std::nullopt, std::nullopt, true);
    m.to(DType::Float64);
    Tensor pad = Bool({0, 0, 1, 0, 0, 0}, {2, 3});
    test::ModuleCall call = [pad](nn::Module& mod, const std::vector<Tensor>& in) {
      auto r = static_cast<nn::MultiHeadAttention&>(mod).forward(in[0], in[0], in[0],
                                                                 {.key_padding_mask = pad, .causal = true});
      return cat({r.output.flatten(), r.weights.flatten()});
    };
    Tensor x = randn({2, 3, 4}, kF64);
    CHECK(test::gradcheck_module(m, {x}, call));
    CHECK(test::gradgradcheck_module(m, {x}, call));
  }
  SUBCASE("cross-attention with kdim, vdim and a learned additive mask") {
    nn::MultiHeadAttention m(4, 2, 0.0, true, 3, 2);
    m.to(DType::Float64);
    test::ModuleCall call = [](nn::Module& mod, const std::vector<Tensor>& in) {
      return static_cast<nn::MultiHeadAttention&>(mod).forward(in[0], in[1], in[2], {.attn_mask = in[3]}).output;
    };
    CHECK(test::gradcheck_module(
        m, {randn({2, 1, 4}, kF64), randn({3, 1, 3}, kF64), randn({3, 1, 2}, kF64), randn({2, 3}, kF64)}, call));
  }
}

// ---------------------------------------------------------------- AdditiveAttentionPooling

TEST_CASE("AdditiveAttentionPooling: softmax over time of vᵀ tanh(W h + b), padding excluded") {
  manual_seed(11);
  nn::AdditiveAttentionPooling pool(4, 3);
  pool.to(DType::Float64);
  std::vector<std::string> names;
  for (auto& [n, _] : pool.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"proj.weight", "proj.bias", "score.weight"});
  Tensor h = randn({2, 5, 4}, kF64);
  Tensor pad = Bool({0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, {2, 5});
  Tensor out = pool.forward(h, pad);
  CHECK(out.shape() == Shape{2, 4});
  Tensor w = pool.last_weights;
  CHECK(w.shape() == Shape{2, 5});
  auto wv = values(w);
  CHECK(wv[3] == 0.0);
  CHECK(wv[4] == 0.0);
  CHECK_CLOSE(sum(w, {1}), ones({2}, kF64), 1e-12, 0);
  // By hand: scores, softmax over the first 3 steps of batch 0.
  Tensor scores = matmul(tanh(matmul(h, pool.proj->weight.t()) + pool.proj->bias), pool.score->weight.t()).squeeze(-1);
  Tensor a0 = softmax(scores.select(0, 0).narrow(0, 0, 3), 0);
  CHECK_CLOSE(w.select(0, 0).narrow(0, 0, 3), a0, 1e-12, 1e-12);
  CHECK_CLOSE(out.select(0, 0), matmul(a0, h.select(0, 0).narrow(0, 0, 3)), 1e-12, 1e-12);
  // No mask: every step counts.
  CHECK_CLOSE(pool(h).select(0, 1), out.select(0, 1), 1e-12, 1e-12);
  CHECK(test::gradcheck_module(pool, {h}, [pad](nn::Module& m, const std::vector<Tensor>& in) {
    return static_cast<nn::AdditiveAttentionPooling&>(m).forward(in[0], pad);
  }));
}

TEST_CASE("AdditiveAttentionPooling: with attention_size 0 (linear scores), an all-padding sequence pools to zeros") {
  nn::AdditiveAttentionPooling pool(3, 0);
  std::vector<std::string> names;
  for (auto& [n, _] : pool.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"score.weight", "score.bias"});
  Tensor h = randn({2, 4, 3}).requires_grad_();
  Tensor out = pool.forward(h, Bool({1, 1, 1, 1, 0, 0, 1, 0}, {2, 4}));
  CHECK(values(out.select(0, 0)) == std::vector<double>(3, 0.0));
  CHECK(values(pool.last_weights.select(0, 0)) == std::vector<double>(4, 0.0));
  sum(out).backward();
  CHECK(all_finite(h.grad()));
  CHECK_THROWS_WITH_AS(pool.forward(randn({2, 4, 5}), Tensor()),
                       doctest::Contains("AdditiveAttentionPooling: input must be (B,T,E) with E = input_size 3"),
                       Error);
  CHECK_THROWS_WITH_AS(pool.forward(h, Bool({0, 0, 0, 0}, {1, 4})),
                       doctest::Contains("padding_mask must be bool (B,T)"), Error);
}
