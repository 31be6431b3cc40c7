// The basic layers one by one: what each computes (against a hand computation or the function
// it wraps), its shape checks and errors, its initialisation statistics, and gradcheck /
// gradgradcheck in float64 with respect to the input and every parameter (module_gradcheck.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "../helpers.h"
#include "autograd/node.h"
#include "module_gradcheck.h"
#include "nn/nn.h"
#include "tensor/random.h"

using namespace heed;
using heed::test::values;

namespace {

constexpr DType kF64 = DType::Float64;

double stddev(const std::vector<double>& v) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}
double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// Values in [lo, hi] or beyond in both directions, with no element within `gap` of a kink.
Tensor away_from_zero(const Shape& shape, double gap = 0.2) {
  Tensor u = randn(shape, {kF64});
  return where(u >= 0.0, u + gap, u - gap);
}

}  // namespace

// ---------------------------------------------------------------- Linear

TEST_CASE("Linear: y = x Wᵀ + b over any leading dims") {
  nn::Linear lin(3, 2);
  CHECK(lin.weight.shape() == Shape{2, 3});
  CHECK(lin.bias.shape() == Shape{2});
  Tensor x = randn({2, 4, 3});
  Tensor y = lin(x);
  CHECK(y.shape() == Shape{2, 4, 2});
  auto xv = values(x), wv = values(lin.weight), bv = values(lin.bias), yv = values(y);
  for (int r = 0; r < 8; ++r)
    for (int o = 0; o < 2; ++o) {
      double want = bv[o];
      for (int i = 0; i < 3; ++i) want += xv[r * 3 + i] * wv[o * 3 + i];
      CHECK(yv[r * 2 + o] == doctest::Approx(want).epsilon(1e-5));
    }
  CHECK(lin(randn({3})).shape() == Shape{2});  // a single vector
  CHECK(lin.extra_repr() == "in=3, out=2, bias=true");
}

TEST_CASE("Linear: without bias, and its errors") {
  nn::Linear lin(4, 3, /*bias=*/false);
  CHECK_FALSE(lin.bias.defined());
  CHECK(lin.named_parameters().size() == 1);
  CHECK(lin.num_parameters() == 12);
  Tensor x = randn({5, 4});
  CHECK(values(lin(x)) == values(matmul(x, lin.weight.t())));
  CHECK_THROWS_WITH_AS(lin(randn({2, 5})), doctest::Contains("Linear: input's last dim must be in_features = 4"),
                       Error);
  CHECK_THROWS_WITH_AS(lin(randn({2, 5})), doctest::Contains("[2, 5]"), Error);
  CHECK_THROWS_WITH_AS(lin(randn({2, 4}, {kF64})), doctest::Contains("float64"), Error);
}

TEST_CASE("Linear: PyTorch's default init, U(-1/sqrt(in), 1/sqrt(in)) for weight and bias") {
  manual_seed(11);
  nn::Linear lin(256, 512);
  const double bound = 1.0 / 16.0;
  auto w = values(lin.weight), b = values(lin.bias);
  CHECK(max_abs(w) <= bound);
  CHECK(max_abs(w) > 0.999 * bound);  // 131072 draws reach the edge
  CHECK(max_abs(b) <= bound);
  CHECK(max_abs(b) > 0.98 * bound);
  CHECK(stddev(w) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.02));
  // The same seed, the same weights; another seed, others.
  manual_seed(11);
  nn::Linear again(256, 512);
  CHECK(values(again.weight) == w);
  CHECK(values(again.bias) == b);
  manual_seed(12);
  nn::Linear other(256, 512);
  CHECK(values(other.weight) != w);
}

// ---------------------------------------------------------------- init

TEST_CASE("init: fans and gains as in torch.nn.init") {
  CHECK(nn::init::calculate_fan_in_and_fan_out(empty({3, 5})) == std::pair<int64_t, int64_t>{5, 3});
  CHECK(nn::init::calculate_fan_in_and_fan_out(empty({8, 4, 3, 3})) == std::pair<int64_t, int64_t>{36, 72});
  CHECK_THROWS_WITH_AS(nn::init::calculate_fan_in_and_fan_out(empty({7})), doctest::Contains("at least 2 dims"), Error);
  CHECK(nn::init::calculate_gain("linear") == 1.0);
  CHECK(nn::init::calculate_gain("sigmoid") == 1.0);
  CHECK(nn::init::calculate_gain("tanh") == doctest::Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain("leaky_relu") == doctest::Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
  CHECK(nn::init::calculate_gain("leaky_relu", std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3.0)));
  CHECK(nn::init::calculate_gain("selu") == 0.75);
  CHECK_THROWS_WITH_AS(nn::init::calculate_gain("swish"), doctest::Contains("swish"), Error);
}

TEST_CASE("init: xavier and kaiming standard deviations on a large tensor") {
  manual_seed(5);
  Tensor w = empty({300, 500});  // fan_in 500, fan_out 300
  auto check_std = [&](double want, const char* what) {
    INFO(what);
    CHECK(stddev(values(w)) == doctest::Approx(want).epsilon(0.02));
  };
  nn::init::xavier_uniform_(w);
  check_std(std::sqrt(2.0 / 800), "xavier_uniform_");
  CHECK(max_abs(values(w)) <= std::sqrt(6.0 / 800));
  nn::init::xavier_normal_(w, 2.0);
  check_std(2.0 * std::sqrt(2.0 / 800), "xavier_normal_ gain 2");
  nn::init::kaiming_uniform_(w, 0.0, nn::init::FanMode::FanIn, "relu");
  check_std(std::sqrt(2.0 / 500), "kaiming_uniform_ fan_in relu");
  CHECK(max_abs(values(w)) <= std::sqrt(6.0 / 500));
  nn::init::kaiming_normal_(w, 0.0, nn::init::FanMode::FanOut, "relu");
  check_std(std::sqrt(2.0 / 300), "kaiming_normal_ fan_out relu");
  nn::init::kaiming_normal_(w, 0.2);  // leaky_relu, fan_in
  check_std(std::sqrt(2.0 / (1 + 0.04)) / std::sqrt(500.0), "kaiming_normal_ leaky 0.2");
  nn::init::normal_(w, 3.0, 0.5);
  check_std(0.5, "normal_");
  auto v = values(w);
  double m = 0;
  for (double x : v) m += x / static_cast<double>(v.size());
  CHECK(m == doctest::Approx(3.0).epsilon(0.01));
  nn::init::uniform_(w, -2, 2);
  check_std(4 / std::sqrt(12.0), "uniform_");
}

TEST_CASE("init: in place on a parameter, which stays the same leaf") {
  nn::Linear lin(3, 4);
  Tensor w = lin.weight;
  void* data = w.raw_data();
  Tensor r = nn::init::constant_(w, 0.25);  // grad mode is on: init writes under its own NoGradGuard
  CHECK(r.is_same(w));
  CHECK(w.raw_data() == data);
  CHECK(values(lin.weight) == std::vector<double>(12, 0.25));
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
  nn::init::zeros_(lin.bias);
  CHECK(values(lin.bias) == std::vector<double>(4, 0.0));
  nn::init::ones_(lin.bias);
  CHECK(values(lin.bias) == std::vector<double>(4, 1.0));
  Tensor col = lin.weight.detach().select(1, 0);  // a strided view is written in place too
  nn::init::constant_(col, -1);
  CHECK(values(lin.weight.select(1, 0)) == std::vector<double>(4, -1.0));
  CHECK(values(lin.weight.select(1, 1)) == std::vector<double>(4, 0.25));
  CHECK_THROWS_WITH_AS(nn::init::normal_(zeros({2}, {DType::Int64})), doctest::Contains("floating"), Error);
}

// ---------------------------------------------------------------- Embedding

TEST_CASE("Embedding: N(0, 1) init, zero padding row, lookup and its gradient") {
  manual_seed(3);
  nn::Embedding big(400, 100, /*padding_idx=*/7);
  CHECK(values(big.weight.select(0, 7)) == std::vector<double>(100, 0.0));
  CHECK(stddev(values(big.weight)) == doctest::Approx(1.0).epsilon(0.02));

  nn::Embedding emb(5, 3, /*padding_idx=*/-1);  // wraps to 4
  CHECK(emb.padding_idx == 4);
  CHECK(emb.extra_repr() == "5, 3, padding_idx=4");
  Tensor ids = from_vector(std::vector<int64_t>{4, 0, 2, 0, 1, 4}, {2, 3});
  Tensor y = emb(ids);
  CHECK(y.shape() == Shape{2, 3, 3});
  CHECK(values(y.select(0, 1).select(0, 0)) == values(emb.weight.select(0, 0)));
  CHECK(values(y.select(0, 0).select(0, 0)) == std::vector<double>(3, 0.0));
  sum(y).backward();
  // Row r's gradient counts its uses; the padding row gets none.
  CHECK(values(emb.weight.grad()) == std::vector<double>{2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(nn::Embedding(5, 3, 5), doctest::Contains("padding_idx 5"), Error);
  CHECK_THROWS_WITH_AS(emb(zeros({2})), doctest::Contains("Embedding: ids must be int64"), Error);
}

// ---------------------------------------------------------------- LayerNorm

TEST_CASE("LayerNorm: zero mean, unit variance over the normalized dims, then affine") {
  nn::LayerNorm ln(Shape{3, 4});
  CHECK(values(ln.weight) == std::vector<double>(12, 1.0));
  CHECK(values(ln.bias) == std::vector<double>(12, 0.0));
  Tensor x = randn({2, 3, 4}, {kF64}) * 3.0 + 1.0;
  ln.to(kF64);
  Tensor y = ln(x);
  CHECK(y.shape() == Shape{2, 3, 4});
  Tensor m = mean(y, {1, 2}), v = var(y, {1, 2}, 0);
  for (double e : values(m)) CHECK(std::abs(e) < 1e-12);
  for (double e : values(v)) CHECK(e == doctest::Approx(1.0).epsilon(1e-4));  // (var / (var + eps))
  {
    NoGradGuard g;
    ln.weight.copy_(full({}, 2.0));
    ln.bias.copy_(full({}, -1.0));
  }
  CHECK_CLOSE(ln(x), y * 2.0 - 1.0, 1e-12, 1e-12);
  nn::LayerNorm plain(4, 1e-5, /*elementwise_affine=*/false);
  CHECK(plain.named_parameters().empty());
  CHECK_THROWS_WITH_AS(plain(randn({2, 3})), doctest::Contains("LayerNorm: input shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(nn::LayerNorm(Shape{}), doctest::Contains("at least one dim"), Error);
}

// ---------------------------------------------------------------- activations, Dropout

TEST_CASE("activations: each module computes its function") {
  Tensor x = randn({3, 5});
  CHECK(values(nn::ReLU()(x)) == values(relu(x)));
  CHECK(values(nn::GELU()(x)) == values(gelu(x)));
  CHECK(values(nn::GELU("tanh")(x)) == values(gelu(x, "tanh")));
  CHECK(values(nn::GELU("tanh")(x)) != values(gelu(x)));
  CHECK(values(nn::Tanh()(x)) == values(tanh(x)));
  CHECK(values(nn::Sigmoid()(x)) == values(sigmoid(x)));
  CHECK(values(nn::SiLU()(x)) == values(x * sigmoid(x)));
  CHECK(values(nn::Softmax(0)(x)) == values(softmax(x, 0)));
  CHECK(values(nn::LogSoftmax(-1)(x)) == values(log_softmax(x, -1)));
  CHECK(nn::Identity()(x).is_same(x));
  CHECK_THROWS_WITH_AS(nn::GELU("fast"), doctest::Contains("GELU: approximate"), Error);
}

TEST_CASE("Dropout: drops about p, scales the rest, honours eval, reproducible by seed") {
  nn::Dropout drop(0.3);
  Tensor x = ones({20000});
  manual_seed(21);
  auto y = values(drop(x));
  const auto zeros_n = std::count(y.begin(), y.end(), 0.0);
  CHECK(static_cast<double>(zeros_n) / 20000 == doctest::Approx(0.3).epsilon(0.05));
  const auto scaled_n = std::count_if(y.begin(), y.end(), [](double e) { return std::abs(e - 1 / 0.7) < 1e-6; });
  CHECK(zeros_n + scaled_n == 20000);  // every element dropped or scaled by 1/(1-p)
  manual_seed(21);
  CHECK(values(drop(x)) == y);
  drop.eval();
  CHECK(drop(x).is_same(x));
  CHECK(nn::Dropout(0.0)(x).is_same(x));
  CHECK_THROWS_WITH_AS(nn::Dropout(1.5), doctest::Contains("Dropout: p must be in [0, 1]"), Error);
}

// ---------------------------------------------------------------- containers

TEST_CASE("Sequential: chains its modules and empty returns the input") {
  auto l1 = std::make_shared<nn::Linear>(4, 6), l2 = std::make_shared<nn::Linear>(6, 2);
  nn::Sequential seq{l1, std::make_shared<nn::Tanh>(), l2};
  CHECK(seq.size() == 3);
  Tensor x = randn({5, 4});
  CHECK(values(seq(x)) == values((*l2)(tanh((*l1)(x)))));
  CHECK(seq[0] == l1);
  int n = 0;
  for (const nn::ModulePtr& m : seq) n += m != nullptr;
  CHECK(n == 3);
  CHECK_THROWS_WITH_AS(seq[3], doctest::Contains("Sequential: index 3 out of range for 3 modules"), Error);
  CHECK_THROWS_AS(seq.push_back(nullptr), Error);
  seq.push_back(std::make_shared<nn::Softmax>(-1));
  CHECK(seq(x).shape() == Shape{5, 2});
  nn::Sequential none;
  CHECK(none(x).is_same(x));
}

TEST_CASE("ModuleList: indexable, iterable, named 0, 1, ... and no forward of its own") {
  struct Tower : nn::Module {
    std::shared_ptr<nn::ModuleList> layers;
    Tower() : Module("Tower") {
      layers = register_module("layers", std::make_shared<nn::ModuleList>());
      for (int i = 0; i < 3; ++i) layers->push_back(std::make_shared<nn::Linear>(2, 2));
    }
    Tensor forward(const Tensor& x) override {
      Tensor h = x;
      for (const nn::ModulePtr& l : *layers) h = relu((*l)(h));
      return h;
    }
  };
  Tower t;
  CHECK(t.layers->size() == 3);
  auto names = t.named_parameters();
  REQUIRE(names.size() == 6);
  CHECK(names[0].first == "layers.0.weight");
  CHECK(names[5].first == "layers.2.bias");
  CHECK(t(randn({4, 2})).shape() == Shape{4, 2});
  CHECK(std::dynamic_pointer_cast<nn::Linear>((*t.layers)[1])->weight.is_same(names[2].second));
  CHECK_THROWS_WITH_AS((*t.layers)(randn({4, 2})), doctest::Contains("ModuleList"), Error);
  CHECK_THROWS_AS((*t.layers)[3], Error);
}

// ---------------------------------------------------------------- losses

TEST_CASE("losses: modules equal the functions they wrap, options included") {
  Tensor logits = randn({5, 4}, {kF64}), target = from_vector(std::vector<int64_t>{0, 3, 1, 1, 2});
  Tensor w = tensor({0.5, 2.0, 1.0, 1.5}, {kF64});
  nn::CrossEntropyLoss ce({.weight = w, .ignore_index = 1, .label_smoothing = 0.1, .reduction = Reduction::Sum});
  CHECK(values(ce(logits, target)) == values(cross_entropy(logits, target, w, 1, 0.1, Reduction::Sum)));
  CHECK(ce.named_buffers().size() == 1);
  CHECK(ce.state_dict()[0].first == "weight");
  nn::CrossEntropyLoss plain;
  CHECK(plain.state_dict().empty());
  CHECK(values(plain(logits, target)) == values(cross_entropy(logits, target)));
  CHECK_THROWS_WITH_AS(plain(logits), doctest::Contains("CrossEntropyLoss: this module has no single-tensor forward"),
                       Error);

  Tensor lp = log_softmax(logits, 1);
  nn::NLLLoss nll({.weight = w, .reduction = Reduction::None});
  CHECK(values(nll(lp, target)) == values(nll_loss(lp, target, w, -100, Reduction::None)));

  Tensor a = randn({3, 4}, {kF64}), b = randn({3, 4}, {kF64});
  CHECK(values(nn::MSELoss()(a, b)) == values(mse_loss(a, b)));
  CHECK(values(nn::MSELoss(Reduction::Sum)(a, b)) == values(mse_loss(a, b, Reduction::Sum)));
  CHECK_THROWS_WITH_AS(nn::MSELoss()(a, randn({4}, {kF64})), doctest::Contains("MSELoss"), Error);

  Tensor prob = rand({3, 4}, {kF64}), pw = tensor({1.0, 2.0, 0.5, 3.0}, {kF64});
  nn::BCEWithLogitsLoss bce({.pos_weight = pw});
  CHECK(values(bce(a, prob)) == values(binary_cross_entropy_with_logits(a, prob, Tensor(), pw)));
  CHECK(bce.state_dict()[0].first == "pos_weight");
  CHECK_THROWS_WITH_AS(bce(a, prob.t()), doctest::Contains("BCEWithLogitsLoss: logits [3, 4] and target [4, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::CrossEntropyLoss({.label_smoothing = 2.0}), doctest::Contains("label_smoothing"), Error);
}

// ---------------------------------------------------------------- gradients

TEST_CASE("module gradcheck helper: parameters really are checked") {
  // ParamSwap routes the gradient to the swapped-in tensor and restores the parameter.
  nn::Linear lin(3, 2);
  lin.to(kF64);
  Tensor w_before = lin.weight;
  const auto w_values = values(lin.weight);
  Tensor w2 = randn({2, 3}, {kF64}).requires_grad_();
  Tensor x = randn({4, 3}, {kF64});
  Tensor y;
  {
    test::ParamSwap swap({lin.weight}, {w2});
    y = lin(x);
  }
  CHECK_CLOSE(y, matmul(x, w2.t()) + lin.bias, 1e-12, 0);
  Tensor g = autograd::grad({sum(y)}, {w2})[0];
  CHECK_CLOSE(g, expand(sum(x, {0}, true), {2, 3}), 1e-12, 0);
  CHECK(lin.weight.is_same(w_before));
  CHECK(values(lin.weight) == w_values);
  CHECK(lin.weight.is_leaf());
  CHECK(lin.weight.requires_grad());

  // A layer that cuts its parameter's gradient is caught.
  struct Cut : nn::Module {
    Tensor scale;
    Cut() : Module("Cut") { scale = register_parameter("scale", ones({3}, {kF64})); }
    Tensor forward(const Tensor& x) override { return x * scale.detach(); }
  };
  Cut cut;
  GradcheckOptions quiet;
  quiet.raise = false;
  GradcheckResult bad = test::gradcheck_module(cut, {randn({2, 3}, {kF64})}, test::call_one, quiet);
  CHECK_FALSE(bad.ok);
  CHECK(bad.report.find("input 1") != std::string::npos);  // input 1: the parameter
}

TEST_CASE("gradcheck and gradgradcheck: Linear") {
  nn::Linear lin(3, 2);
  lin.to(kF64);
  CHECK(test::gradcheck_module(lin, {randn({2, 3}, {kF64})}));
  CHECK(test::gradcheck_module(lin, {randn({2, 2, 3}, {kF64})}));
  CHECK(test::gradgradcheck_module(lin, {randn({2, 3}, {kF64})}));
  nn::Linear nobias(3, 2, false);
  nobias.to(kF64);
  CHECK(test::gradgradcheck_module(nobias, {randn({3}, {kF64})}));
}

TEST_CASE("gradcheck and gradgradcheck: LayerNorm") {
  nn::LayerNorm ln(4);
  ln.to(kF64);
  nn::init::normal_(ln.weight);
  nn::init::normal_(ln.bias);
  CHECK(test::gradcheck_module(ln, {randn({2, 4}, {kF64})}));
  CHECK(test::gradgradcheck_module(ln, {randn({2, 4}, {kF64})}));
  nn::LayerNorm ln2(Shape{2, 3}, 1e-3);
  ln2.to(kF64);
  nn::init::normal_(ln2.weight);
  CHECK(test::gradcheck_module(ln2, {randn({2, 2, 3}, {kF64})}));
  nn::LayerNorm plain(3, 1e-5, false);
  CHECK(test::gradgradcheck_module(plain, {randn({2, 3}, {kF64})}));
}

TEST_CASE("gradcheck and gradgradcheck: activations") {
  Tensor x = away_from_zero({2, 3});  // no element at ReLU's kink
  std::vector<std::shared_ptr<nn::Module>> acts = {
      std::make_shared<nn::ReLU>(),    std::make_shared<nn::GELU>(),       std::make_shared<nn::GELU>("tanh"),
      std::make_shared<nn::Tanh>(),    std::make_shared<nn::Sigmoid>(),    std::make_shared<nn::SiLU>(),
      std::make_shared<nn::Softmax>(1), std::make_shared<nn::LogSoftmax>(0), std::make_shared<nn::Identity>()};
  for (auto& a : acts) {
    INFO(a->type_name(), "(", a->extra_repr(), ")");
    CHECK(test::gradcheck_module(*a, {x}));
    if (a->type_name() != "Identity") CHECK(test::gradgradcheck_module(*a, {x}));  // Identity: zero second derivative
  }
}

TEST_CASE("gradcheck: Embedding, Dropout (fixed mask), Sequential") {
  nn::Embedding emb(4, 3);
  emb.to(kF64);
  CHECK(test::gradcheck_module(emb, {from_vector(std::vector<int64_t>{0, 2, 3, 0, 1}, {5})}));
  // With a padding row the output still depends on that row, but by design (PyTorch's too) it
  // gets no gradient, so finite differences disagree there: check ids that avoid it.
  nn::Embedding padded(4, 3, 2);
  padded.to(kF64);
  CHECK(test::gradcheck_module(padded, {from_vector(std::vector<int64_t>{0, 3, 3, 1}, {2, 2})}));
  GradcheckOptions quiet;
  quiet.raise = false;
  CHECK_FALSE(test::gradcheck_module(padded, {from_vector(std::vector<int64_t>{0, 2}, {2})}, test::call_one, quiet));

  nn::Dropout drop(0.4);
  auto seeded = [](nn::Module& m, const std::vector<Tensor>& in) {
    manual_seed(77);  // the same mask on every call
    return m(in[0]);
  };
  CHECK(test::gradcheck_module(drop, {randn({3, 4}, {kF64})}, seeded));
  CHECK(test::gradgradcheck_module(drop, {randn({3, 4}, {kF64})}, seeded));

  nn::Sequential seq{std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Tanh>(),
                     std::make_shared<nn::Linear>(4, 2)};
  seq.to(kF64);
  CHECK(test::gradcheck_module(seq, {randn({2, 3}, {kF64})}));
  CHECK(test::gradgradcheck_module(seq, {randn({2, 3}, {kF64})}));
}

TEST_CASE("gradcheck and gradgradcheck: losses") {
  Tensor target = from_vector(std::vector<int64_t>{0, 3, 1, 2});
  Tensor w = tensor({0.5, 2.0, 1.0, 1.5}, {kF64});
  auto two = [](nn::Module& m, const std::vector<Tensor>& in) { return static_cast<nn::Loss&>(m)(in[0], in[1]); };
  nn::CrossEntropyLoss ce({.weight = w, .ignore_index = 3, .label_smoothing = 0.2});
  CHECK(test::gradcheck_module(ce, {randn({4, 4}, {kF64}), target}, two));
  CHECK(test::gradgradcheck_module(ce, {randn({4, 4}, {kF64}), target}, two));
  nn::NLLLoss nll({.weight = w});
  CHECK(test::gradcheck_module(nll, {randn({4, 4}, {kF64}), target}, two));
  nn::MSELoss mse;
  CHECK(test::gradcheck_module(mse, {randn({2, 3}, {kF64}), randn({2, 3}, {kF64})}, two));
  CHECK(test::gradgradcheck_module(mse, {randn({2, 3}, {kF64}), randn({2, 3}, {kF64})}, two));
  nn::BCEWithLogitsLoss bce({.weight = rand({3}, {kF64}) + 0.5, .pos_weight = rand({3}, {kF64}) + 0.5});
  CHECK(test::gradcheck_module(bce, {randn({2, 3}, {kF64}), rand({2, 3}, {kF64})}, two));
  CHECK(test::gradgradcheck_module(bce, {randn({2, 3}, {kF64}), rand({2, 3}, {kF64})}, two));
}
