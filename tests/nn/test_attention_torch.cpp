// PyTorch parity for every sequence layer: MultiHeadAttention, TransformerEncoderLayer /
// TransformerEncoder, LSTM, GRU, attention pooling and sinusoidal positions. Each case of
// tests/fixtures/sequence.safetensors (scripts/make_sequence_fixtures.py) holds a torch
// module's state dict, inputs, outputs and the gradients of Σ sum(out·gout) w.r.t. every input
// and parameter. heed loads the state dict (strict, float64), runs the same call, and must
// match each tensor; failures name the case and the tensor.
#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <string>

#include "nn/attention.h"
#include "nn/positional.h"
#include "nn/recurrent.h"
#include "nn/transformer.h"
#include "tensor/io.h"
#include "tensor/ops.h"
#include "tests/helpers.h"

namespace {

using namespace heed;
using Ins = std::vector<Tensor>;
using Call = std::function<Ins(nn::Module&, const Ins&)>;
constexpr double kAtol = 1e-10, kRtol = 1e-9;  // float64 on both sides: rounding only

const SafetensorsFile& fixtures() {
  static const SafetensorsFile f = load_safetensors(HEED_FIXTURES_DIR "/sequence.safetensors");
  return f;
}

// Every case the tests below check; the last test compares this list with the file's cases.
const std::set<std::string> kCases = {"mha_self",
                                      "mha_cross_kdim_vdim",
                                      "mha_packed_cross",
                                      "mha_causal",
                                      "mha_bool_mask_padding",
                                      "mha_float_mask_3d",
                                      "mha_unbatched",
                                      "encoder_layer_post_relu",
                                      "encoder_layer_pre_gelu",
                                      "encoder_2layers_padding_norm",
                                      "lstm_2layer_bidir",
                                      "lstm_nobias",
                                      "lstm_unbatched",
                                      "gru_2layer_bidir",
                                      "gru_1layer",
                                      "pool_additive",
                                      "sinusoidal_even",
                                      "sinusoidal_odd"};

// Loads case `name` into `m`, runs `call` on the case's inputs, and checks every output and
// every gradient (inputs with a NAME.gin<K> entry, and all parameters) against PyTorch's.
void check_case(const std::string& name, nn::Module& m, const Call& call) {
  REQUIRE_MESSAGE(kCases.count(name) == 1, "add ", name, " to kCases");
  const SafetensorsFile& f = fixtures();
  m.to(DType::Float64);
  m.eval();
  nn::NamedTensors state;
  const std::string p = name + ".p.";
  for (const auto& [key, t] : f.tensors)
    if (key.rfind(p, 0) == 0) state.emplace_back(key.substr(p.size()), t);
  m.load_state_dict(state, /*strict=*/true);
  m.zero_grad();

  Ins inputs;
  for (size_t k = 0; f.contains(fmt::format("{}.in{}", name, k)); ++k) {
    Tensor x = raw::clone(f.at(fmt::format("{}.in{}", name, k)));
    if (f.contains(fmt::format("{}.gin{}", name, k))) x.requires_grad_();
    inputs.push_back(x);
  }
  const Ins outs = call(m, inputs);
  Tensor loss = scalar_tensor(0, {DType::Float64});
  size_t n_out = 0;
  for (; f.contains(fmt::format("{}.out{}", name, n_out)); ++n_out) {
    const std::string label = fmt::format("{}.out{}", name, n_out);
    INFO(label);
    REQUIRE(n_out < outs.size());
    CHECK_CLOSE(outs[n_out], f.at(label), kAtol, kRtol);
    loss = loss + sum(outs[n_out] * f.at(fmt::format("{}.gout{}", name, n_out)));
  }
  CHECK_MESSAGE(n_out == outs.size(), name, ": heed returned ", outs.size(), " outputs, the fixture has ", n_out);
  loss.backward();
  for (size_t k = 0; k < inputs.size(); ++k) {
    const std::string label = fmt::format("{}.gin{}", name, k);
    if (!f.contains(label)) continue;
    INFO(label);
    REQUIRE(inputs[k].grad().defined());
    CHECK_CLOSE(inputs[k].grad(), f.at(label), kAtol, kRtol);
  }
  size_t n_grads = 0;
  for (const auto& [pname, param] : m.named_parameters()) {
    const std::string label = fmt::format("{}.gp.{}", name, pname);
    INFO(label);
    REQUIRE(f.contains(label));
    REQUIRE(param.grad().defined());
    CHECK_CLOSE(param.grad(), f.at(label), kAtol, kRtol);
    ++n_grads;
  }
  size_t in_file = 0;
  for (const auto& [key, _] : f.tensors) in_file += key.rfind(name + ".gp.", 0) == 0;
  CHECK_MESSAGE(n_grads == in_file, name, ": heed has ", n_grads, " parameters, PyTorch ", in_file);
}

Ins mha_out(const nn::MultiHeadAttention::Output& r) { return {r.output, r.weights}; }
nn::MultiHeadAttention& as_mha(nn::Module& m) { return static_cast<nn::MultiHeadAttention&>(m); }

nn::TransformerEncoderLayerOptions small_layer() {
  nn::TransformerEncoderLayerOptions o;
  o.d_model = 4, o.nhead = 2, o.dim_feedforward = 6, o.dropout = 0.0;
  return o;
}

}  // namespace

TEST_CASE("sequence fixtures: MultiHeadAttention matches torch.nn.MultiheadAttention") {
  SUBCASE("self-attention, time-major, averaged weights") {
    nn::MultiHeadAttention m(4, 2);
    check_case("mha_self", m, [](nn::Module& m, const Ins& x) { return mha_out(as_mha(m).forward(x[0], x[0], x[0])); });
  }
  SUBCASE("cross-attention with kdim and vdim, batch_first, key padding, per-head weights") {
    nn::MultiHeadAttention m(4, 2, 0.0, true, 3, 5, true);
    check_case("mha_cross_kdim_vdim", m, [](nn::Module& m, const Ins& x) {
      return mha_out(as_mha(m).forward(x[0], x[1], x[2], {.key_padding_mask = x[3]}, true, false));
    });
  }
  SUBCASE("packed weights, distinct query, key and value, no bias") {
    nn::MultiHeadAttention m(4, 2, 0.0, false);
    check_case("mha_packed_cross", m,
               [](nn::Module& m, const Ins& x) { return mha_out(as_mha(m).forward(x[0], x[1], x[2])); });
  }
  SUBCASE("causal flag against PyTorch's causal mask") {
    nn::MultiHeadAttention m(6, 3, 0.0, true, std::nullopt, std::nullopt, true);
    check_case("mha_causal", m, [](nn::Module& m, const Ins& x) {
      return mha_out(as_mha(m).forward(x[0], x[0], x[0], {.causal = true}, true, false));
    });
  }
  SUBCASE("bool (T,S) attn_mask with key padding") {
    nn::MultiHeadAttention m(4, 2, 0.0, true, std::nullopt, std::nullopt, true);
    check_case("mha_bool_mask_padding", m, [](nn::Module& m, const Ins& x) {
      return mha_out(as_mha(m).forward(x[0], x[0], x[0], {.key_padding_mask = x[2], .attn_mask = x[1]}));
    });
  }
  SUBCASE("float (B*H,T,S) additive mask with -inf entries") {
    nn::MultiHeadAttention m(4, 2);
    check_case("mha_float_mask_3d", m, [](nn::Module& m, const Ins& x) {
      return mha_out(as_mha(m).forward(x[0], x[0], x[0], {.attn_mask = x[1]}));
    });
  }
  SUBCASE("unbatched (T,E) input") {
    nn::MultiHeadAttention m(4, 2);
    check_case("mha_unbatched", m,
               [](nn::Module& m, const Ins& x) { return mha_out(as_mha(m).forward(x[0], x[0], x[0])); });
  }
}

TEST_CASE("sequence fixtures: Transformer encoder matches torch.nn.TransformerEncoder(Layer)") {
  using Layer = nn::TransformerEncoderLayer;
  SUBCASE("post-norm, relu, time-major") {
    Layer m(small_layer());
    check_case("encoder_layer_post_relu", m, [](nn::Module& m, const Ins& x) { return Ins{m.forward(x[0])}; });
  }
  SUBCASE("pre-norm, gelu, batch_first, key padding") {
    nn::TransformerEncoderLayerOptions o = small_layer();
    o.activation = "gelu", o.norm_first = true, o.batch_first = true;
    Layer m(o);
    check_case("encoder_layer_pre_gelu", m, [](nn::Module& m, const Ins& x) {
      return Ins{static_cast<Layer&>(m).forward(x[0], {.key_padding_mask = x[1]})};
    });
  }
  nn::TransformerEncoderLayerOptions o = small_layer();
  o.batch_first = true;
  SUBCASE("2 layers, key padding, causal mask, final norm") {
    nn::TransformerEncoder m(o, 2, true);
    check_case("encoder_2layers_padding_norm", m, [](nn::Module& m, const Ins& x) {
      return Ins{static_cast<nn::TransformerEncoder&>(m).forward(x[0], {.key_padding_mask = x[1], .attn_mask = x[2]})};
    });
  }
  SUBCASE("2 layers, heed's causal flag in place of the mask") {
    nn::TransformerEncoder m(o, 2, true);
    check_case("encoder_2layers_padding_norm", m, [](nn::Module& m, const Ins& x) {
      return Ins{static_cast<nn::TransformerEncoder&>(m).forward(x[0], {.key_padding_mask = x[1], .causal = true})};
    });
  }
}

TEST_CASE("sequence fixtures: LSTM and GRU match torch.nn.LSTM and torch.nn.GRU") {
  auto lstm_out = [](const nn::LSTM::Output& r) { return Ins{r.output, r.state.h, r.state.c}; };
  SUBCASE("LSTM, 2 layers, bidirectional, batch_first, initial state") {
    nn::LSTM m(3, 2, 2, true, true, 0.0, true);
    check_case("lstm_2layer_bidir", m, [&](nn::Module& m, const Ins& x) {
      return lstm_out(static_cast<nn::LSTM&>(m).forward(x[0], {x[1], x[2]}));
    });
  }
  SUBCASE("LSTM without bias, time-major, zero initial state") {
    nn::LSTM m(3, 4, 1, false);
    check_case("lstm_nobias", m,
               [&](nn::Module& m, const Ins& x) { return lstm_out(static_cast<nn::LSTM&>(m).forward(x[0], {})); });
  }
  SUBCASE("LSTM, unbatched (T,I) input") {
    nn::LSTM m(3, 2);
    check_case("lstm_unbatched", m, [&](nn::Module& m, const Ins& x) {
      return lstm_out(static_cast<nn::LSTM&>(m).forward(x[0], {x[1], x[2]}));
    });
  }
  SUBCASE("GRU, 2 layers, bidirectional, batch_first, initial state") {
    nn::GRU m(3, 2, 2, true, true, 0.0, true);
    check_case("gru_2layer_bidir", m, [](nn::Module& m, const Ins& x) {
      auto r = static_cast<nn::GRU&>(m).forward(x[0], x[1]);
      return Ins{r.output, r.h_n};
    });
  }
  SUBCASE("GRU, 1 layer, time-major") {
    nn::GRU m(2, 3);
    check_case("gru_1layer", m, [](nn::Module& m, const Ins& x) {
      auto r = static_cast<nn::GRU&>(m).forward(x[0], Tensor());
      return Ins{r.output, r.h_n};
    });
  }
}

TEST_CASE("sequence fixtures: attention pooling and sinusoidal positions match the PyTorch formulas") {
  SUBCASE("additive attention pooling with padding") {
    nn::AdditiveAttentionPooling m(4, 3);
    check_case("pool_additive", m, [](nn::Module& m, const Ins& x) {
      auto& pool = static_cast<nn::AdditiveAttentionPooling&>(m);
      Tensor out = pool.forward(x[0], x[1]);
      return Ins{out, pool.last_weights};
    });
  }
  for (auto [name, E, max_len] : {std::tuple{"sinusoidal_even", 6, 10}, std::tuple{"sinusoidal_odd", 5, 8}}) {
    CAPTURE(name);
    nn::SinusoidalPositionalEncoding m(E, max_len);
    // heed's own table (float32) against the PyTorch tutorial's, before the state is loaded.
    CHECK_CLOSE(m.pe, fixtures().at(std::string(name) + ".p.pe"), 1e-6, 1e-6);
    check_case(name, m, [](nn::Module& m, const Ins& x) { return Ins{m.forward(x[0])}; });
  }
}

TEST_CASE("sequence fixtures: every case in the file is checked") {
  std::set<std::string> in_file;
  for (const auto& [key, _] : fixtures().tensors) in_file.insert(key.substr(0, key.find('.')));
  for (const std::string& name : in_file)
    CHECK_MESSAGE(kCases.count(name) == 1, "case in the file but not checked: ", name);
  for (const std::string& name : kCases) CHECK_MESSAGE(in_file.count(name) == 1, "case missing from the file: ", name);
}
