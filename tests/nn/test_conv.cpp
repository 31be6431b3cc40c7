// Convolution, pooling and batch-norm layers (nn/conv.h, nn/pooling.h, nn/batchnorm.h): against
// PyTorch's layers (the nn_* cases of tests/fixtures/conv.safetensors, written by
// scripts/make_conv_fixtures.py), their init, buffers, options and errors, gradcheck with
// respect to their parameters, and the shapes of the cnn workload. The functional ops beneath
// are checked in tests/autograd/test_conv.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>

#include "../helpers.h"
#include "module_gradcheck.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/pooling.h"
#include "tensor/io.h"
#include "tensor/random.h"

using namespace heed;

// The call throws heed::Error with a message containing `text`.
#define CHECK_ERROR(expr, text) CHECK_THROWS_WITH_AS(expr, doctest::Contains(text), heed::Error)

namespace {

constexpr DType kF64 = DType::Float64;
constexpr double kAtol = 1e-10, kRtol = 1e-8;  // float64 on both sides

const SafetensorsFile& fixtures() {
  static const SafetensorsFile file = load_safetensors(HEED_FIXTURES_DIR "/conv.safetensors");
  return file;
}
Tensor fx(const std::string& name) { return fixtures().at(name).clone(); }

// Mean and (population) standard deviation of a tensor's values.
std::pair<double, double> mean_std(const Tensor& t) {
  std::vector<double> v = test::values(t);
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  return {m, std::sqrt(s / static_cast<double>(v.size()))};
}

// A conv layer against its fixture: load PyTorch's weights, then output and every gradient.
void check_conv_layer(nn::Module& layer, Tensor& weight, Tensor& bias, const std::string& c) {
  layer.to(kF64);
  layer.load_state_dict({{"weight", fx(c + ".weight")}, {"bias", fx(c + ".bias")}});
  Tensor x = fx(c + ".x").requires_grad_();
  Tensor y = layer(x);
  CHECK_CLOSE(y, fx(c + ".y"), kAtol, kRtol);
  sum(y * fx(c + ".gout")).backward();
  CHECK_CLOSE(x.grad(), fx(c + ".grad_x"), kAtol, kRtol);
  CHECK_CLOSE(weight.grad(), fx(c + ".grad_weight"), kAtol, kRtol);
  CHECK_CLOSE(bias.grad(), fx(c + ".grad_bias"), kAtol, kRtol);
}

// A batch-norm layer against its fixture: training steps on x0, x1, ..., then eval on the last
// x; every output, the first step's gradients and the final running statistics.
void check_batchnorm_layer(nn::BatchNormBase& bn, const std::string& c) {
  const SafetensorsFile& f = fixtures();
  bn.to(kF64);
  bn.load_state_dict({{"weight", fx(c + ".weight")}, {"bias", fx(c + ".bias")}}, /*strict=*/false);
  int steps = 0;
  while (f.contains(c + ".x" + std::to_string(steps))) ++steps;
  REQUIRE(steps >= 2);
  bn.train();
  for (int k = 0; k < steps; ++k) {
    const std::string step = std::to_string(k);
    CAPTURE(step);
    if (k == steps - 1) bn.eval();
    Tensor x = fx(c + ".x" + step);
    if (k == 0) x.requires_grad_();
    Tensor y = bn(x);
    CHECK_CLOSE(y, fx(c + ".y" + step), kAtol, kRtol);
    if (k == 0) {
      sum(y * fx(c + ".gout0")).backward();
      CHECK_CLOSE(x.grad(), fx(c + ".grad_x0"), kAtol, kRtol);
      CHECK_CLOSE(bn.weight.grad(), fx(c + ".grad_weight"), kAtol, kRtol);
      CHECK_CLOSE(bn.bias.grad(), fx(c + ".grad_bias"), kAtol, kRtol);
    }
  }
  CHECK_CLOSE(bn.running_mean, fx(c + ".running_mean"), kAtol, kRtol);
  CHECK_CLOSE(bn.running_var, fx(c + ".running_var"), kAtol, kRtol);
  CHECK(bn.num_batches_tracked.dtype() == DType::Int64);
  CHECK(bn.num_batches_tracked.item() == fx(c + ".num_batches_tracked").item());
  CHECK(bn.num_batches_tracked.item() == steps - 1);  // eval steps are not counted
}

}  // namespace

// ---------------------------------------------------------------- Conv1d / Conv2d

TEST_CASE("Conv2d and Conv1d: match torch.nn.Conv2d / Conv1d with stride, padding, dilation, groups") {
  SUBCASE("Conv2d(4, 6, (3,2), stride (2,1), padding (1,0), dilation (1,2), groups 2)") {
    nn::Conv2d conv(4, 6, {3, 2}, Size2{2, 1}, Size2{1, 0}, Size2{1, 2}, 2);
    CHECK(conv.weight.shape() == Shape{6, 2, 3, 2});
    check_conv_layer(conv, conv.weight, conv.bias, "nn_conv2d");
  }
  SUBCASE("Conv1d(3, 4, 3, stride 2, padding 1, dilation 2)") {
    nn::Conv1d conv(3, 4, 3, 2, 1, 2);
    CHECK(conv.weight.shape() == Shape{4, 3, 3});
    check_conv_layer(conv, conv.weight, conv.bias, "nn_conv1d");
  }
}

TEST_CASE("Conv2d and Conv1d: PyTorch's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias") {
  manual_seed(21);
  nn::Conv2d conv(16, 32, 3);  // fan_in = 16·3·3 = 144: bound 1/12
  const double bound = 1.0 / 12.0;
  auto [wm, ws] = mean_std(conv.weight);
  CHECK(std::abs(wm) < 0.05 * bound);
  CHECK(ws == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.03));  // a uniform's std: bound/√3
  CHECK(max(abs(conv.weight)).item() <= bound);
  CHECK(max(abs(conv.weight)).item() > 0.99 * bound);
  CHECK(max(abs(conv.bias)).item() <= bound);
  CHECK(conv.bias.shape() == Shape{32});
  CHECK(conv.weight.dtype() == DType::Float32);

  nn::Conv1d grouped(8, 4, 5, 1, 0, 1, /*groups=*/2, /*bias=*/false);  // fan_in = 8/2·5 = 20
  CHECK(grouped.weight.shape() == Shape{4, 4, 5});
  CHECK(!grouped.bias.defined());
  CHECK(grouped.named_parameters().size() == 1);
  CHECK(max(abs(grouped.weight)).item() <= 1.0 / std::sqrt(20.0));
  CHECK(max(abs(grouped.weight)).item() > 0.9 / std::sqrt(20.0));

  manual_seed(21);
  nn::Conv2d again(16, 32, 3);
  CHECK_CLOSE(again.weight, conv.weight, 0, 0);  // reproducible from the seed
}

TEST_CASE("Conv2d and Conv1d: names, repr and errors") {
  nn::Conv2d conv(3, 8, {3, 5}, 2, {1, 2});
  CHECK(conv.named_parameters()[0].first == "weight");
  CHECK(conv.named_parameters()[1].first == "bias");
  CHECK(conv.num_parameters() == 8 * 3 * 3 * 5 + 8);
  CHECK(conv.extra_repr() ==
        "3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(1, 1), groups=1, bias=true");
  CHECK(conv(randn({2, 3, 9, 9})).shape() == Shape{2, 8, 5, 5});  // (9+2-3)/2+1, (9+4-5)/2+1
  CHECK_ERROR(conv(randn({2, 4, 9, 9})), "conv2d: input has 4 channels, weight expects 3 (groups 1)");
  CHECK_ERROR(nn::Conv2d(4, 6, 3, 1, 0, 1, 4),
              "Conv2d: in_channels 4 and out_channels 6 must both be divisible by groups 4");
  CHECK_ERROR(nn::Conv1d(3, 6, 0), "Conv1d: kernel size must be positive");
  nn::Conv1d c1(2, 2, 7);
  CHECK_ERROR(c1(randn({1, 2, 5})), "conv1d: kernel 7 (dilation 1) spans 7, larger than the padded input 5");
}

TEST_CASE("gradcheck and gradgradcheck: Conv2d and Conv1d, input and parameters") {
  manual_seed(22);
  nn::Conv2d conv(4, 2, {2, 3}, {2, 1}, 1, 1, 2);
  conv.to(kF64);
  CHECK(test::gradcheck_module(conv, {randn({2, 4, 4, 4}, {kF64})}));
  CHECK(test::gradgradcheck_module(conv, {randn({1, 4, 3, 4}, {kF64})}));
  nn::Conv1d conv1(2, 3, 3, 1, 2, 2);
  conv1.to(kF64);
  CHECK(test::gradcheck_module(conv1, {randn({2, 2, 5}, {kF64})}));
  CHECK(test::gradgradcheck_module(conv1, {randn({1, 2, 4}, {kF64})}));
}

// ---------------------------------------------------------------- pooling

TEST_CASE("MaxPool2d, AvgPool2d, AdaptiveAvgPool2d: stride defaults to the kernel and the options reach the op") {
  manual_seed(23);
  Tensor x = randn({2, 3, 7, 6}, {kF64});
  nn::MaxPool2d mp(2);
  CHECK(mp.stride == Size2{2, 2});
  CHECK(mp(x).shape() == Shape{2, 3, 3, 3});
  CHECK(mp.extra_repr() == "kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1)");
  nn::MaxPool2d mp_full(3, Size2{1, 2}, 1, 2);
  CHECK_CLOSE(mp_full(x), max_pool2d(x, 3, Size2{1, 2}, 1, 2), 0, 0);
  nn::AvgPool2d ap({3, 2}, Size2{2, 1}, 1, /*count_include_pad=*/false);
  CHECK_CLOSE(ap(x), avg_pool2d(x, {3, 2}, Size2{2, 1}, 1, false), 0, 0);
  CHECK(ap(x).shape() == Shape{2, 3, 4, 7});  // (7+2-3)/2+1, (6+2-2)/1+1
  CHECK_FALSE(test::close_report(ap(x), avg_pool2d(x, {3, 2}, Size2{2, 1}, 1, true), 1e-9, 0).empty());
  nn::AdaptiveAvgPool2d gap(1);
  CHECK_CLOSE(gap(x), mean(x, {2, 3}, true), 1e-12, 1e-12);
  CHECK(nn::AdaptiveAvgPool2d({2, 3})(x).shape() == Shape{2, 3, 2, 3});
  CHECK(mp.parameters().empty());
  CHECK(test::gradcheck_module(ap, {randn({1, 2, 5, 4}, {kF64})}));
}

// ---------------------------------------------------------------- BatchNorm1d / BatchNorm2d

TEST_CASE("BatchNorm1d and BatchNorm2d: match torch.nn.BatchNorm over training steps, then eval") {
  SUBCASE("BatchNorm2d(3): two training steps, eval") {
    nn::BatchNorm2d bn(3);
    check_batchnorm_layer(bn, "nn_batchnorm2d");
  }
  SUBCASE("BatchNorm1d(4, eps 1e-3, momentum None): cumulative average over three steps, (N, C) input") {
    nn::BatchNorm1d bn(4, 1e-3, std::nullopt);
    check_batchnorm_layer(bn, "nn_batchnorm1d_cumulative");
  }
  SUBCASE("BatchNorm1d(2): (N, C, L) input") {
    nn::BatchNorm1d bn(2);
    check_batchnorm_layer(bn, "nn_batchnorm1d_3d");
  }
}

TEST_CASE("BatchNorm: parameters, buffers, options and errors") {
  nn::BatchNorm2d bn(5);
  CHECK(bn.named_parameters().size() == 2);
  auto buffers = bn.named_buffers();
  REQUIRE(buffers.size() == 3);
  CHECK(buffers[0].first == "running_mean");
  CHECK(buffers[1].first == "running_var");
  CHECK(buffers[2].first == "num_batches_tracked");
  CHECK(test::values(bn.running_mean) == std::vector<double>(5, 0.0));
  CHECK(test::values(bn.running_var) == std::vector<double>(5, 1.0));
  CHECK(test::values(bn.weight) == std::vector<double>(5, 1.0));
  CHECK(test::values(bn.bias) == std::vector<double>(5, 0.0));
  CHECK(bn.extra_repr() == "5, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true");
  CHECK_ERROR(bn(randn({2, 5, 3})), "BatchNorm2d: expected input (N, C, H, W), got shape [2, 5, 3]");
  CHECK_ERROR(bn(randn({2, 4, 3, 3})), "BatchNorm2d: input [2, 4, 3, 3] has 4 channels, expected num_features = 5");
  nn::BatchNorm1d bn1(3);
  CHECK_ERROR(bn1(randn({2, 3, 3, 3})), "BatchNorm1d: expected input (N, C) or (N, C, L)");
  CHECK_ERROR(bn1(randn({1, 3})), "expected more than 1 value per channel when training");
  CHECK(bn1.num_batches_tracked.item() == 0);  // a failed call counts nothing
  bn1.eval();
  CHECK_NOTHROW(bn1(randn({1, 3})));  // eval normalises a single sample with the running stats

  // Without running stats: batch statistics in eval too, nothing registered, nothing updated.
  manual_seed(24);
  nn::BatchNorm1d plain(3, 1e-5, 0.1, /*affine=*/false, /*track_running_stats=*/false);
  CHECK(plain.parameters().empty());
  CHECK(plain.named_buffers().empty());
  plain.eval();
  Tensor x = randn({6, 3}, {kF64}) * 3.0 + 2.0;
  plain.to(kF64);
  Tensor y = plain(x);
  CHECK_CLOSE(mean(y, {0}), zeros({3}, {kF64}), 1e-12, 0);
  CHECK_CLOSE(var(y, {0}, 0), ones({3}, {kF64}), 1e-4, 0);  // var/(var+eps) ≈ 1
}

TEST_CASE("gradcheck and gradgradcheck: BatchNorm2d in training and eval, input and affine parameters") {
  manual_seed(25);
  nn::BatchNorm2d bn(2);
  bn.to(kF64);
  bn.load_state_dict({{"weight", randn({2}, {kF64})}, {"bias", randn({2}, {kF64})}}, /*strict=*/false);
  CHECK(test::gradcheck_module(bn, {randn({3, 2, 2, 2}, {kF64})}));
  CHECK(test::gradgradcheck_module(bn, {randn({3, 2, 2, 2}, {kF64})}));
  bn.eval();
  CHECK(test::gradcheck_module(bn, {randn({2, 2, 2, 2}, {kF64})}));
  CHECK(test::gradgradcheck_module(bn, {randn({2, 2, 2, 2}, {kF64})}));
}

// ---------------------------------------------------------------- the cnn workload

TEST_CASE("cnn workload: conv 1->32 3x3, relu, maxpool 2, conv 32->64 3x3, relu, maxpool 2, flatten = 1600 features") {
  manual_seed(26);
  nn::Sequential features{std::make_shared<nn::Conv2d>(1, 32, 3), std::make_shared<nn::ReLU>(),
                          std::make_shared<nn::MaxPool2d>(2),     std::make_shared<nn::Conv2d>(32, 64, 3),
                          std::make_shared<nn::ReLU>(),           std::make_shared<nn::MaxPool2d>(2)};
  Tensor images = rand({64, 1, 28, 28});
  Tensor maps = features(images);  // 28 -> 26 -> 13 -> 11 -> 5
  CHECK(maps.shape() == Shape{64, 64, 5, 5});
  Tensor flat = maps.flatten(1);
  CHECK(flat.shape() == Shape{64, 1600});
  CHECK(features.num_parameters() == (32 * 9 + 32) + (64 * 32 * 9 + 64));
  mean(flat).backward();
  for (const auto& [name, p] : features.named_parameters()) {
    CAPTURE(name);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().shape() == p.shape());
    CHECK(max(abs(p.grad())).item() > 0);
  }
}
