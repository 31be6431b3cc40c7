// The op registry: one row per differentiable op, as data — how to call it, sample inputs,
// whether it has a double backward, the tolerances its gradient checks use. The test suite
// loops over it (gradcheck and gradgradcheck on every sample, contiguous and not) and
// docs/ops.md is generated from it, so the table and the tests cannot drift apart.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"

namespace heed {

struct OpSample {
  std::string label;           // e.g. "broadcast (3,4) + (4)"
  std::vector<Tensor> inputs;  // float64 inputs require grad; index inputs do not
};

struct OpInfo {
  std::string name;
  std::string file;                                  // where forward and backward live
  Function fn;                                       // the op applied to a sample's inputs
  std::function<std::vector<OpSample>()> samples;    // fresh inputs (drawn from the default generator)
  bool gradgrad = true;                              // has a double backward
  bool ties_break_gradient = false;                  // repeated values are kinks (max, min): no expanded inputs
  GradcheckOptions tolerance{};
};

const std::vector<OpInfo>& op_registry();

// Rows kept beside the ops they describe, merged into op_registry():
std::vector<OpInfo> conv_op_rows();      // autograd/registry_conv.cpp: convolution, pooling
std::vector<OpInfo> sequence_op_rows();  // autograd/registry_sequence.cpp: attention, recurrent cells

// docs/ops.md: one row per op with forward, backward, gradcheck, gradgradcheck, CPU and CUDA.
std::string ops_markdown();

}  // namespace heed
