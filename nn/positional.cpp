// Sinusoidal and learned positional encodings (see positional.h).
// Shape legend: B batch, T length, E d_model.
#include "nn/positional.h"

#include <cmath>
#include <vector>

namespace heed::nn {
namespace {

// x + pe[:T] for x laid out (T,B,E) or (B,T,E); pe (≥ T, E).
Tensor add_positions(const char* layer, const Tensor& x, const Tensor& pe, bool batch_first) {
  const int64_t E = pe.size(1), max_len = pe.size(0);
  HEED_CHECK(x.dim() == 3 && x.size(2) == E, "{}: input must be {} with E = d_model {}, got {}", layer,
             batch_first ? "(B,T,E)" : "(T,B,E)", E, x.shape());
  const int64_t T = x.size(batch_first ? 1 : 0);
  HEED_CHECK(T <= max_len, "{}: sequence length {} exceeds max_len {}", layer, T, max_len);
  HEED_CHECK(x.dtype() == pe.dtype(), "{}: input is {}, encoding is {}; move one with to()", layer, x.dtype(),
             pe.dtype());
  Tensor rows = pe.narrow(0, 0, T);                     // (T,E)
  return x + (batch_first ? rows : rows.unsqueeze(1));  // broadcast over B
}

}  // namespace

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t d_model_, int64_t max_len_, double p,
                                                           bool batch_first_)
    : Module("SinusoidalPositionalEncoding"), d_model(d_model_), max_len(max_len_), batch_first(batch_first_) {
  HEED_CHECK(d_model > 0 && max_len > 0,
             "SinusoidalPositionalEncoding: d_model and max_len must be positive, got {}, {}", d_model, max_len);
  std::vector<double> table(static_cast<size_t>(max_len * d_model));
  for (int64_t pos = 0; pos < max_len; ++pos)
    for (int64_t i = 0; i < d_model; ++i) {
      // Columns 2j and 2j+1 share the frequency 1 / 10000^(2j/E).
      const double angle = static_cast<double>(pos) *
                           std::exp(-std::log(10000.0) * static_cast<double>(i - i % 2) / static_cast<double>(d_model));
      table[static_cast<size_t>(pos * d_model + i)] = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  pe = register_buffer("pe", from_vector(table, {max_len, d_model}));  // float32
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x) {
  return dropout->forward(add_positions("SinusoidalPositionalEncoding", x, pe, batch_first));
}

std::string SinusoidalPositionalEncoding::extra_repr() const {
  return fmt::format("d_model={}, max_len={}, batch_first={}", d_model, max_len, batch_first);
}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t max_len_, int64_t d_model_, double p, bool batch_first_)
    : Module("LearnedPositionalEncoding"), max_len(max_len_), d_model(d_model_), batch_first(batch_first_) {
  HEED_CHECK(d_model > 0 && max_len > 0, "LearnedPositionalEncoding: d_model and max_len must be positive, got {}, {}",
             d_model, max_len);
  embedding = register_module("embedding", std::make_shared<Embedding>(max_len, d_model));
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
}

Tensor LearnedPositionalEncoding::forward(const Tensor& x) {
  // The first T rows of the table: the same as embedding(arange(T)), as a slice.
  return dropout->forward(add_positions("LearnedPositionalEncoding", x, embedding->weight, batch_first));
}

std::string LearnedPositionalEncoding::extra_repr() const {
  return fmt::format("max_len={}, d_model={}, batch_first={}", max_len, d_model, batch_first);
}

}  // namespace heed::nn
