// The CPU backend's fused kernels (contracts in tensor/backend.h; code in fused.cpp).
#pragma once
#include "tensor/backend.h"

namespace heed::cpu {

void dropout(const Tensor& x, const Tensor& out, double p, uint64_t seed, uint64_t offset);
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd);
void layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                         const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias);
void attention_forward(const AttentionArgs& args, const Tensor& probs, const Tensor& out);
void attention_backward(const AttentionArgs& args, const Tensor& probs, const Tensor& dout, const Tensor& dprobs,
                        const Tensor& dq, const Tensor& dk, const Tensor& dv);

}  // namespace heed::cpu
