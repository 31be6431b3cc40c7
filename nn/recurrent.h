// nn::LSTM and nn::GRU: multi-layer, optionally bidirectional recurrent layers, parameter for
// parameter compatible with torch.nn.LSTM / torch.nn.GRU (names, shapes, gate order, init), so a
// PyTorch state dict loads unchanged. The cell formulas are in autograd/attention.h:
//   LSTM (Hochreiter & Schmidhuber 1997): gates (i, f, g, o),
//     c' = σ(f)⊙c + σ(i)⊙tanh(g),  h' = σ(o)⊙tanh(c')
//   GRU (Cho et al. 2014, https://arxiv.org/abs/1406.1078): gates (r, z, n),
//     n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn)),  h' = (1 − z)⊙n + z⊙h
// Per layer and direction, the input projection x·W_ihᵀ + b for all T steps is one GEMM hoisted
// out of the time loop; each step then costs one GEMM h·W_hhᵀ for all gates. Composed from
// differentiable ops, so any device and double backward work; not a fused (cuDNN) kernel.
//
// Shape legend: T time steps, B batch, I input_size, N hidden_size, L num_layers,
// D directions (2 when bidirectional, else 1).
//   x (T,B,I), or (B,T,I) with batch_first, or (T,I) unbatched
//   output (T,B,D·N) / (B,T,D·N) / (T,D·N): the last layer's h at every step, directions concatenated
//   h_n, c_n (L·D,B,N) / (L·D,N) unbatched: the final states, row l·D + d for layer l, direction d
//     (the reverse direction's final state is the one after reading step 0)
// Parameters, for layer l and suffix "" or "_reverse" (G = 4 for LSTM, 3 for GRU):
//   weight_ih_l{l} (G·N, I or D·N), weight_hh_l{l} (G·N, N), bias_ih_l{l}, bias_hh_l{l} (G·N)
// all initialised U(−1/√N, 1/√N), as PyTorch does.
//
//   nn::LSTM lstm(16, 64, /*num_layers=*/2, /*bias=*/true, /*batch_first=*/true);
//   auto [y, state] = lstm.forward(x);  // x (B,T,16) -> y (B,T,64); state.h, state.c (2,B,64)
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "nn/module.h"

namespace heed::nn {

// What LSTM and GRU share: the parameters and the loop over layers, directions and steps.
class RecurrentBase : public Module {
 public:
  // The parameters of one layer and direction (biases undefined when built without bias).
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  const Weights& weights(int64_t layer, int64_t direction) const;
  int64_t num_directions() const { return bidirectional ? 2 : 1; }
  std::string extra_repr() const override;
  void reset_parameters();  // U(−1/√N, 1/√N) for every parameter, in registration order

  const int64_t input_size, hidden_size, num_layers;
  const bool bias, batch_first;
  const double dropout;  // on the outputs of every layer but the last, in training
  const bool bidirectional;

 protected:
  RecurrentBase(const char* type, int64_t gates, int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias,
                bool batch_first, double dropout, bool bidirectional);

  // One step of one direction: x_proj (B,G·N) = x_t·W_ihᵀ + input bias, the state tensors
  // (B,N) each (state[0] is h) -> the next state.
  using Step =
      std::function<std::vector<Tensor>(const Tensor& x_proj, const std::vector<Tensor>& state, const Weights& w)>;
  struct Run {
    Tensor output;              // (T,B,D·N), or as the input was laid out
    std::vector<Tensor> final;  // per state tensor: (L·D,B,N) or (L·D,N)
  };
  // x as the user gave it; initial: one entry per state tensor, each (L·D,B,N) / (L·D,N) or
  // undefined (zeros). fold_hh_bias: add b_hh into the hoisted projection (LSTM; not GRU,
  // whose b_hn sits inside r⊙(…)).
  Run run(const Tensor& x, const std::vector<Tensor>& initial, bool fold_hh_bias, const Step& step);

 private:
  const int64_t gates_;
  std::vector<Weights> weights_;  // index l·D + d
};

class LSTM : public RecurrentBase {
 public:
  struct State {
    Tensor h;  // (L·D,B,N), or (L·D,N) unbatched
    Tensor c;  // same
  };
  struct Output {
    Tensor output;  // (T,B,D·N) / (B,T,D·N) / (T,D·N)
    State state;    // (h_n, c_n)
  };

  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bias = true, bool batch_first = false,
       double dropout = 0.0, bool bidirectional = false);
  // initial: (h_0, c_0); either may be undefined (zeros).
  Output forward(const Tensor& x, const State& initial);
  Tensor forward(const Tensor& x) override;  // output only, zero initial state
};

class GRU : public RecurrentBase {
 public:
  struct Output {
    Tensor output;  // (T,B,D·N) / (B,T,D·N) / (T,D·N)
    Tensor h_n;     // (L·D,B,N) / (L·D,N)
  };

  GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bias = true, bool batch_first = false,
      double dropout = 0.0, bool bidirectional = false);
  // h_0 (L·D,B,N) / (L·D,N), or undefined (zeros).
  Output forward(const Tensor& x, const Tensor& h_0);
  Tensor forward(const Tensor& x) override;  // output only, zero initial state
};

}  // namespace heed::nn
