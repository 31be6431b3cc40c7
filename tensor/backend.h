// The Backend interface: the few primitive kernels a device must provide. Every op in heed is
// built from these (tensor/ops.cpp); a new device implements this class once and registers it.
// Arguments are already checked and shaped by the caller: outputs are allocated, inputs of
// elementwise kernels are expanded (stride 0) to the output's shape, dtypes are settled.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/memory.h"
#include "tensor/functors.h"
#include "tensor/tensor.h"

namespace heed {

enum class RandomKind : uint8_t { Uniform, Normal };
// Attention: the kernels below that keep the (B,H,T,S) weights; FlashAttention: the ones that
// never hold them (only a log-sum-exp per query), which serve when the weights are not asked for.
enum class FusedKernel : uint8_t { LayerNorm, LstmStep, Attention, FlashAttention, AdamStep };

// Scaled dot-product attention for the fused kernels below. Shape legend: B batch, H heads,
// T queries, S keys, D head size, Dv value head size.
struct AttentionArgs {
  Tensor q, k, v;         // (B,H,T,D), (B,H,S,D), (B,H,S,Dv); unit stride in the last dim
  Tensor blocked;         // undefined, or uint8 expanded to (B,H,T,S) (0 strides allowed): 1 = masked out
  Tensor additive;        // undefined, or q's dtype expanded to (B,H,T,S): added to the scores (−inf masks)
  bool causal = false;    // key s is masked out for query t when s > t
  double scale = 1;       // scores = scale · q·kᵀ
  double dropout_p = 0;   // on the weights: element i of (B,H,T,S) is kept when
  uint64_t seed = 0;      // philox::uniform(seed, offset, i) < 1 − dropout_p, as dropout() draws
  uint64_t offset = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Memory, on device number `device` of this backend's kind.
  virtual void* allocate(size_t nbytes, int device) = 0;
  virtual void deallocate(void* ptr, size_t nbytes, int device) = 0;  // nbytes as allocated
  virtual void empty_cache(int device) = 0;                            // cached blocks back to the system
  virtual MemoryStats memory_stats(int device) const = 0;
  virtual void reset_peak_memory(int device) = 0;
  // Copies bytes between host memory and this device (both directions).
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;

  // dst = src, elementwise, any strides, converting dtype. Same shape, same device.
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;
  virtual void fill(const Tensor& dst, double value) = 0;
  // out = op(x) with parameters a, b. x has out's dtype.
  virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) = 0;
  // out = op(x, y); x and y share a dtype; out is uint8 for comparisons.
  virtual void binary(BinaryOp op, const Tensor& x, const Tensor& y, const Tensor& out) = 0;
  // out = cond ? x : y (cond uint8).
  virtual void where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) = 0;
  // out has x's dims, with size 1 in every reduced dim.
  virtual void reduce(ReduceOp op, const Tensor& x, const Tensor& out) = 0;
  // out (int64) = index of the max (or min) along `dim`; out has size 1 in `dim`.
  virtual void arg_reduce(ReduceOp op, const Tensor& x, int64_t dim, const Tensor& out) = 0;
  // Batched matrix product: a [B, M, K] · b [B, K, N] -> out [B, M, N] (out contiguous).
  // a and b each have a unit stride in one of their last two dims; batch strides may be 0.
  virtual void gemm(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // Softmax (or log-softmax) over the last dim of a contiguous x into contiguous out.
  virtual void softmax(const Tensor& x, const Tensor& out, bool log) = 0;
  // Real-input DFT over the last dim of a contiguous x (rows × n) into a contiguous out
  // (rows × (n/2 + 1) × 2: real and imaginary parts), unnormalised, as numpy.fft.rfft.
  virtual void rfft(const Tensor& x, const Tensor& out) = 0;
  // out = x.index_select(dim, index); index int64, 1-D, already range-checked.
  virtual void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) = 0;
  // out.index_select(dim, index) += src  (repeated indices accumulate).
  virtual void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) = 0;
  // out[i][j][k] = x[i][index[i][j][k]][k] for dim 1, etc.; index has out's shape.
  virtual void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) = 0;
  // out[i][index[i][j][k]][k] += src[i][j][k] for dim 1, etc.
  virtual void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) = 0;
  // Fills a contiguous floating `out` from the Philox stream (tensor/philox.h):
  // Uniform in [a, b), Normal with mean a and std b.
  virtual void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a,
                      double b) = 0;
  // out = x · (kept ? 1/(1−p) : 0) for contiguous floating x and out, element i kept when
  // philox::uniform(seed, offset, i) < 1 − p (the stream bernoulli() draws).
  virtual void dropout(const Tensor& x, const Tensor& out, double p, uint64_t seed, uint64_t offset) = 0;

  // ---- fused kernels: optional; callers fall back to composed ops when has_fused(kernel) is false.
  virtual bool has_fused(FusedKernel) const { return false; }
  // Layer norm over the last dim of contiguous x (R,C): y = (x − mean)·rstd·weight + bias, with
  // mean and rstd (R) saved for the backward; weight and bias (C) may be undefined.
  virtual void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                                  const Tensor& y, const Tensor& mean, const Tensor& rstd);
  // dx (R,C) and, when defined, dweight and dbias (C) from dy (R,C), all contiguous.
  virtual void layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias);
  // One LSTM step after the GEMMs: gates (B,4N) holds the pre-activations i, f, g, o and is
  // overwritten with σ(i), σ(f), tanh(g), σ(o); c_next = σf·c + σi·tanh g, tanh_c = tanh(c_next),
  // h_next = σo·tanh_c. All contiguous.
  virtual void lstm_cell_forward(const Tensor& gates, const Tensor& c, const Tensor& c_next, const Tensor& tanh_c,
                                 const Tensor& h_next);
  // From the saved activations and the gradients at h_next and c_next: dgates (B,4N), the
  // gradient at the pre-activations, and dc (B,N), the gradient at c.
  virtual void lstm_cell_backward(const Tensor& gates, const Tensor& c, const Tensor& tanh_c, const Tensor& dh_next,
                                  const Tensor& dc_next, const Tensor& dgates, const Tensor& dc);
  // probs (B,H,T,S), contiguous: the softmax weights before dropout (a fully masked row is all
  // zeros); out (B,H,T,Dv), unit stride in the last dim.
  virtual void attention_forward(const AttentionArgs& args, const Tensor& probs, const Tensor& out);
  // dq, dk, dv shaped as q, k, v (unit last stride) from dout (B,H,T,Dv); dprobs (undefined, or
  // contiguous (B,H,T,S)) is a gradient arriving at the weights themselves.
  virtual void attention_backward(const AttentionArgs& args, const Tensor& probs, const Tensor& dout,
                                  const Tensor& dprobs, const Tensor& dq, const Tensor& dk, const Tensor& dv);
  // One Adam / AdamW step (fn::AdamUpdate) over a parameter, its gradient and its state, all of
  // one shape, floating dtype and device (max_exp_avg_sq undefined unless amsgrad), in one pass.
  virtual void adam_step(const fn::AdamUpdate& update, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                         const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq);
  // out (B,H,T,Dv, unit last stride) and lse (B,H,T, contiguous): log Σ_s exp(score) over the
  // keys a query attends to (−inf for a query with none: its output is 0). No (T,S) matrix is
  // stored; the backward recomputes the weights from lse.
  virtual void flash_attention_forward(const AttentionArgs& args, const Tensor& out, const Tensor& lse);
  // dq, dk, dv shaped as q, k, v (unit last stride) from dout (unit last stride); out and lse
  // as the forward wrote them.
  virtual void flash_attention_backward(const AttentionArgs& args, const Tensor& out, const Tensor& lse,
                                        const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv);
};

Backend& backend_for(Device device);
void register_backend(Device::Kind kind, Backend* backend);
bool has_backend(Device::Kind kind);

}  // namespace heed
