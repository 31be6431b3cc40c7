// The CPU backend's fused kernels (contracts in tensor/backend.h; code in fused.cpp).
#pragma once
#include "tensor/backend.h"

namespace heed::cpu {

// gelu (erf form) over a float row through tensor/cpu/vmath.h, and its backward g·gelu'(x).
void gelu_float(const float* x, float* out, int64_t n);
void gelu_backward_float(const float* g, const float* x, float* out, int64_t n);
void dropout(const Tensor& x, const Tensor& out, double p, uint64_t seed, uint64_t offset);
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd);
void layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                         const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias);
void lstm_cell_forward(const Tensor& gates, const Tensor& c, const Tensor& c_next, const Tensor& tanh_c,
                       const Tensor& h_next);
void lstm_cell_backward(const Tensor& gates, const Tensor& c, const Tensor& tanh_c, const Tensor& dh_next,
                        const Tensor& dc_next, const Tensor& dgates, const Tensor& dc);
void attention_forward(const AttentionArgs& args, const Tensor& probs, const Tensor& out);
void attention_backward(const AttentionArgs& args, const Tensor& probs, const Tensor& dout, const Tensor& dprobs,
                        const Tensor& dq, const Tensor& dk, const Tensor& dv);

}  // namespace heed::cpu
