// The consumer program: exercises an installed heed through heed/heed.h only. Exits non-zero
// (with a message) when something is off.
#include <cmath>
#include <cstdio>
#include <string>

#include "heed/heed.h"

using namespace heed;

static int failures = 0;
static void expect(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  failures += !ok;
}

int main() {
  std::printf("heed %s\n", HEED_VERSION_STRING);
  expect(HEED_VERSION == HEED_VERSION_MAJOR * 10000 + HEED_VERSION_MINOR * 100 + HEED_VERSION_PATCH,
         "version macros agree");
  manual_seed(0);

  // A tensor op with broadcasting: (2,3) + (3) then a sum.
  Tensor a = tensor({1, 2, 3, 4, 5, 6}).reshape({2, 3});
  Tensor b = tensor({10, 20, 30});
  expect(sum(a + b).item() == 141.0, "broadcasting add and sum");

  // Linear forward and backward: d(sum(x·Wᵀ + b))/db is the batch size for every output.
  nn::Linear layer(3, 2);
  Tensor x = randn({5, 3});
  Tensor y = layer(x);
  expect(y.shape() == Shape{5, 2}, "Linear forward shape");
  sum(y).backward();
  auto bias_grad = layer.bias.grad().to_vector<double>();
  expect(bias_grad.size() == 2 && bias_grad[0] == 5.0 && bias_grad[1] == 5.0, "Linear backward");

  // One AdamW step moves every weight against its gradient's sign by about lr.
  optim::AdamW opt(layer.parameters(), {.lr = 0.1, .weight_decay = 0.0});
  Tensor before = layer.weight.detach().clone();
  Tensor grad = layer.weight.grad().clone();
  opt.step();
  Tensor moved = (before - layer.weight.detach()) * sign(grad);
  expect(std::abs(mean(moved).item() - 0.1) < 1e-3, "AdamW step");

  // gradcheck on a small float64 function, and a wrong gradient caught.
  auto f = [](const std::vector<Tensor>& in) { return sum(tanh(matmul(in[0], in[1]))); };
  Tensor p = randn({2, 3}, {DType::Float64}).requires_grad_();
  Tensor q = randn({3, 2}, {DType::Float64}).requires_grad_();
  expect(gradcheck(f, {p, q}).ok, "gradcheck passes on tanh(p·q)");
  expect(gradgradcheck(f, {p, q}).ok, "gradgradcheck passes on tanh(p·q)");

  try {
    (void)tensor({1, 2, 3}).reshape({2, 2});
    expect(false, "a bad reshape throws heed::Error");
  } catch (const Error& e) {
    expect(std::string(e.what()).find("reshape") != std::string::npos, "a bad reshape throws heed::Error");
  }
  // datasets: a tokenizer trained, a batch encoded with padding.
  data::WordTokenizer tok = data::WordTokenizer::train({"the cat sat", "the dog sat"}, {.min_frequency = 1});
  data::BatchEncoding enc = data::encode_batch(tok, {"the cat", "the dog sat down"}, 8);
  expect(enc.ids.shape() == Shape({2, 5}) && enc.padding_mask.shape() == Shape({2, 5}),
         "encode_batch pads to the longest text");

  return failures == 0 ? 0 : 1;
}
