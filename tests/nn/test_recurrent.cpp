// nn::LSTM and nn::GRU, piece by piece: PyTorch's parameter names, shapes and init; the time
// loop against the cell functions step by step; bidirectional = a forward pass over the
// reversed sequence; dropout between layers; errors; gradcheck / gradgradcheck w.r.t. inputs,
// initial states and every parameter. Values against PyTorch live in test_attention_torch.cpp.
// Shape legend: T time, B batch, I input size, N hidden size, L layers, D directions.
#include <doctest/doctest.h>

#include <cmath>

#include "../helpers.h"
#include "autograd/attention.h"
#include "module_gradcheck.h"
#include "nn/recurrent.h"
#include "tensor/random.h"

using namespace heed;
using heed::test::values;

namespace {

constexpr Options kF64{DType::Float64};

std::vector<std::pair<std::string, Shape>> named_shapes(const nn::Module& m) {
  std::vector<std::pair<std::string, Shape>> out;
  for (auto& [n, t] : m.state_dict()) out.emplace_back(n, t.shape());
  return out;
}

// x reversed along dim 0.
Tensor flip0(const Tensor& x) {
  std::vector<Tensor> rows;
  for (int64_t t = x.size(0) - 1; t >= 0; --t) rows.push_back(x.select(0, t));
  return stack(rows, 0);
}

}  // namespace

TEST_CASE("LSTM and GRU: parameters named, shaped and ordered as in PyTorch") {
  nn::LSTM lstm(3, 4, 2, true, false, 0.0, true);
  CHECK(named_shapes(lstm) == std::vector<std::pair<std::string, Shape>>{{"weight_ih_l0", {16, 3}},
                                                                         {"weight_hh_l0", {16, 4}},
                                                                         {"bias_ih_l0", {16}},
                                                                         {"bias_hh_l0", {16}},
                                                                         {"weight_ih_l0_reverse", {16, 3}},
                                                                         {"weight_hh_l0_reverse", {16, 4}},
                                                                         {"bias_ih_l0_reverse", {16}},
                                                                         {"bias_hh_l0_reverse", {16}},
                                                                         {"weight_ih_l1", {16, 8}},
                                                                         {"weight_hh_l1", {16, 4}},
                                                                         {"bias_ih_l1", {16}},
                                                                         {"bias_hh_l1", {16}},
                                                                         {"weight_ih_l1_reverse", {16, 8}},
                                                                         {"weight_hh_l1_reverse", {16, 4}},
                                                                         {"bias_ih_l1_reverse", {16}},
                                                                         {"bias_hh_l1_reverse", {16}}});
  nn::GRU gru(5, 2, 2, false);
  CHECK(named_shapes(gru) ==
        std::vector<std::pair<std::string, Shape>>{
            {"weight_ih_l0", {6, 5}}, {"weight_hh_l0", {6, 2}}, {"weight_ih_l1", {6, 2}}, {"weight_hh_l1", {6, 2}}});
  CHECK(lstm.extra_repr() ==
        "input_size=3, hidden_size=4, num_layers=2, bias=true, batch_first=false, dropout=0, bidirectional=true");
}

TEST_CASE("LSTM and GRU: every parameter U(-1/sqrt(N), 1/sqrt(N)), as PyTorch") {
  manual_seed(21);
  nn::LSTM lstm(8, 16, 2);
  const double bound = 0.25;
  for (auto& [name, p] : lstm.named_parameters()) {
    CAPTURE(name);
    auto v = values(p);
    double lo = 1, hi = -1, sq = 0;
    for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x), sq += x * x;
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    CHECK(hi - lo > 1.6 * bound);  // spread over the interval, not a constant
    if (v.size() >= 512)
      CHECK(std::sqrt(sq / static_cast<double>(v.size())) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.1));
  }
}

TEST_CASE("LSTM: the time loop equals the cell applied step by step, and h_n is the last output") {
  manual_seed(22);
  nn::LSTM lstm(3, 4);
  lstm.to(DType::Float64);
  Tensor x = randn({5, 2, 3}, kF64), h0 = randn({1, 2, 4}, kF64), c0 = randn({1, 2, 4}, kF64);
  nn::LSTM::Output r = lstm.forward(x, {h0, c0});
  CHECK(r.output.shape() == Shape{5, 2, 4});
  CHECK(r.state.h.shape() == Shape{1, 2, 4});
  const auto& w = lstm.weights(0, 0);
  LstmState s{h0.select(0, 0), c0.select(0, 0)};
  for (int64_t t = 0; t < 5; ++t) {
    s = lstm_cell(x.select(0, t), s.h, s.c, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    CHECK_CLOSE(r.output.select(0, t), s.h, 1e-12, 1e-12);
  }
  CHECK_CLOSE(r.state.h.select(0, 0), s.h, 1e-12, 1e-12);
  CHECK_CLOSE(r.state.c.select(0, 0), s.c, 1e-12, 1e-12);
  // Zero initial state by default.
  Tensor z = zeros({1, 2, 4}, kF64);
  CHECK_CLOSE(lstm.forward(x, {}).output, lstm.forward(x, {z, z}).output, 0, 0);
  CHECK_CLOSE(lstm(x), lstm.forward(x, {}).output, 0, 0);
}

TEST_CASE("GRU: the time loop equals the cell applied step by step") {
  manual_seed(23);
  nn::GRU gru(2, 3, 1, true, /*batch_first=*/true);
  gru.to(DType::Float64);
  Tensor x = randn({2, 4, 2}, kF64), h0 = randn({1, 2, 3}, kF64);
  nn::GRU::Output r = gru.forward(x, h0);
  CHECK(r.output.shape() == Shape{2, 4, 3});
  const auto& w = gru.weights(0, 0);
  Tensor h = h0.select(0, 0);
  for (int64_t t = 0; t < 4; ++t) {
    h = gru_cell(x.select(1, t), h, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    CHECK_CLOSE(r.output.select(1, t), h, 1e-12, 1e-12);
  }
  CHECK_CLOSE(r.h_n.select(0, 0), h, 1e-12, 1e-12);
}

TEST_CASE("LSTM and GRU: the reverse direction is a forward pass over the reversed sequence") {
  manual_seed(24);
  nn::LSTM bi(3, 2, 1, true, false, 0.0, true), fwd(3, 2), rev(3, 2);
  for (nn::Module* m : std::vector<nn::Module*>{&bi, &fwd, &rev}) m->to(DType::Float64);
  nn::NamedTensors f, r;
  for (auto& [n, t] : bi.state_dict()) {
    const bool reverse = n.find("_reverse") != std::string::npos;
    (reverse ? r : f).emplace_back(reverse ? n.substr(0, n.size() - 8) : n, t);
  }
  fwd.load_state_dict(f);
  rev.load_state_dict(r);
  Tensor x = randn({4, 2, 3}, kF64);
  nn::LSTM::Output out = bi.forward(x, {});
  CHECK(out.output.shape() == Shape{4, 2, 4});
  CHECK(out.state.h.shape() == Shape{2, 2, 2});
  CHECK_CLOSE(out.output.narrow(2, 0, 2), fwd(x), 1e-12, 1e-12);
  nn::LSTM::Output back = rev.forward(flip0(x), {});
  CHECK_CLOSE(out.output.narrow(2, 2, 2), flip0(back.output), 1e-12, 1e-12);
  CHECK_CLOSE(out.state.h.select(0, 1), back.state.h.select(0, 0), 1e-12, 1e-12);  // final reverse state: after step 0
  CHECK_CLOSE(out.state.c.select(0, 1), back.state.c.select(0, 0), 1e-12, 1e-12);
}

TEST_CASE("LSTM and GRU: dropout acts between layers, in training only") {
  manual_seed(25);
  Tensor x = randn({6, 3, 4});
  nn::GRU two(4, 8, 2, true, false, 0.5), one(4, 8, 1, true, false, 0.5);
  two.eval();
  Tensor e = two(x);
  CHECK(values(two(x)) == values(e));
  two.train();
  CHECK(values(two(x)) != values(e));
  // One layer: no layer follows, so nothing is dropped.
  one.train();
  Tensor t = one(x);
  one.eval();
  CHECK(values(one(x)) == values(t));
}

TEST_CASE("LSTM and GRU: unbatched input and batch_first agree with the batched, time-major call") {
  manual_seed(26);
  nn::LSTM tm(3, 2, 2), bf(3, 2, 2, true, true);
  tm.to(DType::Float64), bf.to(DType::Float64);
  bf.load_state_dict(tm.state_dict());
  Tensor x = randn({4, 2, 3}, kF64), h0 = randn({2, 2, 2}, kF64), c0 = randn({2, 2, 2}, kF64);
  nn::LSTM::Output a = tm.forward(x, {h0, c0});
  nn::LSTM::Output b = bf.forward(x.transpose(0, 1), {h0, c0});
  CHECK_CLOSE(b.output.transpose(0, 1), a.output, 1e-12, 1e-12);
  CHECK_CLOSE(b.state.h, a.state.h, 1e-12, 1e-12);
  nn::LSTM::Output u = tm.forward(x.select(1, 1), {h0.select(1, 1), c0.select(1, 1)});
  CHECK(u.output.shape() == Shape{4, 2});
  CHECK(u.state.c.shape() == Shape{2, 2});
  CHECK_CLOSE(u.output, a.output.select(1, 1), 1e-12, 1e-12);
  CHECK_CLOSE(u.state.c, a.state.c.select(1, 1), 1e-12, 1e-12);
}

TEST_CASE("LSTM and GRU: errors name the layer, the shapes and the dtypes") {
  nn::LSTM lstm(3, 4, 2, true, true);
  CHECK_THROWS_WITH_AS(lstm(randn({2, 5, 4})),
                       doctest::Contains("LSTM: input's last dim must be input_size = 3, got input shape [2, 5, 4]"),
                       Error);
  CHECK_THROWS_WITH_AS(lstm(randn({2, 2, 5, 3})), doctest::Contains("LSTM: input must be (T,B,I)"), Error);
  CHECK_THROWS_WITH_AS(lstm(randn({2, 5, 3}, kF64)), doctest::Contains("input is float64, parameters are float32"),
                       Error);
  CHECK_THROWS_WITH_AS(lstm.forward(randn({2, 5, 3}), {randn({1, 2, 4}), Tensor()}),
                       doctest::Contains("initial state 0 has shape [1, 2, 4], expected (L·D,B,N) = [2, 2, 4]"), Error);
  CHECK_THROWS_WITH_AS(lstm(randn({2, 0, 3})), doctest::Contains("no time steps"), Error);
  nn::GRU gru(3, 4);
  CHECK_THROWS_WITH_AS(gru.forward(randn({5, 2, 3}), randn({1, 3, 4})),
                       doctest::Contains("GRU: initial state 0 has shape [1, 3, 4]"), Error);
  CHECK_THROWS_WITH_AS(nn::GRU(3, 4, 0),
                       doctest::Contains("GRU: input_size, hidden_size and num_layers must be positive"), Error);
  CHECK_THROWS_WITH_AS(nn::LSTM(3, 4, 2, true, false, 1.0), doctest::Contains("LSTM: dropout must be in [0, 1)"),
                       Error);
  CHECK_THROWS_WITH_AS(lstm.weights(2, 0), doctest::Contains("LSTM: no layer 2 direction 0"), Error);
}

TEST_CASE("LSTM and GRU: gradcheck and gradgradcheck w.r.t. input, initial state and every parameter") {
  manual_seed(27);
  SUBCASE("LSTM, bidirectional, with initial state") {
    nn::LSTM lstm(2, 2, 1, true, false, 0.0, true);
    lstm.to(DType::Float64);
    test::ModuleCall call = [](nn::Module& m, const std::vector<Tensor>& in) {
      nn::LSTM::Output r = static_cast<nn::LSTM&>(m).forward(in[0], {in[1], in[2]});
      return cat({r.output.flatten(), r.state.h.flatten(), r.state.c.flatten()});
    };
    std::vector<Tensor> in{randn({3, 2, 2}, kF64), randn({2, 2, 2}, kF64), randn({2, 2, 2}, kF64)};
    CHECK(test::gradcheck_module(lstm, in, call));
    CHECK(test::gradgradcheck_module(lstm, in, call));
  }
  SUBCASE("GRU, 2 layers, batch_first") {
    nn::GRU gru(2, 2, 2, true, true);
    gru.to(DType::Float64);
    test::ModuleCall call = [](nn::Module& m, const std::vector<Tensor>& in) {
      nn::GRU::Output r = static_cast<nn::GRU&>(m).forward(in[0], in[1]);
      return cat({r.output.flatten(), r.h_n.flatten()});
    };
    std::vector<Tensor> in{randn({2, 3, 2}, kF64), randn({2, 2, 2}, kF64)};
    CHECK(test::gradcheck_module(gru, in, call));
    CHECK(test::gradgradcheck_module(gru, in, call));
  }
}
