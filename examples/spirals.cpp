// Worked example: an MLP learns to tell two interleaved spirals apart (nn + optim, ~35 lines).
#include <cmath>
#include <cstdio>

#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/random.h"

using namespace heed;

// n points per class; the second spiral is the first turned by 180 degrees.
std::pair<Tensor, Tensor> spirals(int64_t n) {
  Tensor t = rand({n}) * 3.0 * M_PI + 0.5, r = t / (3.0 * M_PI + 0.5);
  Tensor a = stack({r * cos(t), r * sin(t)}, 1);
  Tensor x = cat({a, -a}, 0) + randn({2 * n, 2}) * 0.03;
  return {x, cat({zeros({n}, {DType::Int64}), ones({n}, {DType::Int64})}, 0)};
}

int main() {
  manual_seed(0);
  auto [x, y] = spirals(500);
  auto [x_test, y_test] = spirals(200);
  nn::Sequential model;
  model.push_back(std::make_shared<nn::Linear>(2, 64));
  model.push_back(std::make_shared<nn::ReLU>());
  model.push_back(std::make_shared<nn::Linear>(64, 64));
  model.push_back(std::make_shared<nn::ReLU>());
  model.push_back(std::make_shared<nn::Linear>(64, 2));
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  for (int epoch = 1; epoch <= 300; ++epoch) {
    Tensor loss = cross_entropy(model(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (epoch % 50 == 0) std::printf("epoch %3d  loss %.4f\n", epoch, loss.item());
  }
  model.eval();
  NoGradGuard no_grad;
  double accuracy = mean(eq(argmax(model(x_test), 1), y_test).to(DType::Float32)).item();
  std::printf("test accuracy %.3f\n%s", accuracy, model.summary().c_str());
  return accuracy > 0.95 ? 0 : 1;
}
