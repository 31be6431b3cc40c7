// nn::init: initialisers that overwrite a parameter's values in place, as torch.nn.init does.
// Each draws from heed's default generator (tensor/random.h), so manual_seed(s) reproduces the
// same weights, and writes under a NoGradGuard into the tensor's own memory: every holder of
// the handle (a module, an optimizer) sees the new values, and a leaf stays a leaf.
//
// Fans follow PyTorch: for a weight (out, in, k…), fan_in = in·∏k and fan_out = out·∏k.
// Gains follow torch.nn.init.calculate_gain. Formulas:
//   xavier_uniform_:  U(−a, a),  a = gain·√(6 / (fan_in + fan_out))      (Glorot & Bengio, 2010)
//   xavier_normal_:   N(0, std), std = gain·√(2 / (fan_in + fan_out))
//   kaiming_uniform_: U(−b, b),  b = gain·√(3 / fan)                      (He et al., 2015)
//   kaiming_normal_:  N(0, std), std = gain / √fan
// These are not differentiable ops: they record nothing in the graph.
#pragma once
#include <optional>
#include <string>
#include <utility>

#include "tensor/tensor.h"

namespace heed::nn::init {

enum class FanMode { FanIn, FanOut };

// (fan_in, fan_out) of a weight of at least 2 dims.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);
// The recommended gain for a nonlinearity: "linear", "conv1d/2d/3d", "sigmoid" -> 1,
// "tanh" -> 5/3, "relu" -> √2, "leaky_relu" -> √(2 / (1 + slope²)) (slope defaults to 0.01),
// "selu" -> 3/4.
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);

// Each returns its argument (the same handle) after writing into it.
Tensor uniform_(const Tensor& t, double lo = 0.0, double hi = 1.0);
Tensor normal_(const Tensor& t, double mean = 0.0, double std = 1.0);
Tensor constant_(const Tensor& t, double value);
Tensor zeros_(const Tensor& t);
Tensor ones_(const Tensor& t);
Tensor xavier_uniform_(const Tensor& t, double gain = 1.0);
Tensor xavier_normal_(const Tensor& t, double gain = 1.0);
// a: the negative slope of the leaky_relu that follows (used only for "leaky_relu").
Tensor kaiming_uniform_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        const std::string& nonlinearity = "leaky_relu");
Tensor kaiming_normal_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                       const std::string& nonlinearity = "leaky_relu");

}  // namespace heed::nn::init
