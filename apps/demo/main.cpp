// heed-demo: trains a small MLP to tell two interleaved spirals apart, end to end on heed's
// tensors and autograd (plain SGD with momentum, written out here until optim/ exists).
//
//   heed-demo [--epochs N] [--seed S]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/print.h"
#include "tensor/random.h"

using namespace heed;

namespace {

// N points per class on two spirals, with a little noise. x: (2N, 2) float32, y: (2N) int64.
std::pair<Tensor, Tensor> spirals(int64_t n) {
  Tensor t = rand({n}) * 3.0 * M_PI + 0.5;  // angle along the spiral
  Tensor r = t / (3.0 * M_PI + 0.5);
  Tensor a = stack({r * cos(t), r * sin(t)}, 1);
  Tensor b = -a;  // the second spiral: the first turned by 180°
  Tensor x = cat({a, b}, 0) + randn({2 * n, 2}) * 0.03;
  Tensor y = cat({zeros({n}, {DType::Int64}), ones({n}, {DType::Int64})}, 0);
  return {x, y};
}

// Uniform(-1/√fan_in, 1/√fan_in), as PyTorch initialises Linear.
Tensor init(const Shape& shape, int64_t fan_in) {
  double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return uniform(shape, -bound, bound).requires_grad_();
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 300;
  uint64_t seed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--epochs" && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
      epochs = std::atoi(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: heed-demo [--epochs N] [--seed S]\n");
      return 2;
    }
  }
  try {
    manual_seed(seed);
    auto [x, y] = spirals(500);
    auto [x_test, y_test] = spirals(200);
    const int64_t hidden = 64;
    std::vector<Tensor> params = {init({2, hidden}, 2), init({hidden}, 2), init({hidden, hidden}, hidden),
                                  init({hidden}, hidden), init({hidden, 2}, hidden), init({2}, hidden)};
    std::vector<Tensor> velocity;
    for (const Tensor& p : params) velocity.push_back(zeros_like(p));
    auto forward = [&](const Tensor& in) {
      Tensor h = relu(matmul(in, params[0]) + params[1]);
      h = relu(matmul(h, params[2]) + params[3]);
      return matmul(h, params[4]) + params[5];
    };
    auto accuracy = [&](const Tensor& in, const Tensor& labels) {
      NoGradGuard no_grad;
      return mean(eq(argmax(forward(in), 1), labels).to(DType::Float32)).item();
    };
    std::printf("heed-demo: MLP 2-%lld-%lld-2 on two spirals (%lld training points)\n",
                static_cast<long long>(hidden), static_cast<long long>(hidden), static_cast<long long>(x.shape()[0]));
    const double lr = 0.1, momentum = 0.9;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      Tensor loss = cross_entropy(forward(x), y);
      for (Tensor& p : params) p.zero_grad();
      loss.backward();
      {
        NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i) {
          velocity[i].copy_(velocity[i] * momentum + params[i].grad());
          params[i].copy_(params[i] - velocity[i] * lr);
        }
      }
      if (epoch == 1 || epoch % 50 == 0 || epoch == epochs)
        std::printf("epoch %4d  loss %.4f  train accuracy %.3f\n", epoch, loss.item(), accuracy(x, y));
    }
    const double test_acc = accuracy(x_test, y_test);
    std::printf("test accuracy %.3f\n", test_acc);
    return test_acc > 0.9 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "heed-demo: %s\n", e.what());
    return 1;
  }
}
