// What the device backend (cuda/device_backend.cpp) asks of a device, in plain data: memory,
// copies to and from the host, and one call per kernel. Two implementations: the GPU's
// (cuda/backend.cu: CUDA kernels, cudaMalloc, cuBLAS) and the host emulator's
// (cuda/emulator.cpp: the same kernel bodies run one index at a time on the CPU), so every
// line between a Tensor and a kernel is tested on machines without a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/caching_allocator.h"
#include "tensor/dtype.h"
#include "tensor/functors.h"
#include "tensor/layout.h"

namespace heed::kernels {

// Pointers below are device pointers to the first element of each operand; strides in a
// Layout are in bytes.
struct CopyArgs { Layout<2> l; char* out; DType out_dtype; char* in; DType in_dtype; };
struct FillArgs { Layout<1> l; char* out; DType dtype; double value; };
struct UnaryArgs { Layout<2> l; char* out; char* x; DType dtype; UnaryOp op; double a, b; };
struct BinaryArgs { Layout<3> l; char* out; char* x; char* y; DType dtype; BinaryOp op; };  // dtype of x and y
struct WhereArgs { Layout<4> l; char* out; char* cond; char* x; char* y; DType dtype; };
// One output per element of `kept` (out, x); each combines the elements of `reduced` (x) from there.
struct ReduceArgs {
  Layout<2> kept;
  Layout<1> reduced;
  char *out, *x;
  DType dtype;
  ReduceOp op;
};
// Index (int64) of the first max or min among `len` elements `step` bytes apart.
struct ArgReduceArgs { Layout<2> kept; int64_t len, step; char* out; char* x; DType dtype; ReduceOp op; };
struct SoftmaxArgs { int64_t rows, cols; char* out; char* x; DType dtype; bool log; };  // contiguous rows
struct RfftArgs { int64_t rows, n; char* out; char* x; DType dtype; };  // out: rows × (n/2 + 1) × 2, contiguous
// Walks `l` over the output (select, gather) or the source (add): operand 0 is the one walked,
// operand 1 the other with a stride of 0 in `dim`; `step` is that operand's byte stride in `dim`.
// index_*: the index is 1-D (`index_stride` bytes), element i uses index[(i / inner) % n].
struct IndexArgs {
  Layout<2> l;
  char *walked, *other, *index;
  int64_t index_stride, inner, n, step;
  DType dtype;
};
// gather / scatter_add: l walks (out or out with 0 in dim, index, x or src) over the index's shape.
struct GatherArgs { Layout<3> l; char* out; char* index; char* x; int64_t step; DType dtype; };
enum class Distribution : uint8_t { Uniform, Normal };
struct RandomArgs { char* out; int64_t n; DType dtype; Distribution dist; uint64_t seed, offset; double a, b; };
// out = x · (kept ? scale : 0); element i kept when Philox word i's top 24 bits < threshold.
struct DropoutArgs {
  char *out, *x;
  int64_t n;
  DType dtype;
  uint64_t seed, offset;
  uint32_t threshold;
  double scale;
};
// Layer norm over contiguous rows (rows, cols): y, mean, rstd out; weight and bias may be null.
// Backward: dx from dy; dweight and dbias (each may be null) as column sums.
struct LayerNormArgs {
  int64_t rows, cols;
  double eps;
  char *x, *weight, *bias, *y, *mean, *rstd;      // forward
  char *dy, *dx, *dweight, *dbias;                // backward
  DType dtype;
};
// One LSTM step after the GEMMs (tensor/backend.h): contiguous gates (batch, 4·hidden) and
// (batch, hidden) states. Forward writes the activated gates, c_next, tanh_c and h_next;
// backward writes dgates and dc.
struct LstmArgs {
  int64_t batch, hidden;
  char *gates, *c, *c_next, *tanh_c, *h_next;      // forward
  char *dh_next, *dc_next, *dgates, *dc;          // backward
  DType dtype;
};
// Attention without the (T,S) weights in memory. Strides in elements: q, k, v, out, dout, dq,
// dk, dv by (batch, head, row) with a unit stride inside a row; the masks (may be null) by
// (batch, head, query, key). lse and delta are contiguous (B,H,T). Dropout keeps element
// ((b·H + h)·T + t)·S + s of the Philox stream when its top 24 bits < threshold.
struct FlashArgs {
  int64_t B, H, T, S, D, Dv;
  char *q, *k, *v, *out, *lse, *dout, *delta, *dq, *dk, *dv;
  int64_t q_st[3], k_st[3], v_st[3], out_st[3], dout_st[3], dq_st[3], dk_st[3], dv_st[3];
  char *blocked, *additive;  // uint8 (1 = masked out); added to the scores
  int64_t blocked_st[4], additive_st[4];
  bool causal;
  double scale;
  bool dropout;
  uint64_t seed, offset;
  uint32_t threshold;
  double kept_scale;
  DType dtype;
};
// One Adam / AdamW step: l walks (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq).
struct AdamArgs {
  Layout<5> l;
  char *param, *grad, *exp_avg, *exp_avg_sq, *max_exp_avg_sq;
  fn::AdamUpdate update;
  DType dtype;
};
// Column-major GEMM, as BLAS reads it: C (m×n, ldc) = op(A) (m×k) · op(B) (k×n), `batch` times,
// operand i of the batch at A + i·stride_a (elements; 0 repeats one matrix).
struct GemmArgs {
  bool trans_a, trans_b;
  int64_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c, batch;
  char* a; char* b; char* c;
  DType dtype;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual const char* name() const = 0;
  virtual int device_count() const = 0;
  virtual std::string unavailable_reason() const { return ""; }  // why device_count() is 0
  virtual void* allocate(size_t nbytes, int device) = 0;
  virtual void deallocate(void* ptr, size_t nbytes, int device) = 0;
  virtual void empty_cache(int device) = 0;
  virtual MemoryStats memory_stats(int device) const = 0;
  virtual void reset_peak_memory(int device) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void set_device(int device) = 0;  // the device later kernels run on

  virtual void copy(const CopyArgs& a) = 0;
  virtual void fill(const FillArgs& a) = 0;
  virtual void unary(const UnaryArgs& a) = 0;
  virtual void binary(const BinaryArgs& a) = 0;
  virtual void where(const WhereArgs& a) = 0;
  virtual void reduce(const ReduceArgs& a) = 0;
  virtual void arg_reduce(const ArgReduceArgs& a) = 0;
  virtual void softmax(const SoftmaxArgs& a) = 0;
  virtual void rfft(const RfftArgs& a) = 0;  // float32 or float64
  virtual void index_select(const IndexArgs& a) = 0;
  virtual void index_add(const IndexArgs& a) = 0;
  virtual void gather(const GatherArgs& a) = 0;
  virtual void scatter_add(const GatherArgs& a) = 0;
  virtual void random(const RandomArgs& a) = 0;
  virtual void dropout(const DropoutArgs& a) = 0;
  virtual void gemm(const GemmArgs& a) = 0;  // any dtype
  virtual void layer_norm_forward(const LayerNormArgs& a) = 0;
  virtual void layer_norm_backward(const LayerNormArgs& a) = 0;
  virtual void lstm_cell_forward(const LstmArgs& a) = 0;
  virtual void lstm_cell_backward(const LstmArgs& a) = 0;
  virtual void adam_step(const AdamArgs& a) = 0;
  virtual void flash_attention_forward(const FlashArgs& a) = 0;
  virtual void flash_attention_backward(const FlashArgs& a) = 0;  // delta: scratch the kernel fills
};

}  // namespace heed::kernels
