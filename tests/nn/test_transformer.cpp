// nn::TransformerEncoderLayer / TransformerEncoder and the positional encodings, piece by piece:
// PyTorch's parameter names, pre- and post-norm wiring against a hand composition, masks,
// dropout, errors, gradcheck; sinusoidal and learned positions. Values against PyTorch live in
// test_attention_torch.cpp.
// Shape legend: B batch, T length, E d_model, F dim_feedforward.
#include <doctest/doctest.h>

#include <cmath>

#include "../helpers.h"
#include "module_gradcheck.h"
#include "nn/positional.h"
#include "nn/transformer.h"
#include "tensor/random.h"

using namespace heed;
using heed::test::values;

namespace {

constexpr Options kF64{DType::Float64};

nn::TransformerEncoderLayerOptions small(bool norm_first = false, bool batch_first = true) {
  nn::TransformerEncoderLayerOptions o;
  o.d_model = 4, o.nhead = 2, o.dim_feedforward = 6, o.dropout = 0.0, o.norm_first = norm_first,
  o.batch_first = batch_first;
  return o;
}

std::vector<std::string> names(const nn::Module& m) {
  std::vector<std::string> out;
  for (auto& [n, _] : m.state_dict()) out.push_back(n);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- encoder

TEST_CASE("TransformerEncoder: state dict keys as torch.nn.TransformerEncoder's") {
  nn::TransformerEncoder enc(small(), 2, /*final_norm=*/true);
  std::vector<std::string> want;
  for (int l = 0; l < 2; ++l)
    for (const char* k : {"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                          "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                          "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"})
      want.push_back(fmt::format("layers.{}.{}", l, k));
  want.push_back("norm.weight");
  want.push_back("norm.bias");
  CHECK(names(enc) == want);
  CHECK(enc.layer(1).linear1->weight.shape() == Shape{6, 4});
  // Each layer is initialised afresh, not a copy of the first.
  CHECK(values(enc.layer(0).linear1->weight) != values(enc.layer(1).linear1->weight));
  CHECK(nn::TransformerEncoder(small(), 1).norm == nullptr);
}

TEST_CASE("TransformerEncoderLayer: post-norm and pre-norm wiring, by hand") {
  manual_seed(31);
  for (bool norm_first : {false, true}) {
    CAPTURE(norm_first);
    nn::TransformerEncoderLayer layer(small(norm_first));
    layer.to(DType::Float64);
    layer.eval();
    Tensor x = randn({2, 3, 4}, kF64);
    auto sa = [&](const Tensor& t) { return layer.self_attn->forward(t, t, t).output; };
    auto ff = [&](const Tensor& t) { return layer.linear2->forward(relu(layer.linear1->forward(t))); };
    Tensor want;
    if (norm_first) {
      Tensor h = x + sa(layer.norm1->forward(x));
      want = h + ff(layer.norm2->forward(h));
    } else {
      Tensor h = layer.norm1->forward(x + sa(x));
      want = layer.norm2->forward(h + ff(h));
    }
    CHECK_CLOSE(layer(x), want, 1e-12, 1e-12);
  }
}

TEST_CASE("TransformerEncoderLayer: forward_with_weights gives forward's output and trainable attention weights") {
  manual_seed(35);
  nn::TransformerEncoderLayer layer(small(true));
  layer.to(DType::Float64);
  layer.eval();
  Tensor x = randn({2, 3, 4}, kF64);
  auto [y, weights] = layer.forward_with_weights(x, {});
  CHECK_CLOSE(y, layer(x), 1e-12, 1e-12);
  REQUIRE(weights.shape() == Shape{2, 3, 3});
  CHECK_CLOSE(sum(weights, {2}), ones({2, 3}, kF64), 1e-12, 1e-12);
  Tensor normed = layer.norm1->forward(x);
  CHECK_CLOSE(weights, layer.self_attn->forward(normed, normed, normed).weights, 1e-12, 1e-12);
  // A loss on the weights alone reaches the query and key projections.
  layer.zero_grad();
  sum(weights.select(2, 0)).backward();
  const Tensor g = layer.self_attn->in_proj_weight.grad();
  REQUIRE(g.defined());
  CHECK(max(abs(g), {}).item() > 1e-6);
}

TEST_CASE("TransformerEncoder: padded and future positions do not reach the others") {
  manual_seed(32);
  nn::TransformerEncoder enc(small(), 2);
  enc.to(DType::Float64);
  enc.eval();
  Tensor x = randn({2, 4, 4}, kF64);
  Tensor pad = from_vector(std::vector<double>{0, 0, 0, 1, 0, 0, 0, 0}, {2, 4}, {kBool});
  Tensor x2 = x.clone();
  x2.select(1, 3).copy_(full({2, 4}, 3.0, kF64));  // change step 3 of both sequences
  Tensor a = enc.forward(x, {.key_padding_mask = pad}), b = enc.forward(x2, {.key_padding_mask = pad});
  CHECK_CLOSE(a.select(0, 0).narrow(0, 0, 3), b.select(0, 0).narrow(0, 0, 3), 1e-12, 0);  // padded step 3: no effect
  CHECK(values(a.select(0, 1)) != values(b.select(0, 1)));                                // unpadded: it matters
  Tensor c = enc.forward(x, {.causal = true}), d = enc.forward(x2, {.causal = true});
  CHECK_CLOSE(c.narrow(1, 0, 3), d.narrow(1, 0, 3), 1e-12, 0);  // the last step is nobody's past
}

TEST_CASE("TransformerEncoderLayer: dropout only in training") {
  manual_seed(33);
  nn::TransformerEncoderLayerOptions o = small();
  o.dropout = 0.3;
  nn::TransformerEncoderLayer layer(o);
  Tensor x = randn({2, 5, 4});
  layer.eval();
  Tensor e = layer(x);
  CHECK(values(layer(x)) == values(e));
  layer.train();
  CHECK(values(layer(x)) != values(e));
  CHECK(layer.self_attn->dropout == 0.3);
}

TEST_CASE("TransformerEncoderLayer and TransformerEncoder: errors name the layer and the shapes") {
  nn::TransformerEncoderLayerOptions o = small();
  nn::TransformerEncoderLayer layer(o);
  Tensor x = randn({2, 5, 4});
  o.activation = "tanh";
  CHECK_THROWS_WITH_AS(
      nn::TransformerEncoderLayer{o},
      doctest::Contains("TransformerEncoderLayer: activation must be \"relu\" or \"gelu\", got \"tanh\""), Error);
  CHECK_THROWS_WITH_AS(nn::TransformerEncoderLayer(6, 4),
                       doctest::Contains("MultiHeadAttention: embed_dim 6 is not divisible by num_heads 4"), Error);
  CHECK_THROWS_WITH_AS(layer(randn({2, 5, 3})), doctest::Contains("[2, 5, 3]"), Error);
  CHECK_THROWS_WITH_AS(layer.forward(x, {.key_padding_mask = from_vector(std::vector<double>{0, 0}, {1, 2}, {kBool})}),
                       doctest::Contains("key_padding_mask has shape [1, 2], expected (B,S) = [2, 5]"), Error);
  CHECK_THROWS_WITH_AS(nn::TransformerEncoder(small(), 0), doctest::Contains("num_layers must be positive"), Error);
}

TEST_CASE("TransformerEncoderLayer: gradcheck and gradgradcheck w.r.t. input and every parameter") {
  manual_seed(34);
  nn::TransformerEncoderLayerOptions o = small(true);
  o.activation = "gelu";
  nn::TransformerEncoderLayer layer(o);
  layer.to(DType::Float64);
  Tensor pad = from_vector(std::vector<double>{0, 0, 1, 0, 0, 0}, {2, 3}, {kBool});
  test::ModuleCall call = [pad](nn::Module& m, const std::vector<Tensor>& in) {
    return static_cast<nn::TransformerEncoderLayer&>(m).forward(in[0], {.key_padding_mask = pad});
  };
  Tensor x = randn({2, 3, 4}, kF64);
  CHECK(test::gradcheck_module(layer, {x}, call));
  CHECK(test::gradgradcheck_module(layer, {x}, call));
}

// ---------------------------------------------------------------- positional encodings

TEST_CASE("SinusoidalPositionalEncoding: sin / cos of pos / 10000^(2i/E), added to the input") {
  nn::SinusoidalPositionalEncoding pe(6, 50);
  CHECK(pe.pe.shape() == Shape{50, 6});
  CHECK(pe.named_parameters().empty());
  CHECK(names(pe) == std::vector<std::string>{"pe"});  // a buffer: follows to(), saved with the model
  auto v = values(pe.pe);
  for (int pos : {0, 1, 7, 49})
    for (int i = 0; i < 6; ++i) {
      const double angle = pos / std::pow(10000.0, (i - i % 2) / 6.0);
      CHECK(v[static_cast<size_t>(pos * 6 + i)] ==
            doctest::Approx(i % 2 == 0 ? std::sin(angle) : std::cos(angle)).epsilon(1e-6));
    }
  Tensor x = randn({3, 7, 6});  // batch_first = false: (T,B,E)
  CHECK_CLOSE(pe(x), x + pe.pe.narrow(0, 0, 3).unsqueeze(1), 0, 0);
  nn::SinusoidalPositionalEncoding bf(6, 50, 0.0, true);
  CHECK_CLOSE(bf(x), x + pe.pe.narrow(0, 0, 7), 0, 0);  // (B,T,E)
  CHECK_THROWS_WITH_AS(pe(randn({51, 1, 6})), doctest::Contains("sequence length 51 exceeds max_len 50"), Error);
  CHECK_THROWS_WITH_AS(pe(randn({3, 1, 5})), doctest::Contains("E = d_model 6"), Error);
}

TEST_CASE("LearnedPositionalEncoding: the first T rows of an Embedding over positions, trained by backward") {
  manual_seed(35);
  nn::LearnedPositionalEncoding pe(10, 4, 0.0, true);
  CHECK(names(pe) == std::vector<std::string>{"embedding.weight"});
  CHECK(pe.embedding->weight.shape() == Shape{10, 4});
  Tensor x = randn({2, 3, 4});
  Tensor y = pe(x);
  CHECK_CLOSE(y, x + pe.embedding->weight.narrow(0, 0, 3).detach(), 0, 0);
  sum(y).backward();
  auto g = values(pe.embedding->weight.grad());
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == (i < 12 ? 2.0 : 0.0));  // 2 batch rows per used position
  CHECK_THROWS_WITH_AS(pe(randn({2, 11, 4})), doctest::Contains("LearnedPositionalEncoding: sequence length 11"),
                       Error);
  pe.to(DType::Float64);
  CHECK(test::gradcheck_module(pe, {randn({2, 3, 4}, kF64)}));
}
