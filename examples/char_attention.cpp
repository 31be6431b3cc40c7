// A character-level attention model learns to continue a short text: embedding + learned
// positions, one causal self-attention layer with a residual connection, LayerNorm, and a
// linear read-out to the next character. Exits non-zero when it has not learned the text.
#include <cstdio>
#include <string>

#include "heed/heed.h"

using namespace heed;

const std::string text = "attention is all you need. ";

struct CharAttention : nn::Module {
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LearnedPositionalEncoding> position;
  std::shared_ptr<nn::MultiHeadAttention> attention;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;

  CharAttention(int64_t vocab, int64_t context, int64_t dim) : Module("CharAttention") {
    embed = register_module("embed", std::make_shared<nn::Embedding>(vocab, dim));
    position = register_module("position", std::make_shared<nn::LearnedPositionalEncoding>(context, dim, 0.0, true));
    attention = register_module("attention", std::make_shared<nn::MultiHeadAttention>(dim, 4, 0.0, true, std::nullopt,
                                                                                      std::nullopt, true));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(dim));
    head = register_module("head", std::make_shared<nn::Linear>(dim, vocab));
  }
  Tensor forward(const Tensor& ids) override {  // (B,T) int64 -> (B,T,vocab) logits
    Tensor h = (*position)((*embed)(ids));
    h = (*norm)(h + attention->forward(h, h, h, {.causal = true}, false).output);
    return (*head)(h);
  }
};

int main() {
  manual_seed(0);
  const int64_t context = 16, vocab = 128;
  std::vector<int64_t> codes;  // the text, repeated, as character codes
  for (int i = 0; i < 3; ++i)
    for (char c : text) codes.push_back(c);
  // Every window of context + 1 characters: inputs are the first context, targets the next ones.
  int64_t windows = static_cast<int64_t>(codes.size()) - context;
  Tensor all = from_vector(codes, {static_cast<int64_t>(codes.size())});
  std::vector<Tensor> xs, ys;
  for (int64_t i = 0; i < windows; ++i) {
    xs.push_back(all.slice(0, i, i + context));
    ys.push_back(all.slice(0, i + 1, i + context + 1));
  }
  Tensor x = stack(xs, 0), y = stack(ys, 0);

  CharAttention model(vocab, context, 32);
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  Tensor loss;
  for (int step = 1; step <= 80; ++step) {
    loss = cross_entropy(model(x).reshape({-1, vocab}), y.reshape({-1}));
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 20 == 0) std::printf("step %3d  loss %.4f\n", step, loss.item());
  }
  NoGradGuard no_grad;  // greedy continuation of the first window
  std::vector<int64_t> out(codes.begin(), codes.begin() + context);
  for (int i = 0; i < 30; ++i) {
    Tensor window = from_vector(std::vector<int64_t>(out.end() - context, out.end()), {1, context});
    out.push_back(static_cast<int64_t>(argmax(model(window).select(1, context - 1), 1).item()));
  }
  std::string generated(out.begin(), out.end()), expected(codes.begin(), codes.begin() + out.size());
  std::printf("generated: %s\n", generated.c_str());
  return generated == expected ? 0 : 1;
}
