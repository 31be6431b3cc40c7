// A tiny MLP fits y = sin(3x) on [-1, 1] with full-batch Adam and the mean squared error.
// Exits non-zero when the fit is poor.
#include <cstdio>

#include "heed/heed.h"

using namespace heed;

int main() {
  manual_seed(0);
  Tensor x = rand({256, 1}) * 2.0 - 1.0;  // inputs in [-1, 1)
  Tensor y = sin(x * 3.0);

  nn::Sequential model{std::make_shared<nn::Linear>(1, 32), std::make_shared<nn::Tanh>(),
                       std::make_shared<nn::Linear>(32, 1)};
  optim::Adam opt(model.parameters(), {.lr = 1e-2});
  Tensor loss;
  for (int step = 1; step <= 500; ++step) {
    loss = mse_loss(model(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 100 == 0) std::printf("step %3d  mse %.5f\n", step, loss.item());
  }
  return loss.item() < 1e-3 ? 0 : 1;
}
