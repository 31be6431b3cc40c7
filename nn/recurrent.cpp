// nn::LSTM and nn::GRU (see recurrent.h).
// Shape legend: T time, B batch, I input, N hidden, L layers, D directions, G gates.
#include "nn/recurrent.h"

#include <cmath>

#include "autograd/attention.h"
#include "nn/init.h"

namespace heed::nn {

RecurrentBase::RecurrentBase(const char* type, int64_t gates, int64_t input_size_, int64_t hidden_size_,
                             int64_t num_layers_, bool bias_, bool batch_first_, double dropout_, bool bidirectional_)
    : Module(type),
      input_size(input_size_),
      hidden_size(hidden_size_),
      num_layers(num_layers_),
      bias(bias_),
      batch_first(batch_first_),
      dropout(dropout_),
      bidirectional(bidirectional_),
      gates_(gates) {
  HEED_CHECK(input_size > 0 && hidden_size > 0 && num_layers > 0,
             "{}: input_size, hidden_size and num_layers must be positive, got {}, {}, {}", type, input_size,
             hidden_size, num_layers);
  HEED_CHECK(dropout >= 0 && dropout < 1, "{}: dropout must be in [0, 1), got {}", type, dropout);
  const int64_t G = gates * hidden_size;
  for (int64_t l = 0; l < num_layers; ++l)
    for (int64_t d = 0; d < num_directions(); ++d) {
      const std::string suffix = fmt::format("_l{}{}", l, d == 1 ? "_reverse" : "");
      const int64_t in = l == 0 ? input_size : num_directions() * hidden_size;
      Weights w;
      w.w_ih = register_parameter("weight_ih" + suffix, empty({G, in}));
      w.w_hh = register_parameter("weight_hh" + suffix, empty({G, hidden_size}));
      if (bias) {
        w.b_ih = register_parameter("bias_ih" + suffix, empty({G}));
        w.b_hh = register_parameter("bias_hh" + suffix, empty({G}));
      }
      weights_.push_back(w);
    }
  reset_parameters();
}

void RecurrentBase::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const Tensor& p : parameters(false)) init::uniform_(p, -bound, bound);
}

const RecurrentBase::Weights& RecurrentBase::weights(int64_t layer, int64_t direction) const {
  HEED_CHECK(layer >= 0 && layer < num_layers && direction >= 0 && direction < num_directions(),
             "{}: no layer {} direction {} (num_layers {}, directions {})", type_name(), layer, direction, num_layers,
             num_directions());
  return weights_[static_cast<size_t>(layer * num_directions() + direction)];
}

std::string RecurrentBase::extra_repr() const {
  return fmt::format(
      "input_size={}, hidden_size={}, num_layers={}, bias={}, batch_first={}, dropout={}, "
      "bidirectional={}",
      input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional);
}

RecurrentBase::Run RecurrentBase::run(const Tensor& x, const std::vector<Tensor>& initial, bool fold_hh_bias,
                                      const Step& step) {
  const char* layer = type_name().c_str();
  const Tensor& w0 = weights_[0].w_ih;
  HEED_CHECK(x.dim() == 2 || x.dim() == 3, "{}: input must be (T,B,I), (B,T,I) with batch_first, or (T,I); got {}",
             layer, x.shape());
  HEED_CHECK(x.size(-1) == input_size, "{}: input's last dim must be input_size = {}, got input shape {}", layer,
             input_size, x.shape());
  HEED_CHECK(x.dtype() == w0.dtype(), "{}: input is {}, parameters are {}; move one with to()", layer, x.dtype(),
             w0.dtype());
  const bool unbatched = x.dim() == 2;
  // Time-major (T,B,I) views; the batch_first transpose is a view, not a copy.
  Tensor seq = unbatched ? x.unsqueeze(1) : batch_first ? x.transpose(0, 1) : x;
  const int64_t T = seq.size(0), B = seq.size(1), N = hidden_size, LD = num_layers * num_directions();
  HEED_CHECK(T > 0, "{}: input has no time steps (shape {})", layer, x.shape());
  const Shape state_shape = unbatched ? Shape{LD, N} : Shape{LD, B, N};
  // Per state tensor, per layer·direction: the (B,N) starting state.
  std::vector<std::vector<Tensor>> start(initial.size());
  for (size_t k = 0; k < initial.size(); ++k) {
    const Tensor& s = initial[k];
    if (!s.defined()) {
      start[k].assign(static_cast<size_t>(LD), zeros({B, N}, {w0.dtype(), w0.device()}));
      continue;
    }
    HEED_CHECK(s.shape() == state_shape, "{}: initial state {} has shape {}, expected (L·D,{}N) = {}", layer, k,
               s.shape(), unbatched ? "" : "B,", state_shape);
    HEED_CHECK(s.dtype() == w0.dtype(), "{}: initial state is {}, parameters are {}", layer, s.dtype(), w0.dtype());
    start[k] = unbind_steps(unbatched ? s.unsqueeze(1) : s, 0);
  }

  std::vector<std::vector<Tensor>> final(initial.size());
  for (int64_t l = 0; l < num_layers; ++l) {
    std::vector<Tensor> directions;
    for (int64_t d = 0; d < num_directions(); ++d) {
      const Weights& w = weights(l, d);
      Tensor in_bias = fold_hh_bias && w.b_ih.defined() ? w.b_ih + w.b_hh : w.b_ih;
      Tensor x_proj = matmul(seq, w.w_ih.t());  // (T,B,G·N): every step's input projection, one GEMM
      if (in_bias.defined()) x_proj = x_proj + in_bias;
      std::vector<Tensor> x_steps = unbind_steps(x_proj, 0);  // T × (B,G·N)
      std::vector<Tensor> state;
      for (auto& s : start) state.push_back(s[static_cast<size_t>(l * num_directions() + d)]);
      std::vector<Tensor> hs(static_cast<size_t>(T));
      for (int64_t i = 0; i < T; ++i) {
        const size_t t = static_cast<size_t>(d == 0 ? i : T - 1 - i);
        state = step(x_steps[t], state, w);
        hs[t] = state[0];
      }
      directions.push_back(stack(hs, 0));  // (T,B,N)
      for (size_t k = 0; k < state.size(); ++k) final[k].push_back(state[k]);
    }
    seq = directions.size() == 1 ? directions[0] : cat(directions, -1);  // (T,B,D·N)
    if (l + 1 < num_layers) seq = heed::dropout(seq, dropout, is_training());
  }
  Run out;
  out.output = unbatched ? seq.squeeze(1) : batch_first ? seq.transpose(0, 1) : seq;
  for (auto& f : final) {
    Tensor s = stack(f, 0);  // (L·D,B,N)
    out.final.push_back(unbatched ? s.squeeze(1) : s);
  }
  return out;
}

// ---- LSTM ----
LSTM::LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias, bool batch_first, double dropout,
           bool bidirectional)
    : RecurrentBase("LSTM", 4, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional) {}

LSTM::Output LSTM::forward(const Tensor& x, const State& initial) {
  // b_hh is folded into the hoisted projection: x_proj = x·W_ihᵀ + b_ih + b_hh.
  Run r =
      run(x, {initial.h, initial.c}, true, [](const Tensor& x_proj, const std::vector<Tensor>& s, const Weights& w) {
        LstmState next = lstm_step(x_proj, s[0], s[1], w.w_hh);
        return std::vector<Tensor>{next.h, next.c};
      });
  return {r.output, {r.final[0], r.final[1]}};
}

Tensor LSTM::forward(const Tensor& x) { return forward(x, State{}).output; }

// ---- GRU ----
GRU::GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias, bool batch_first, double dropout,
         bool bidirectional)
    : RecurrentBase("GRU", 3, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional) {}

GRU::Output GRU::forward(const Tensor& x, const Tensor& h_0) {
  Run r = run(x, {h_0}, false, [](const Tensor& x_proj, const std::vector<Tensor>& s, const Weights& w) {
    return std::vector<Tensor>{gru_step(x_proj, s[0], w.w_hh, w.b_hh)};
  });
  return {r.output, r.final[0]};
}

Tensor GRU::forward(const Tensor& x) { return forward(x, Tensor()).output; }

}  // namespace heed::nn
