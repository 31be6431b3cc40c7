// Convolution, pooling and batch norm (autograd/conv.h) against PyTorch, plus their errors.
// Reference values come from tests/fixtures/conv.safetensors (scripts/make_conv_fixtures.py):
// per case NAME, inputs NAME.inK, output NAME.out, upstream gradient NAME.gout, gradients
// NAME.gradK of sum(out * gout), and NAME.afterK, input K after the call (running statistics).
// Cases named nn_* are layers, checked by tests/nn/test_conv.cpp. Gradient checks (gradcheck,
// gradgradcheck) of these ops run from the op registry (autograd/registry_conv.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "autograd/conv.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "tensor/io.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/fixture_cases.h"
#include "tests/helpers.h"

// The call throws heed::Error with a message containing `text`.
#define CHECK_ERROR(expr, text) CHECK_THROWS_WITH_AS(expr, doctest::Contains(text), heed::Error)

namespace {

using namespace heed;
using Ins = std::vector<Tensor>;
using Op = std::function<Tensor(const Ins&)>;

#define OP(expr) [](const Ins& x) -> Tensor { return expr; }

// Case name -> the heed call that means the same as the PyTorch call in make_conv_fixtures.py.
const std::map<std::string, Op>& table() {
  static const std::map<std::string, Op> ops = {
      // ---- im2col / col2im (F.unfold / F.fold)
      {"unfold", OP(im2col(x[0], {2, 3}, {1, 2}, 1, {2, 1}))},
      {"unfold_plain", OP(im2col(x[0], 2))},
      {"fold", OP(col2im(x[0], {5, 6}, {2, 3}, {1, 2}, 1, {2, 1}))},
      {"fold_overlap", OP(col2im(x[0], {4, 4}, 3, 1, 1))},
      // ---- conv2d (x, weight, bias, stride, padding, dilation, groups)
      {"conv2d", OP(conv2d(x[0], x[1], x[2]))},
      {"conv2d_stride2_pad1", OP(conv2d(x[0], x[1], x[2], 2, 1))},
      {"conv2d_dilation_nobias", OP(conv2d(x[0], x[1], Tensor(), {1, 2}, {1, 2}, 2))},
      {"conv2d_groups2", OP(conv2d(x[0], x[1], x[2], 1, 1, 1, 2))},
      {"conv2d_depthwise", OP(conv2d(x[0], x[1], x[2], {2, 1}, 0, 1, 3))},
      {"conv2d_1x1", OP(conv2d(x[0], x[1], x[2]))},
      {"conv2d_unbatched", OP(conv2d(x[0], x[1], x[2], 1, 1))},
      {"conv2d_f32", OP(conv2d(x[0], x[1], x[2], 2, 1))},
      // ---- conv1d
      {"conv1d", OP(conv1d(x[0], x[1], x[2]))},
      {"conv1d_stride2_pad2_dil2", OP(conv1d(x[0], x[1], x[2], 2, 2, 2))},
      {"conv1d_groups2_nobias", OP(conv1d(x[0], x[1], Tensor(), 1, 1, 1, 2))},
      {"conv1d_unbatched", OP(conv1d(x[0], x[1], x[2]))},
      {"conv1d_f32", OP(conv1d(x[0], x[1], x[2], 1, 1))},
      // ---- pooling (x, kernel, stride, padding, ...)
      {"max_pool2d_k2", OP(max_pool2d(x[0], 2))},
      {"max_pool2d_k3s2p1", OP(max_pool2d(x[0], 3, 2, 1))},
      {"max_pool2d_rect_dilated", OP(max_pool2d(x[0], {2, 3}, Size2{1, 2}, {1, 1}, {2, 1}))},
      {"max_pool2d_ties", OP(max_pool2d(x[0], 3, 1, 1))},
      {"max_pool2d_all_neg_inf_window", OP(max_pool2d(x[0], 3, 2, 1))},
      {"max_pool2d_unbatched", OP(max_pool2d(x[0], 2, 1))},
      {"max_pool2d_f32", OP(max_pool2d(x[0], 3, 2))},
      {"avg_pool2d_k2", OP(avg_pool2d(x[0], 2))},
      {"avg_pool2d_k3s2p1", OP(avg_pool2d(x[0], 3, 2, 1))},
      {"avg_pool2d_exclude_pad", OP(avg_pool2d(x[0], {3, 2}, Size2{2, 1}, 1, false))},
      {"avg_pool2d_f32", OP(avg_pool2d(x[0], 3, 2, 1))},
      {"adaptive_avg_pool2d", OP(adaptive_avg_pool2d(x[0], {3, 4}))},
      {"adaptive_avg_pool2d_global", OP(adaptive_avg_pool2d(x[0], 1))},
      {"adaptive_avg_pool2d_grow", OP(adaptive_avg_pool2d(x[0], {5, 4}))},
      {"adaptive_avg_pool2d_f32", OP(adaptive_avg_pool2d(x[0], {2, 3}))},
      // ---- batch norm (inputs x, weight, bias, running_mean, running_var)
      {"batch_norm_train_2d", OP(batch_norm(x[0], x[3], x[4], x[1], x[2], true))},
      {"batch_norm_train_1d_momentum", OP(batch_norm(x[0], x[3], x[4], x[1], x[2], true, 0.3, 1e-3))},
      {"batch_norm_train_3d_noaffine", OP(batch_norm(x[0], x[1], x[2], Tensor(), Tensor(), true))},
      {"batch_norm_train_nostats", OP(batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true))},
      {"batch_norm_eval", OP(batch_norm(x[0], x[3], x[4], x[1], x[2], false))},
      {"batch_norm_train_f32", OP(batch_norm(x[0], x[3], x[4], x[1], x[2], true))},
  };
  return ops;
}

#undef OP

const SafetensorsFile& fixtures() {
  static const SafetensorsFile file = load_safetensors(HEED_FIXTURES_DIR "/conv.safetensors");
  return file;
}


bool is_layer_case(const std::string& c) { return c.rfind("nn_", 0) == 0; }

void check_tensor(const std::string& what, const Tensor& got, const Tensor& want) {
  test::check_against_torch(what, got, want, {});
}

void run_case(const std::string& c, const Op& op) {
  const SafetensorsFile& f = fixtures();
  Ins x;
  for (int k = 0; f.contains(c + ".in" + std::to_string(k)); ++k) {
    Tensor t = f.at(c + ".in" + std::to_string(k)).clone();  // fresh: running stats are updated in place
    if (f.contains(c + ".grad" + std::to_string(k))) t.requires_grad_();
    x.push_back(t);
  }
  REQUIRE_MESSAGE(!x.empty(), c, " has no inputs");
  Tensor out = op(x);
  check_tensor(c + ".out", out, f.at(c + ".out"));
  for (size_t k = 0; k < x.size(); ++k) {
    const std::string after = c + ".after" + std::to_string(k);
    if (f.contains(after)) check_tensor(after, x[k], f.at(after));
  }
  if (!out.requires_grad()) return;
  sum(out * f.at(c + ".gout")).backward();
  for (size_t k = 0; k < x.size(); ++k) {
    const std::string grad = c + ".grad" + std::to_string(k);
    if (f.contains(grad)) check_tensor(grad, x[k].grad(), f.at(grad));
  }
}

Tensor R(const Shape& s, DType dt = DType::Float64) { return randn(s, {dt}); }

}  // namespace

TEST_CASE("conv fixtures: im2col, conv, pooling and batch norm match PyTorch (values, gradients, running stats)") {
  const SafetensorsFile& f = fixtures();
  test::run_fixture_cases(f, table(), run_case, is_layer_case);
}

TEST_CASE("conv fixtures: every functional case in the file is in the table, and back") {
  const SafetensorsFile& f = fixtures();
  std::set<std::string> in_file;
  for (const std::string& c : test::fixture_case_names(f))
    if (!is_layer_case(c)) in_file.insert(c);
  CHECK(in_file.size() >= 35);
  for (const std::string& c : in_file) CHECK_MESSAGE(table().count(c) == 1, "fixture case '", c, "' has no heed op");
  for (const auto& [c, op] : table()) CHECK_MESSAGE(in_file.count(c) == 1, "table case '", c, "' is not in the file");
}

TEST_CASE("im2col and col2im are adjoint: <im2col(x), c> = <x, col2im(c)>") {
  manual_seed(3);
  Tensor x = R({2, 3, 6, 5});
  Tensor cols = im2col(x, {3, 2}, {2, 1}, {1, 2}, {1, 2});
  Tensor c = R(cols.shape());
  const double lhs = sum(cols * c).item(), rhs = sum(x * col2im(c, {6, 5}, {3, 2}, {2, 1}, {1, 2}, {1, 2})).item();
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
  CHECK(cols.shape() == Shape{2, 3 * 3 * 2, 4 * 4});  // OH = (6+2-5)/1+1, OW = (5+4-2)/2+1
}

TEST_CASE("conv2d: a 1x1 kernel is a matmul over channels and a kernel of ones sums windows") {
  manual_seed(5);
  Tensor x = R({2, 3, 4, 5}), w = R({6, 3, 1, 1}), b = R({6});
  Tensor by_matmul = matmul(w.reshape({6, 3}), x.reshape({2, 3, 20})).reshape({2, 6, 4, 5}) + b.reshape({1, 6, 1, 1});
  CHECK_CLOSE(conv2d(x, w, b), by_matmul, 1e-12, 1e-12);
  Tensor ones_w = ones({1, 1, 2, 2}, {DType::Float64});
  Tensor y = conv2d(arange(9, {DType::Float64}).reshape({1, 1, 3, 3}), ones_w);  // [[0,1,2],[3,4,5],[6,7,8]]
  CHECK(test::values(y) == std::vector<double>{8, 12, 20, 24});
}

TEST_CASE("conv2d: create_graph gives the second derivative through the weight gradient") {
  // y = Σ conv(x, w)²; d/dw then d/dx of Σ dw: checked against gradgradcheck's finite differences.
  manual_seed(9);
  Tensor x = R({1, 2, 4, 4}).requires_grad_(), w = R({3, 2, 2, 2}).requires_grad_();
  Function dw_sum = [](const std::vector<Tensor>& in) {
    Tensor y = conv2d(in[0], in[1], Tensor(), 1, 1);
    Tensor dw = autograd::grad({sum(y * y)}, {in[1]}, {}, true, true)[0];
    return sum(dw * dw);
  };
  GradcheckOptions opt;
  opt.raise = false;
  GradcheckResult r = gradcheck(dw_sum, {x, w}, opt);
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("max_pool2d: gradient goes to the argmax only, and an all -inf window picks its first real element") {
  Tensor x =
      from_vector(std::vector<double>{1, 5, 2, 0, 3, 4, 7, 6, 9, 8, -1, 2, 0, 1, 3, 2}, {1, 1, 4, 4}, {DType::Float64});
  x.requires_grad_();
  Tensor y = max_pool2d(x, 2);
  CHECK(test::values(y) == std::vector<double>{5, 7, 9, 3});
  sum(y).backward();
  CHECK(test::values(x.grad()) == std::vector<double>{0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0});
  // Also in make_conv_fixtures.py (max_pool2d_all_neg_inf_window); here the index is spelled out.
  const double inf = std::numeric_limits<double>::infinity();
  Tensor z = from_vector(std::vector<double>{-inf, -inf, 1, -inf, -inf, 2, 3, 4, 5}, {1, 1, 3, 3}, {DType::Float64});
  z.requires_grad_();
  Tensor m = max_pool2d(z, 3, 2, 1);  // the top-left window sees only rows 0-1, cols 0-1: all -inf
  CHECK(test::values(m)[0] == -inf);
  sum(m.slice(3, 0, 1).slice(2, 0, 1)).backward();
  CHECK(test::values(z.grad()) == std::vector<double>{1, 0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("batch_norm: eval uses the running stats and leaves them alone and training updates them in place") {
  manual_seed(11);
  Tensor x = R({5, 3, 2}), rm = R({3}), rv = rand({3}, {DType::Float64}) + 0.5;
  Tensor rm0 = rm.clone(), rv0 = rv.clone();
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), /*training=*/false, 0.1, 1e-5);
  CHECK_CLOSE(y, (x - rm0.reshape({1, 3, 1})) / sqrt(rv0.reshape({1, 3, 1}) + 1e-5), 1e-12, 1e-12);
  CHECK_CLOSE(rm, rm0, 0, 0);
  batch_norm(x, rm, rv, Tensor(), Tensor(), /*training=*/true, 0.25, 1e-5);
  Tensor batch_mean = mean(x, {0, 2}), batch_var = var(x, {0, 2}, /*correction=*/1);
  CHECK_CLOSE(rm, rm0 * 0.75 + batch_mean * 0.25, 1e-12, 1e-12);
  CHECK_CLOSE(rv, rv0 * 0.75 + batch_var * 0.25, 1e-12, 1e-12);
}

TEST_CASE("conv2d: errors name the op, the shapes and what was expected") {
  Tensor x = R({1, 3, 5, 5});
  CHECK_ERROR(conv2d(x, R({4, 4, 3, 3})), "conv2d: input has 3 channels, weight expects 4 (groups 1)");
  CHECK_ERROR(conv2d(x, R({2, 3, 7, 3})),
              "conv2d: kernel 7x3 (dilation 1x1) spans 7x3, larger than the padded input 5x5");
  CHECK_ERROR(conv2d(x, R({2, 3, 3, 3}), Tensor(), 1, 0, 3), "spans 7x7, larger than the padded input 5x5");
  CHECK_NOTHROW(conv2d(x, R({2, 3, 7, 7}), Tensor(), 1, 1));  // 5 + 2·1 = 7: exactly one window
  CHECK(conv2d(x, R({2, 3, 7, 7}), Tensor(), 1, 1).shape() == Shape{1, 2, 1, 1});
  Tensor x4 = R({1, 4, 5, 5});
  CHECK_ERROR(conv2d(x4, R({6, 2, 3, 3}), Tensor(), 1, 0, 1, 3),
              "conv2d: input channels 4 are not divisible by groups 3");
  CHECK_ERROR(conv2d(x4, R({5, 2, 3, 3}), Tensor(), 1, 0, 1, 2),
              "conv2d: output channels 5 are not divisible by groups 2");
  CHECK_ERROR(conv2d(x4, R({6, 4, 3, 3}), Tensor(), 1, 0, 1, 2),
              "conv2d: input has 4 channels, weight expects 8 (groups 2)");
  CHECK_ERROR(conv2d(x4, R({6, 2, 3, 3}), Tensor(), 1, 0, 1, 0), "conv2d: groups must be positive, got 0");
  CHECK_ERROR(conv2d(x, R({4, 3, 3})), "conv2d: weight must be (O, C/groups, kh, kw)");
  CHECK_ERROR(conv2d(R({3, 5}), R({4, 3, 3, 3})), "conv2d: input must be (N, C, H, W)");
  CHECK_ERROR(conv2d(x, R({4, 3, 3, 3}, DType::Float32)), "conv2d: input and weight must share a floating dtype");
  CHECK_ERROR(conv2d(x, R({4, 3, 3, 3}), R({3})), "conv2d: bias must be (4)");
  CHECK_ERROR(conv2d(x, R({4, 3, 3, 3}), Tensor(), 0), "conv2d: stride must be positive");
  CHECK_ERROR(conv2d(x, R({4, 3, 3, 3}), Tensor(), 1, -1), "conv2d: padding must be non-negative");
}

TEST_CASE("conv1d, im2col, col2im, pooling and batch norm: errors") {
  CHECK_ERROR(conv1d(R({2, 3, 8}), R({4, 2, 3})), "conv1d: input has 3 channels, weight expects 2 (groups 1)");
  CHECK_ERROR(conv1d(R({2, 3, 4}), R({4, 3, 6}), Tensor(), 1, 0),
              "conv1d: kernel 6 (dilation 1) spans 6, larger than the padded input 4 (input 4, padding 0)");
  CHECK_ERROR(conv1d(R({2, 3, 8, 1}), R({4, 3, 3})), "conv1d: input must be (N, C, L)");
  CHECK_ERROR(im2col(R({3, 5, 5}), 2), "im2col: input must be (N, C, H, W)");
  CHECK_ERROR(col2im(R({1, 8, 5}), {3, 3}, 2), "col2im: input [1, 8, 5] has 5 columns");
  CHECK_ERROR(col2im(R({1, 7, 4}), {3, 3}, 2), "not a multiple of the kernel size 2x2");
  Tensor x = R({2, 3, 5, 5});
  CHECK_ERROR(max_pool2d(x, 2, 2, 2), "max_pool2d: padding 2x2 must be at most half the kernel 2x2");
  CHECK_ERROR(max_pool2d(x, 6), "max_pool2d: kernel 6x6 (dilation 1x1) spans 6x6, larger than");
  CHECK_ERROR(avg_pool2d(R({5, 5}), 2), "avg_pool2d: input must be (N, C, H, W) or (C, H, W)");
  CHECK_ERROR(adaptive_avg_pool2d(x, {0, 2}), "adaptive_avg_pool2d: output size must be positive");
  CHECK_ERROR(max_pool2d(from_vector(std::vector<int64_t>{1, 2, 3, 4}, {1, 1, 2, 2}), 2),
              "max_pool2d: input must be floating");
  Tensor stats = R({3});
  CHECK_ERROR(batch_norm(R({1, 3}), stats, stats.abs(), Tensor(), Tensor(), true),
              "batch_norm: expected more than 1 value per channel when training");
  CHECK_ERROR(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
              "batch_norm: eval mode needs running_mean and running_var");
  CHECK_ERROR(batch_norm(x, Tensor(), Tensor(), R({4}), Tensor(), true),
              "batch_norm: weight must be (3) float64, one per channel of input [2, 3, 5, 5], got [4]");
}

TEST_CASE("conv2d, pooling: float32 stays float32 and unbatched inputs keep their rank") {
  manual_seed(13);
  Tensor x = R({3, 8, 8}, DType::Float32);
  Tensor y = conv2d(x, R({4, 3, 3, 3}, DType::Float32), R({4}, DType::Float32), 1, 1);
  CHECK(y.shape() == Shape{4, 8, 8});
  CHECK(y.dtype() == DType::Float32);
  CHECK(max_pool2d(y, 2).shape() == Shape{4, 4, 4});
  CHECK(avg_pool2d(y, 3, 1, 1).shape() == Shape{4, 8, 8});
  CHECK(adaptive_avg_pool2d(y, {1, 2}).shape() == Shape{4, 1, 2});
  CHECK(conv1d(R({3, 10}), R({2, 3, 3}), Tensor(), 3).shape() == Shape{2, 3});
}

TEST_CASE("max_pool2d takes each window's first maximum, NaN first, never padding, and gradients go there") {
  // Brute force over (n, c, oh, ow) and the window row by row, as PyTorch scans it.
  struct Case {
    int64_t k, stride, pad, dil;
  };
  for (const Case c : {Case{2, 2, 0, 1}, Case{3, 1, 1, 1}, Case{3, 2, 1, 2}, Case{2, 1, 1, 1}}) {
    CAPTURE(c.k);
    CAPTURE(c.stride);
    CAPTURE(c.pad);
    CAPTURE(c.dil);
    const int64_t N = 2, C = 3, H = 7, W = 6;
    std::vector<double> data = test::values(randn({N, C, H, W}, {DType::Float64}));
    for (double& v : data) v = std::round(v * 2) / 2;  // many ties
    data[5] = std::nan("");                            // a NaN in plane 0
    for (int64_t i = 0; i < H * W; ++i) data[size_t(H * W + i)] = -INFINITY;  // plane 1 all −inf
    for (DType dt : {DType::Float64, DType::Float32}) {
      CAPTURE(dt);
      Tensor x = from_vector(data, {N, C, H, W}).to(dt).requires_grad_(true);
      Tensor y = max_pool2d(x, c.k, c.stride, c.pad, c.dil);
      const int64_t OH = y.size(2), OW = y.size(3);
      Tensor g = randn(y.shape(), {dt});
      Tensor dx = autograd::grad({y}, {x}, {g})[0];
      std::vector<double> want_dx(data.size(), 0.0), got = test::values(y), got_dx = test::values(dx), gv = test::values(g);
      for (int64_t plane = 0; plane < N * C; ++plane)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            int64_t best = -1;
            for (int64_t i = 0; i < c.k && (best < 0 || !std::isnan(data[size_t(best)])); ++i)
              for (int64_t j = 0; j < c.k; ++j) {
                const int64_t r = oh * c.stride - c.pad + i * c.dil, q = ow * c.stride - c.pad + j * c.dil;
                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                const int64_t at = plane * H * W + r * W + q;
                if (best < 0 || std::isnan(data[size_t(at)]) || data[size_t(at)] > data[size_t(best)]) best = at;
                if (std::isnan(data[size_t(best)])) break;
              }
            const size_t out = size_t((plane * OH + oh) * OW + ow);
            const double v = data[size_t(best)];
            if (std::isnan(v)) CHECK(std::isnan(got[out]));
            else CHECK(got[out] == v);  // a copy of one input (halves: exact in float32 too)
            want_dx[size_t(best)] += gv[out];
          }
      for (size_t i = 0; i < data.size(); ++i) REQUIRE(got_dx[i] == doctest::Approx(want_dx[i]).epsilon(1e-6));
    }
  }
}
