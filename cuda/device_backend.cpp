#include "cuda/device_backend.h"

#include <cmath>

#include "tensor/backend.h"
#include "tensor/make_layout.h"
#include "tensor/ops.h"

namespace heed::cuda {
namespace {

using namespace kernels;

char* ptr(const Tensor& t) { return static_cast<char*>(t.raw_data()); }
char* ptr_or_null(const Tensor& t) { return t.defined() ? ptr(t) : nullptr; }

// t viewed with another shape and strides (same storage, offset and dtype).
Tensor alias(const Tensor& t, const Shape& shape, const Shape& strides) {
  return raw::as_strided(t, shape, strides, t.offset());
}

// t's strides with the one of `dim` set to 0.
Shape zero_stride(const Tensor& t, int64_t dim) {
  Shape s = t.strides();
  s[dim] = 0;
  return s;
}

int64_t inner_numel(const Tensor& t, int64_t dim) {
  int64_t n = 1;
  for (int64_t d = dim + 1; d < t.dim(); ++d) n *= t.shape()[d];
  return n;
}

class DeviceBackend final : public Backend {
 public:
  explicit DeviceBackend(Launcher& launcher) : k_(launcher) {}
  const char* name() const override { return k_.name(); }

  void* allocate(size_t nbytes, int device) override { return k_.allocate(nbytes, checked(device)); }
  void deallocate(void* p, size_t nbytes, int device) override { k_.deallocate(p, nbytes, device); }
  void empty_cache(int device) override { k_.empty_cache(checked(device)); }
  MemoryStats memory_stats(int device) const override { return k_.memory_stats(checked(device)); }
  void reset_peak_memory(int device) override { k_.reset_peak_memory(checked(device)); }
  void copy_from_host(void* dst, const void* src, size_t nbytes) override { k_.copy_from_host(dst, src, nbytes); }
  void copy_to_host(void* dst, const void* src, size_t nbytes) override { k_.copy_to_host(dst, src, nbytes); }

  void copy(const Tensor& src, const Tensor& dst) override {
    on(dst);
    k_.copy({make_layout<2>(dst.shape(), {&dst, &src}), ptr(dst), dst.dtype(), ptr(src), src.dtype()});
  }
  void fill(const Tensor& dst, double value) override {
    on(dst);
    k_.fill({make_layout<1>(dst.shape(), {&dst}), ptr(dst), dst.dtype(), value});
  }
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) override {
    on(out);
    k_.unary({make_layout<2>(out.shape(), {&out, &x}), ptr(out), ptr(x), out.dtype(), op, a, b});
  }
  void binary(BinaryOp op, const Tensor& x, const Tensor& y, const Tensor& out) override {
    on(out);
    k_.binary({make_layout<3>(out.shape(), {&out, &x, &y}), ptr(out), ptr(x), ptr(y), x.dtype(), op});
  }
  void where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) override {
    on(out);
    k_.where({make_layout<4>(out.shape(), {&out, &cond, &x, &y}), ptr(out), ptr(cond), ptr(x), ptr(y), out.dtype()});
  }

  void reduce(ReduceOp op, const Tensor& x, const Tensor& out) override {
    on(out);
    const ReduceDims d = split_reduce_dims(x, out);
    const Tensor xk = alias(x, d.kept_shape, d.kept_x), ok = alias(out, d.kept_shape, d.kept_out),
                 xr = alias(x, d.reduced_shape, d.reduced_x);
    k_.reduce({make_layout<2>(d.kept_shape, {&ok, &xk}), make_layout<1>(d.reduced_shape, {&xr}), ptr(out), ptr(x),
               x.dtype(), op});
  }
  void arg_reduce(ReduceOp op, const Tensor& x, int64_t dim, const Tensor& out) override {
    on(out);
    Shape shape = x.shape();
    const int64_t len = shape[dim], step = x.strides()[dim] * static_cast<int64_t>(dtype_size(x.dtype()));
    shape[dim] = 1;
    const Tensor xk = alias(x, shape, x.strides()), ok = alias(out, shape, out.strides());
    k_.arg_reduce({make_layout<2>(shape, {&ok, &xk}), len, step, ptr(out), ptr(x), x.dtype(), op});
  }

  void gemm(const Tensor& a, const Tensor& b, const Tensor& out) override {
    on(out);
    const int64_t batch = out.shape()[0], M = out.shape()[1], N = out.shape()[2], K = a.shape()[2];
    if (M == 0 || N == 0 || batch == 0) return;
    if (K == 0) return fill(out, 0);
    const Tensor A = blas_ready(a), B = blas_ready(b);
    const BlasMatrix la = blas_matrix(A), lb = blas_matrix(B);
    // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: B's memory read column-major is Bᵀ when B is
    // row-major, so B goes first, untransposed, and likewise A.
    GemmArgs g{};
    g.trans_a = lb.trans;
    g.trans_b = la.trans;
    g.m = N;
    g.n = M;
    g.k = K;
    g.lda = lb.ld;
    g.ldb = la.ld;
    g.ldc = N;
    g.stride_a = B.strides()[0];
    g.stride_b = A.strides()[0];
    g.stride_c = M * N;
    g.batch = batch;
    g.a = ptr(B);
    g.b = ptr(A);
    g.c = ptr(out);
    g.dtype = out.dtype();
    k_.gemm(g);
  }

  void softmax(const Tensor& x, const Tensor& out, bool log) override {
    on(out);
    const int64_t cols = x.dim() == 0 ? 1 : x.shape().back();
    const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
    k_.softmax({rows, cols, ptr(out), ptr(x), x.dtype(), log});
  }

  void rfft(const Tensor& x, const Tensor& out) override {
    on(out);
    const int64_t n = x.shape().back();
    k_.rfft({x.numel() / n, n, ptr(out), ptr(x), x.dtype()});
  }

  void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) override {
    on(out);
    const Tensor other = alias(x, out.shape(), zero_stride(x, dim));
    k_.index_select({make_layout<2>(out.shape(), {&out, &other}), ptr(out), ptr(x), ptr(index), index_stride(index),
                     inner_numel(out, dim), index.numel(), step(x, dim), x.dtype()});
  }
  void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override {
    on(out);
    const Tensor other = alias(out, src.shape(), zero_stride(out, dim));
    k_.index_add({make_layout<2>(src.shape(), {&src, &other}), ptr(src), ptr(out), ptr(index), index_stride(index),
                  inner_numel(src, dim), index.numel(), step(out, dim), out.dtype()});
  }
  void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) override {
    on(out);
    const Tensor xv = alias(x, index.shape(), zero_stride(x, dim));
    k_.gather({make_layout<3>(index.shape(), {&out, &index, &xv}), ptr(out), ptr(index), ptr(x), step(x, dim),
               x.dtype()});
  }
  void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override {
    on(out);
    const Tensor ov = alias(out, index.shape(), zero_stride(out, dim));
    k_.scatter_add({make_layout<3>(index.shape(), {&ov, &index, &src}), ptr(out), ptr(index), ptr(src),
                    step(out, dim), out.dtype()});
  }

  void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a, double b) override {
    on(out);
    k_.random({ptr(out), out.numel(), out.dtype(),
               kind == RandomKind::Uniform ? Distribution::Uniform : Distribution::Normal, seed, offset, a, b});
  }
  void dropout(const Tensor& x, const Tensor& out, double p, uint64_t seed, uint64_t offset) override {
    on(out);
    // The rule of the CPU's dropout (tensor/cpu/fused.cpp): keep when the word's top 24 bits
    // fall below ⌈(1 − p)·2²⁴⌉.
    const auto threshold = static_cast<uint32_t>(std::ceil((1.0 - p) * 16777216.0));
    k_.dropout({ptr(out), ptr(x), x.numel(), x.dtype(), seed, offset, threshold, 1.0 / (1.0 - p)});
  }

  // Fused: layer norm, the LSTM step, the Adam step and flash attention. Attention that returns
  // its weights runs as composed ops (cuBLAS GEMMs, softmax).
  bool has_fused(FusedKernel kernel) const override { return kernel != FusedKernel::Attention; }
  void adam_step(const fn::AdamUpdate& u, const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v,
                 const Tensor& v_max) override {
    on(p);
    const Tensor& vm = v_max.defined() ? v_max : v;  // not written unless amsgrad
    k_.adam_step({make_layout<5>(p.shape(), {&p, &g, &m, &v, &vm}), ptr(p), ptr(g), ptr(m), ptr(v), ptr(vm), u,
                  p.dtype()});
  }
  void flash_attention_forward(const AttentionArgs& args, const Tensor& out, const Tensor& lse) override {
    on(out);
    FlashArgs a = flash_args(args);
    set_rows(a.out, a.out_st, out);
    a.lse = ptr(lse);
    k_.flash_attention_forward(a);
  }
  void flash_attention_backward(const AttentionArgs& args, const Tensor& out, const Tensor& lse, const Tensor& dout,
                                const Tensor& dq, const Tensor& dk, const Tensor& dv) override {
    on(dq);
    FlashArgs a = flash_args(args);
    set_rows(a.out, a.out_st, out);
    set_rows(a.dout, a.dout_st, dout);
    set_rows(a.dq, a.dq_st, dq);
    set_rows(a.dk, a.dk_st, dk);
    set_rows(a.dv, a.dv_st, dv);
    a.lse = ptr(lse);
    const Tensor delta = raw::empty(lse.shape(), lse.dtype(), lse.device());
    a.delta = ptr(delta);
    k_.flash_attention_backward(a);
  }
  void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                          const Tensor& mean, const Tensor& rstd) override {
    on(y);
    LayerNormArgs a{};
    a.rows = mean.numel();
    a.cols = x.size(-1);
    a.eps = eps;
    a.x = ptr(x), a.weight = ptr_or_null(weight), a.bias = ptr_or_null(bias), a.y = ptr(y), a.mean = ptr(mean),
    a.rstd = ptr(rstd), a.dtype = x.dtype();
    k_.layer_norm_forward(a);
  }
  void layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                           const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) override {
    on(dx);
    LayerNormArgs a{};
    a.rows = mean.numel();
    a.cols = x.size(-1);
    a.x = ptr(x), a.weight = ptr_or_null(weight), a.mean = ptr(mean), a.rstd = ptr(rstd), a.dy = ptr(dy),
    a.dx = ptr(dx), a.dweight = ptr_or_null(dweight), a.dbias = ptr_or_null(dbias), a.dtype = x.dtype();
    k_.layer_norm_backward(a);
  }
  void lstm_cell_forward(const Tensor& gates, const Tensor& c, const Tensor& c_next, const Tensor& tanh_c,
                         const Tensor& h_next) override {
    on(c_next);
    LstmArgs a{};
    a.batch = c.size(0), a.hidden = c.size(1);
    a.gates = ptr(gates), a.c = ptr(c), a.c_next = ptr(c_next), a.tanh_c = ptr(tanh_c), a.h_next = ptr(h_next);
    a.dtype = c.dtype();
    k_.lstm_cell_forward(a);
  }
  void lstm_cell_backward(const Tensor& gates, const Tensor& c, const Tensor& tanh_c, const Tensor& dh_next,
                          const Tensor& dc_next, const Tensor& dgates, const Tensor& dc) override {
    on(dc);
    LstmArgs a{};
    a.batch = c.size(0), a.hidden = c.size(1);
    a.gates = ptr(gates), a.c = ptr(c), a.tanh_c = ptr(tanh_c), a.dh_next = ptr(dh_next), a.dc_next = ptr(dc_next);
    a.dgates = ptr(dgates), a.dc = ptr(dc), a.dtype = c.dtype();
    k_.lstm_cell_backward(a);
  }

 private:
  Launcher& k_;

  int checked(int device) const {
    const int n = k_.device_count();
    HEED_CHECK(n > 0, "cuda:{}: no GPU is usable here ({})", device, k_.unavailable_reason());
    HEED_CHECK(device >= 0 && device < n, "cuda:{} does not exist: {} has {} device{}", device, k_.name(), n,
               n == 1 ? "" : "s");
    return device;
  }
  void on(const Tensor& t) { k_.set_device(checked(t.device().index)); }

  // A (B,H,rows,cols) tensor with a unit last stride: its pointer and (batch, head, row) strides.
  static void set_rows(char*& p, int64_t (&st)[3], const Tensor& t) {
    HEED_CHECK(t.dim() == 4 && (t.size(3) <= 1 || t.stride(3) == 1), "attention: expected a 4-D tensor with unit last "
               "stride, got shape {} strides {}", t.shape(), t.strides());
    p = ptr(t);
    for (int d = 0; d < 3; ++d) st[d] = t.stride(d);
  }
  static void set_pairs(char*& p, int64_t (&st)[4], const Tensor& t) {
    p = t.defined() ? ptr(t) : nullptr;
    for (int d = 0; d < 4; ++d) st[d] = t.defined() ? t.stride(d) : 0;
  }
  static FlashArgs flash_args(const AttentionArgs& args) {
    FlashArgs a{};
    a.B = args.q.size(0), a.H = args.q.size(1), a.T = args.q.size(2), a.D = args.q.size(3);
    a.S = args.k.size(2), a.Dv = args.v.size(3);
    set_rows(a.q, a.q_st, args.q);
    set_rows(a.k, a.k_st, args.k);
    set_rows(a.v, a.v_st, args.v);
    set_pairs(a.blocked, a.blocked_st, args.blocked);
    set_pairs(a.additive, a.additive_st, args.additive);
    a.causal = args.causal;
    a.scale = args.scale;
    a.dropout = args.dropout_p > 0;
    a.seed = args.seed, a.offset = args.offset;
    a.threshold = static_cast<uint32_t>(std::ceil((1.0 - args.dropout_p) * 16777216.0));
    a.kept_scale = 1.0 / (1.0 - args.dropout_p);
    a.dtype = args.q.dtype();
    return a;
  }

  static int64_t index_stride(const Tensor& index) {
    return (index.dim() == 0 ? 1 : index.strides()[0]) * static_cast<int64_t>(sizeof(int64_t));
  }
  static int64_t step(const Tensor& t, int64_t dim) {
    return t.strides()[dim] * static_cast<int64_t>(dtype_size(t.dtype()));
  }
  // A matrix BLAS cannot read as it is (neither dim of unit stride) is copied to contiguous.
  Tensor blas_ready(const Tensor& t) {
    if (blas_matrix(t).ok) return t;
    Tensor c = raw::empty(t.shape(), t.dtype(), t.device());
    copy(t, c);
    return c;
  }
};

}  // namespace

void register_device_backend(kernels::Launcher& launcher) {
  register_backend(Device::Kind::CUDA, new DeviceBackend(launcher));
}

}  // namespace heed::cuda
