// Op registry rows for the sequence ops (autograd/attention.h): scaled dot-product attention
// with and without masks, and one LSTM and one GRU cell step as functions of their inputs and
// weights. Sizes stay tiny (B ≤ 2, H = 2, T = S = 3, D = 2): gradcheck builds full Jacobians.
#include <limits>

#include "autograd/attention.h"
#include "autograd/ops.h"
#include "autograd/registry.h"
#include "tensor/random.h"

namespace heed {
namespace {

constexpr Options kF64{DType::Float64};
const std::string kFile = "autograd/ops/attention.cpp";
using V = const std::vector<Tensor>&;
using Samples = std::vector<OpSample>;

Tensor R(const Shape& s) { return randn(s, kF64).requires_grad_(); }
Tensor Bool(const std::vector<double>& v, const Shape& s) { return from_vector(v, s, {kBool}); }
// q, k, v of shape (B,2,3,2).
std::vector<Tensor> qkv(int64_t B) { return {R({B, 2, 3, 2}), R({B, 2, 3, 2}), R({B, 2, 3, 2})}; }
std::vector<Tensor> with(std::vector<Tensor> in, const Tensor& extra) {
  in.push_back(extra);
  return in;
}

OpInfo row(std::string name, Function fn, std::function<Samples()> samples) {
  return {std::move(name), kFile, std::move(fn), std::move(samples)};
}
Tensor attend(V in, AttentionOptions o) { return scaled_dot_product_attention(in[0], in[1], in[2], o).output; }

}  // namespace

std::vector<OpInfo> sequence_op_rows() {
  std::vector<OpInfo> rows;
  rows.push_back(row(
      "scaled_dot_product_attention", [](V in) { return attend(in, {}); },
      [] {
        return Samples{{"(1,2,3,2) no mask", qkv(1)}, {"(2,2,3,2) no mask", qkv(2)}};
      }));
  rows.push_back(row(
      "scaled_dot_product_attention (weights)",
      [](V in) { return scaled_dot_product_attention(in[0], in[1], in[2], {.need_weights = true}).weights; },
      [] {
        return Samples{{"(1,2,3,2)", qkv(1)}};
      }));
  rows.push_back(row(
      "scaled_dot_product_attention (causal)", [](V in) { return attend(in, {.causal = true}); },
      [] {
        return Samples{{"(2,2,3,2)", qkv(2)}};
      }));
  rows.push_back(row(
      "scaled_dot_product_attention (bool attn_mask)", [](V in) { return attend(in, {.attn_mask = in[3]}); },
      [] {
        return Samples{{"(1,2,3,2), mask (3,3)", with(qkv(1), Bool({0, 1, 0, 0, 0, 1, 1, 0, 0}, {3, 3}))}};
      }));
  rows.push_back(row(
      "scaled_dot_product_attention (float attn_mask)", [](V in) { return attend(in, {.attn_mask = in[3]}); },
      [] {
        const double inf = std::numeric_limits<double>::infinity();
        return Samples{
            {"(2,2,3,2), learned additive mask (2,1,3,3)", with(qkv(2), R({2, 1, 3, 3}))},
            {"(1,2,3,2), additive mask with -inf (3,3)",
             with(qkv(1), from_vector(std::vector<double>{0, -inf, 0.5, -1, 0, -inf, 0.3, 0.2, 0}, {3, 3}, kF64))}};
      }));
  rows.push_back(row(
      "scaled_dot_product_attention (key_padding_mask, causal)",
      [](V in) { return attend(in, {.key_padding_mask = in[3], .causal = true}); },
      [] {
        return Samples{{"(2,2,3,2), padding (2,3)", with(qkv(2), Bool({0, 0, 1, 0, 1, 1}, {2, 3}))}};
      }));
  // Batch 1's keys are all padding: its rows get zero weights and zero gradients, never NaN.
  rows.push_back(row(
      "scaled_dot_product_attention (fully masked rows)", [](V in) { return attend(in, {.key_padding_mask = in[3]}); },
      [] {
        return Samples{{"(2,2,3,2), batch 1 all padding", with(qkv(2), Bool({0, 1, 0, 1, 1, 1}, {2, 3}))}};
      }));
  rows.push_back(row(
      "scaled_dot_product_attention (dropout)",
      [](V in) {
        manual_seed(7);  // the same dropout mask on every call
        return attend(in, {.dropout_p = 0.3});
      },
      [] {
        return Samples{{"(1,2,3,2) p=0.3, fixed seed", qkv(1)}};
      }));
  // Part 1 gets no gradient: the backward must zero-fill it.
  rows.push_back(row(
      "unbind_steps",
      [](V in) {
        auto p = unbind_steps(in[0], 1);
        return p[2] * 2.0 + p[0];
      },
      [] {
        return Samples{{"(2,3,2) dim 1", {R({2, 3, 2})}}};
      }));
  rows.push_back(row(
      "split_gates",
      [](V in) {
        auto p = split_gates(in[0], 3, -1);
        return cat({p[2], p[0] * p[0]}, 0);
      },
      [] {
        return Samples{{"(2,6) into 3", {R({2, 6})}}};
      }));
  rows.push_back(row(
      "masked_softmax", [](V in) { return masked_softmax(in[0], in[1]); },
      [] {
        return Samples{{"(3,4), row 2 fully blocked", {R({3, 4}), Bool({0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1}, {3, 4})}},
                       {"(2,3,4), mask (2,1,4)", {R({2, 3, 4}), Bool({1, 0, 0, 1, 1, 1, 1, 1}, {2, 1, 4})}}};
      }));
  // The cell steps: inputs x (2,3), h (2,2) [, c (2,2)], then w_ih, w_hh, b_ih, b_hh.
  rows.push_back(row(
      "lstm_cell",
      [](V in) {
        LstmState s = lstm_cell(in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
        return cat({s.h, s.c}, 1);
      },
      [] {
        return Samples{
            {"B=2 I=3 N=2, output [h', c']", {R({2, 3}), R({2, 2}), R({2, 2}), R({8, 3}), R({8, 2}), R({8}), R({8})}}};
      }));
  rows.push_back(row(
      "gru_cell", [](V in) { return gru_cell(in[0], in[1], in[2], in[3], in[4], in[5]); },
      [] {
        return Samples{{"B=2 I=3 N=2", {R({2, 3}), R({2, 2}), R({6, 3}), R({6, 2}), R({6}), R({6})}}};
      }));
  return rows;
}

}  // namespace heed
