// The device kernels, written once as bodies: `body(i)` does the work of index i (one output
// element, or one row). An executor runs a body for every i in [0, n): one GPU thread each
// (cuda/backend.cu) or a plain loop on the host (cuda/emulator.cpp). The arithmetic is
// tensor/functors.h's, shared with the CPU backend. Plain C++17 with HEED_HD, so nvcc and the
// host compiler both read it. Kept simple on purpose (one thread per output, no shared memory)
// until a GPU is at hand to measure faster ones against them; long reductions and flash
// attention have block bodies too (see "Block bodies" below).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cuda/launcher.h"
#include "tensor/philox.h"

namespace heed::kernels {

template <class T>
HEED_HD inline T& at(char* base, int64_t byte_offset) {
  return *reinterpret_cast<T*>(base + byte_offset);
}

// *p += v from many threads at once (indices may repeat).
template <class T>
HEED_HD inline void atomic_add(T* p, T v) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    atomicAdd(p, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {  // two's complement: the unsigned sum is the same
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else {  // uint8: compare-and-swap on the aligned 32-bit word holding it
    auto addr = reinterpret_cast<uintptr_t>(p);
    auto* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t{3});
    const unsigned shift = static_cast<unsigned>(addr & 3) * 8;
    unsigned int old = *word, assumed;
    do {
      assumed = old;
      const unsigned int byte = ((assumed >> shift) + static_cast<unsigned int>(v)) & 0xFFu;
      old = atomicCAS(word, assumed, (assumed & ~(0xFFu << shift)) | (byte << shift));
    } while (old != assumed);
  }
#else
  *p = static_cast<T>(*p + v);
#endif
}

template <class To, class Ti>
struct CopyBody {
  Layout<2> l;
  char *out, *in;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[2];
    l.offsets(i, o);
    at<To>(out, o[0]) = static_cast<To>(at<Ti>(in, o[1]));
  }
};

template <class T>
struct FillBody {
  Layout<1> l;
  char* out;
  T value;
  HEED_HD void operator()(int64_t i) const {
    int64_t o;
    l.offsets(i, &o);
    at<T>(out, o) = value;
  }
};

template <class T, class F>
struct UnaryBody {
  Layout<2> l;
  char *out, *x;
  F f;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[2];
    l.offsets(i, o);
    at<T>(out, o[0]) = static_cast<T>(f(at<T>(x, o[1])));
  }
};

template <class To, class T, class F>
struct BinaryBody {
  Layout<3> l;
  char *out, *x, *y;
  F f;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[3];
    l.offsets(i, o);
    at<To>(out, o[0]) = f(at<T>(x, o[1]), at<T>(y, o[2]));
  }
};

template <class T>
struct WhereBody {
  Layout<4> l;
  char *out, *cond, *x, *y;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[4];
    l.offsets(i, o);
    at<T>(out, o[0]) = at<uint8_t>(cond, o[1]) ? at<T>(x, o[2]) : at<T>(y, o[3]);
  }
};

// Accumulates in double (floats) or int64 (integers); NaN wins max and min, as in PyTorch.
template <class T>
struct Reducer {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  ReduceOp op;
  HEED_HD Acc init() const {
    if (op == ReduceOp::Sum) return 0;
    if constexpr (std::is_floating_point_v<T>)
      return op == ReduceOp::Max ? -HUGE_VAL : HUGE_VAL;
    else
      return op == ReduceOp::Max ? INT64_MIN : INT64_MAX;
  }
  HEED_HD Acc combine(Acc acc, Acc v) const {
    if (op == ReduceOp::Sum) return acc + v;
    if (v != v) return v;
    if (acc != acc) return acc;
    return op == ReduceOp::Max ? (v > acc ? v : acc) : (v < acc ? v : acc);
  }
  HEED_HD Acc operator()(Acc acc, Acc v) const { return combine(acc, v); }
};

template <class T>
struct ReduceBody {
  Layout<2> kept;
  Layout<1> reduced;
  int64_t reduced_n;
  char *out, *x;
  Reducer<T> r;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[2];
    kept.offsets(i, o);
    auto acc = r.init();
    for (int64_t j = 0; j < reduced_n; ++j) {
      int64_t rj;
      reduced.offsets(j, &rj);
      acc = r.combine(acc, static_cast<typename Reducer<T>::Acc>(at<T>(x, o[1] + rj)));
    }
    at<T>(out, o[0]) = static_cast<T>(acc);
  }
};

template <class T>
struct ArgReduceBody {
  Layout<2> kept;
  int64_t len, step;
  char *out, *x;
  bool max;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[2];
    kept.offsets(i, o);
    int64_t best = 0;
    T best_v = at<T>(x, o[1]);
    for (int64_t k = 1; k < len && best_v == best_v; ++k) {  // the first NaN wins
      const T v = at<T>(x, o[1] + k * step);
      if (v != v || (max ? v > best_v : v < best_v)) {
        best = k;
        best_v = v;
      }
    }
    at<int64_t>(out, o[0]) = best;
  }
};

// One row per index. A row all −inf gives NaN, as in PyTorch.
template <class T>
struct SoftmaxBody {
  int64_t cols;
  T *out, *x;
  bool log;
  HEED_HD void operator()(int64_t row) const {
    const T* xr = x + row * cols;
    T* orow = out + row * cols;
    T mx = static_cast<T>(-HUGE_VAL);
    for (int64_t c = 0; c < cols; ++c) mx = xr[c] > mx ? xr[c] : mx;
    if (mx == static_cast<T>(-HUGE_VAL)) mx = 0;
    double sum = 0;
    if (log) {
      for (int64_t c = 0; c < cols; ++c) sum += std::exp(xr[c] - mx);
      const T lse = static_cast<T>(std::log(sum)) + mx;
      for (int64_t c = 0; c < cols; ++c) orow[c] = xr[c] - lse;
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        orow[c] = std::exp(xr[c] - mx);
        sum += orow[c];
      }
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t c = 0; c < cols; ++c) orow[c] *= inv;
    }
  }
};

// One frequency bin of one row of a real-input DFT, summed directly in double (O(n) per bin):
// the emulator's rfft, and a reference for cuFFT's.
template <class T>
struct RfftBody {
  int64_t n, bins;
  T *out, *x;
  HEED_HD void operator()(int64_t i) const {
    const int64_t row = i / bins, k = i % bins;
    const T* xr = x + row * n;
    double re = 0, im = 0;
    for (int64_t t = 0; t < n; ++t) {
      const double angle = -2 * 3.14159265358979323846 * static_cast<double>((k * t) % n) / static_cast<double>(n);
      re += static_cast<double>(xr[t]) * std::cos(angle), im += static_cast<double>(xr[t]) * std::sin(angle);
    }
    out[2 * i] = static_cast<T>(re), out[2 * i + 1] = static_cast<T>(im);
  }
};

template <class T>
struct IndexSelectBody {
  IndexArgs a;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[2];
    a.l.offsets(i, o);
    const int64_t row = at<int64_t>(a.index, ((i / a.inner) % a.n) * a.index_stride);
    at<T>(a.walked, o[0]) = at<T>(a.other, o[1] + row * a.step);
  }
};

template <class T>
struct IndexAddBody {
  IndexArgs a;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[2];
    a.l.offsets(i, o);
    const int64_t row = at<int64_t>(a.index, ((i / a.inner) % a.n) * a.index_stride);
    atomic_add(&at<T>(a.other, o[1] + row * a.step), at<T>(a.walked, o[0]));
  }
};

template <class T>
struct GatherBody {
  GatherArgs a;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[3];
    a.l.offsets(i, o);
    at<T>(a.out, o[0]) = at<T>(a.x, o[2] + at<int64_t>(a.index, o[1]) * a.step);
  }
};

template <class T>
struct ScatterAddBody {
  GatherArgs a;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[3];
    a.l.offsets(i, o);
    atomic_add(&at<T>(a.out, o[0] + at<int64_t>(a.index, o[1]) * a.step), at<T>(a.x, o[2]));
  }
};

template <class T>
struct RandomBody {
  RandomArgs a;
  HEED_HD void operator()(int64_t i) const {
    const auto u = static_cast<uint64_t>(i);
    reinterpret_cast<T*>(a.out)[i] = a.dist == Distribution::Uniform
                                         ? static_cast<T>(a.a + (a.b - a.a) * philox::uniform(a.seed, a.offset, u))
                                         : static_cast<T>(a.a + a.b * philox::normal(a.seed, a.offset, u));
  }
};

template <class T>
struct DropoutBody {
  DropoutArgs a;
  HEED_HD void operator()(int64_t i) const {
    const auto u = static_cast<uint64_t>(i);
    const bool keep = (philox::draw(a.offset + u / 4, a.seed).v[u % 4] >> 8) < a.threshold;
    reinterpret_cast<T*>(a.out)[i] = reinterpret_cast<const T*>(a.x)[i] * (keep ? static_cast<T>(a.scale) : T(0));
  }
};

// The reference GEMM: one element of C per index, column-major as BLAS defines it.
template <class T>
struct GemmBody {
  GemmArgs a;
  HEED_HD void operator()(int64_t idx) const {
    const int64_t per = a.m * a.n, batch = idx / per, col = (idx % per) / a.m, row = idx % a.m;
    const T* A = reinterpret_cast<const T*>(a.a) + batch * a.stride_a;
    const T* B = reinterpret_cast<const T*>(a.b) + batch * a.stride_b;
    T acc = 0;
    for (int64_t p = 0; p < a.k; ++p) {
      const T av = a.trans_a ? A[p + row * a.lda] : A[row + p * a.lda];
      const T bv = a.trans_b ? B[col + p * a.ldb] : B[p + col * a.ldb];
      acc += av * bv;
    }
    reinterpret_cast<T*>(a.c)[batch * a.stride_c + row + col * a.ldc] = acc;
  }
};

// Layer norm, one row per index, statistics in double as on the CPU.
template <class T>
struct LayerNormForwardBody {
  LayerNormArgs a;
  HEED_HD void operator()(int64_t r) const {
    const int64_t C = a.cols;
    const T* x = reinterpret_cast<const T*>(a.x) + r * C;
    const T* w = reinterpret_cast<const T*>(a.weight);
    const T* b = reinterpret_cast<const T*>(a.bias);
    T* y = reinterpret_cast<T*>(a.y) + r * C;
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += x[c];
    const double mu = sum / static_cast<double>(C);
    double sq = 0;
    for (int64_t c = 0; c < C; ++c) sq += (x[c] - mu) * (x[c] - mu);
    const T m = static_cast<T>(mu), rs = static_cast<T>(1.0 / std::sqrt(sq / static_cast<double>(C) + a.eps));
    reinterpret_cast<T*>(a.mean)[r] = m;
    reinterpret_cast<T*>(a.rstd)[r] = rs;
    for (int64_t c = 0; c < C; ++c) {
      T v = (x[c] - m) * rs;
      if (w) v *= w[c];
      if (b) v += b[c];
      y[c] = v;
    }
  }
};

// dx of one row per index: rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·weight.
template <class T>
struct LayerNormBackwardBody {
  LayerNormArgs a;
  HEED_HD void operator()(int64_t r) const {
    const int64_t C = a.cols;
    const T* x = reinterpret_cast<const T*>(a.x) + r * C;
    const T* dy = reinterpret_cast<const T*>(a.dy) + r * C;
    const T* w = reinterpret_cast<const T*>(a.weight);
    const T m = reinterpret_cast<const T*>(a.mean)[r], rs = reinterpret_cast<const T*>(a.rstd)[r];
    double sum_g = 0, sum_gx = 0;
    for (int64_t c = 0; c < C; ++c) {
      const T xhat = (x[c] - m) * rs, g = w ? dy[c] * w[c] : dy[c];
      sum_g += g;
      sum_gx += g * xhat;
    }
    const T mean_g = static_cast<T>(sum_g / static_cast<double>(C));
    const T mean_gx = static_cast<T>(sum_gx / static_cast<double>(C));
    T* dx = reinterpret_cast<T*>(a.dx) + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const T xhat = (x[c] - m) * rs, g = w ? dy[c] * w[c] : dy[c];
      dx[c] = rs * (g - mean_g - xhat * mean_gx);
    }
  }
};

// dweight and dbias of one column per index: sums over the rows of dy·x̂ and dy.
template <class T>
struct LayerNormParamsBody {
  LayerNormArgs a;
  HEED_HD void operator()(int64_t c) const {
    const T* x = reinterpret_cast<const T*>(a.x);
    const T* dy = reinterpret_cast<const T*>(a.dy);
    const T* mean = reinterpret_cast<const T*>(a.mean);
    const T* rstd = reinterpret_cast<const T*>(a.rstd);
    double dw = 0, db = 0;
    for (int64_t r = 0; r < a.rows; ++r) {
      const T g = dy[r * a.cols + c];
      dw += g * ((x[r * a.cols + c] - mean[r]) * rstd[r]);
      db += g;
    }
    if (a.dweight) reinterpret_cast<T*>(a.dweight)[c] = static_cast<T>(dw);
    if (a.dbias) reinterpret_cast<T*>(a.dbias)[c] = static_cast<T>(db);
  }
};

template <class T>
HEED_HD inline T sigmoid(T x) {
  return fn::Sigmoid{}(x);
}

// The LSTM step, one (batch, unit) per index.
template <class T>
struct LstmForwardBody {
  LstmArgs a;
  HEED_HD void operator()(int64_t idx) const {
    const int64_t N = a.hidden, b = idx / N, n = idx % N;
    T* gates = reinterpret_cast<T*>(a.gates) + b * 4 * N;
    const T i = sigmoid(gates[n]), f = sigmoid(gates[N + n]), g = std::tanh(gates[2 * N + n]),
            o = sigmoid(gates[3 * N + n]);
    gates[n] = i, gates[N + n] = f, gates[2 * N + n] = g, gates[3 * N + n] = o;
    const T cn = f * reinterpret_cast<const T*>(a.c)[idx] + i * g, t = std::tanh(cn);
    reinterpret_cast<T*>(a.c_next)[idx] = cn;
    reinterpret_cast<T*>(a.tanh_c)[idx] = t;
    reinterpret_cast<T*>(a.h_next)[idx] = o * t;
  }
};

template <class T>
struct LstmBackwardBody {
  LstmArgs a;
  HEED_HD void operator()(int64_t idx) const {
    const int64_t N = a.hidden, b = idx / N, n = idx % N;
    const T* gates = reinterpret_cast<const T*>(a.gates) + b * 4 * N;
    const T i = gates[n], f = gates[N + n], g = gates[2 * N + n], o = gates[3 * N + n];
    const T t = reinterpret_cast<const T*>(a.tanh_c)[idx], dh = reinterpret_cast<const T*>(a.dh_next)[idx];
    const T dct = reinterpret_cast<const T*>(a.dc_next)[idx] + dh * o * (T(1) - t * t);
    T* dg = reinterpret_cast<T*>(a.dgates) + b * 4 * N;
    dg[3 * N + n] = dh * t * o * (T(1) - o);
    dg[n] = dct * g * i * (T(1) - i);
    dg[N + n] = dct * reinterpret_cast<const T*>(a.c)[idx] * f * (T(1) - f);
    dg[2 * N + n] = dct * i * (T(1) - g * g);
    reinterpret_cast<T*>(a.dc)[idx] = dct * f;
  }
};

// Flash attention (after FlashAttention-2, Dao 2023, https://arxiv.org/abs/2307.08691): the
// weights of a query are recomputed from its scores and log-sum-exp whenever they are needed,
// never stored. The bodies here take one thread per query or key row, reading the other side
// from global memory (head sizes over kFlashMaxD); the tiled block bodies below do the rest.
template <class T>
struct Flash {
  FlashArgs a;

  HEED_HD const T* row(const char* base, const int64_t* st, int64_t b, int64_t h, int64_t r) const {
    return reinterpret_cast<const T*>(base) + b * st[0] + h * st[1] + r * st[2];
  }
  HEED_HD T* row(char* base, const int64_t* st, int64_t b, int64_t h, int64_t r) const {
    return reinterpret_cast<T*>(base) + b * st[0] + h * st[1] + r * st[2];
  }
  // The score of query t for key s in head (b, h); false when the pair is masked out.
  HEED_HD bool score(int64_t b, int64_t h, int64_t t, int64_t s, T& out) const {
    return score(b, h, t, s, row(a.q, a.q_st, b, h, t), row(a.k, a.k_st, b, h, s), out);
  }
  // The same with the query's and the key's rows given (from registers or shared memory).
  HEED_HD bool score(int64_t b, int64_t h, int64_t t, int64_t s, const T* q, const T* k, T& out) const {
    if (a.causal && s > t) return false;
    if (a.blocked && a.blocked[b * a.blocked_st[0] + h * a.blocked_st[1] + t * a.blocked_st[2] + s * a.blocked_st[3]])
      return false;
    T dot = 0;
    for (int64_t d = 0; d < a.D; ++d) dot += q[d] * k[d];
    T sc = static_cast<T>(a.scale) * dot;
    if (a.additive)
      sc += reinterpret_cast<const T*>(a.additive)[b * a.additive_st[0] + h * a.additive_st[1] +
                                                   t * a.additive_st[2] + s * a.additive_st[3]];
    out = sc;
    return sc != static_cast<T>(-HUGE_VAL);  // an additive −inf masks out too
  }
  // The dropout factor of weight (b, h, t, s): 0 or 1/(1−p); 1 without dropout.
  HEED_HD T factor(int64_t b, int64_t h, int64_t t, int64_t s) const {
    if (!a.dropout) return 1;
    const auto i = static_cast<uint64_t>(((b * a.H + h) * a.T + t) * a.S + s);
    return (philox::draw(a.offset + i / 4, a.seed).v[i % 4] >> 8) < a.threshold ? static_cast<T>(a.kept_scale) : T(0);
  }
  // Index idx of a (B,H,n) walk as (batch, head, row).
  HEED_HD void split(int64_t idx, int64_t n, int64_t& b, int64_t& h, int64_t& r) const {
    b = idx / (a.H * n), h = (idx / n) % a.H, r = idx % n;
  }
  HEED_HD T lse(int64_t b, int64_t h, int64_t t) const {
    return reinterpret_cast<const T*>(a.lse)[(b * a.H + h) * a.T + t];
  }
  HEED_HD T delta(int64_t b, int64_t h, int64_t t) const {
    return reinterpret_cast<const T*>(a.delta)[(b * a.H + h) * a.T + t];
  }
};

// Forward, one query per index: the log-sum-exp in one pass (online maximum), then the output.
template <class T>
struct FlashForwardBody {
  Flash<T> f;
  HEED_HD void operator()(int64_t idx) const {
    const FlashArgs& a = f.a;
    int64_t b, h, t;
    f.split(idx, a.T, b, h, t);
    T m = static_cast<T>(-HUGE_VAL), l = 0, sc;
    for (int64_t s = 0; s < a.S; ++s) {
      if (!f.score(b, h, t, s, sc)) continue;
      if (sc > m) {
        l = l * std::exp(m - sc) + T(1);
        m = sc;
      } else {
        l += std::exp(sc - m);
      }
    }
    const T lse = m == static_cast<T>(-HUGE_VAL) ? m : m + std::log(l);
    reinterpret_cast<T*>(a.lse)[idx] = lse;
    T* out = f.row(a.out, a.out_st, b, h, t);
    for (int64_t d = 0; d < a.Dv; ++d) out[d] = 0;
    if (lse == static_cast<T>(-HUGE_VAL)) return;  // nothing to attend to: a zero output
    for (int64_t s = 0; s < a.S; ++s) {
      if (!f.score(b, h, t, s, sc)) continue;
      const T p = std::exp(sc - lse) * f.factor(b, h, t, s);
      const T* v = f.row(a.v, a.v_st, b, h, s);
      for (int64_t d = 0; d < a.Dv; ++d) out[d] += p * v[d];
    }
  }
};

// Backward, step 1, one query per index: delta = dout·out (= Σ_s P·dP over the keys).
template <class T>
struct FlashDeltaBody {
  Flash<T> f;
  HEED_HD void operator()(int64_t idx) const {
    const FlashArgs& a = f.a;
    int64_t b, h, t;
    f.split(idx, a.T, b, h, t);
    const T* o = f.row(a.out, a.out_st, b, h, t);
    const T* g = f.row(a.dout, a.dout_st, b, h, t);
    double acc = 0;
    for (int64_t d = 0; d < a.Dv; ++d) acc += static_cast<double>(o[d]) * g[d];
    reinterpret_cast<T*>(a.delta)[idx] = static_cast<T>(acc);
  }
};

// dscore of (t, s) = P·(factor·(dout_t·v_s) − delta_t); false when masked (or P is 0).
template <class T>
HEED_HD inline bool flash_dscore(const Flash<T>& f, int64_t b, int64_t h, int64_t t, int64_t s, T& p_applied,
                                 T& ds) {
  const FlashArgs& a = f.a;
  const T lse = f.lse(b, h, t);
  T sc;
  if (lse == static_cast<T>(-HUGE_VAL) || !f.score(b, h, t, s, sc)) return false;
  const T p = std::exp(sc - lse), fac = f.factor(b, h, t, s);
  const T* g = f.row(a.dout, a.dout_st, b, h, t);
  const T* v = f.row(a.v, a.v_st, b, h, s);
  T dp = 0;
  for (int64_t d = 0; d < a.Dv; ++d) dp += g[d] * v[d];
  p_applied = p * fac;
  ds = p * (fac * dp - reinterpret_cast<const T*>(a.delta)[(b * a.H + h) * a.T + t]);
  return true;
}

// Step 2, one query per index: dq_t = scale·Σ_s dscore·k_s.
template <class T>
struct FlashDqBody {
  Flash<T> f;
  HEED_HD void operator()(int64_t idx) const {
    const FlashArgs& a = f.a;
    int64_t b, h, t;
    f.split(idx, a.T, b, h, t);
    T* dq = f.row(a.dq, a.dq_st, b, h, t);
    for (int64_t d = 0; d < a.D; ++d) dq[d] = 0;
    T p, ds;
    for (int64_t s = 0; s < a.S; ++s) {
      if (!flash_dscore(f, b, h, t, s, p, ds)) continue;
      const T* k = f.row(a.k, a.k_st, b, h, s);
      const T c = static_cast<T>(a.scale) * ds;
      for (int64_t d = 0; d < a.D; ++d) dq[d] += c * k[d];
    }
  }
};

// Step 3, one key per index: dv_s = Σ_t applied weight·dout_t, dk_s = scale·Σ_t dscore·q_t.
template <class T>
struct FlashDkvBody {
  Flash<T> f;
  HEED_HD void operator()(int64_t idx) const {
    const FlashArgs& a = f.a;
    int64_t b, h, s;
    f.split(idx, a.S, b, h, s);
    T* dk = f.row(a.dk, a.dk_st, b, h, s);
    T* dv = f.row(a.dv, a.dv_st, b, h, s);
    for (int64_t d = 0; d < a.D; ++d) dk[d] = 0;
    for (int64_t d = 0; d < a.Dv; ++d) dv[d] = 0;
    T p, ds;
    for (int64_t t = 0; t < a.T; ++t) {
      if (!flash_dscore(f, b, h, t, s, p, ds)) continue;
      const T* g = f.row(a.dout, a.dout_st, b, h, t);
      const T* q = f.row(a.q, a.q_st, b, h, t);
      const T c = static_cast<T>(a.scale) * ds;
      for (int64_t d = 0; d < a.Dv; ++d) dv[d] += p * g[d];
      for (int64_t d = 0; d < a.D; ++d) dk[d] += c * q[d];
    }
  }
};

// ---------------------------------------------------------------- Block bodies
// A block body runs as a CUDA thread block: Body::kThreads threads that share one
// Body::Shared and wait for each other at ctx.sync(). The executor calls body(ctx) once per
// thread of each of `blocks` blocks, with ctx.block, ctx.thread, ctx.shared and ctx.sync()
// (__syncthreads on the GPU; fibers taking turns in the emulator). Every thread of
// a block must reach every sync, so loops around a sync have the same trip count for all.

// Long reductions: a block of kReduceThreads threads per output (a reduced output, a softmax
// row, a layer-norm parameter's column), each thread summing every kReduceThreads-th element,
// then a tree over the block in shared memory. For few outputs over many elements, which one
// thread per output would leave nearly all of a GPU idle.
inline constexpr int kReduceThreads = 128;      // a power of two
inline constexpr int64_t kBlockReduceFrom = 512;  // elements per output from which a block takes it

template <class V>
struct Plus {
  HEED_HD V operator()(V a, V b) const { return a + b; }
};
template <class V>
struct Larger {  // ignores NaN, as SoftmaxBody's maximum does
  HEED_HD V operator()(V a, V b) const { return b > a ? b : a; }
};

// `v` combined over the block's threads by `op`; every thread gets the result.
template <class Ctx, class V, class Op>
HEED_HD inline V block_reduce(Ctx& ctx, V* scratch, V v, Op op) {
  scratch[ctx.thread] = v;
  ctx.sync();
  for (int width = kReduceThreads / 2; width > 0; width /= 2) {
    if (ctx.thread < width) scratch[ctx.thread] = op(scratch[ctx.thread], scratch[ctx.thread + width]);
    ctx.sync();
  }
  const V out = scratch[0];
  ctx.sync();  // before anyone writes scratch again
  return out;
}

template <class T>
struct ReduceBlockBody {
  static constexpr int kThreads = kReduceThreads;
  using Acc = typename Reducer<T>::Acc;
  struct Shared {
    Acc partial[kThreads];
  };
  ReduceBody<T> r;
  template <class Ctx>
  HEED_HD void operator()(Ctx& ctx) const {
    int64_t o[2];
    r.kept.offsets(ctx.block, o);
    Acc acc = r.r.init();
    for (int64_t j = ctx.thread; j < r.reduced_n; j += kThreads) {
      int64_t rj;
      r.reduced.offsets(j, &rj);
      acc = r.r.combine(acc, static_cast<Acc>(at<T>(r.x, o[1] + rj)));
    }
    acc = block_reduce(ctx, ctx.shared.partial, acc, r.r);
    if (ctx.thread == 0) at<T>(r.out, o[0]) = static_cast<T>(acc);
  }
};

template <class T>
struct SoftmaxBlockBody {
  static constexpr int kThreads = kReduceThreads;
  struct Shared {
    double partial[kThreads];
  };
  SoftmaxBody<T> s;
  template <class Ctx>
  HEED_HD void operator()(Ctx& ctx) const {
    const T* xr = s.x + ctx.block * s.cols;
    T* orow = s.out + ctx.block * s.cols;
    double mx = -HUGE_VAL;
    for (int64_t c = ctx.thread; c < s.cols; c += kThreads) mx = xr[c] > mx ? xr[c] : mx;
    mx = block_reduce(ctx, ctx.shared.partial, mx, Larger<double>{});
    const T m = mx == -HUGE_VAL ? T(0) : static_cast<T>(mx);
    double sum = 0;
    for (int64_t c = ctx.thread; c < s.cols; c += kThreads) {
      const T e = std::exp(xr[c] - m);
      if (!s.log) orow[c] = e;
      sum += e;
    }
    sum = block_reduce(ctx, ctx.shared.partial, sum, Plus<double>{});
    if (s.log) {
      const T lse = static_cast<T>(std::log(sum)) + m;
      for (int64_t c = ctx.thread; c < s.cols; c += kThreads) orow[c] = xr[c] - lse;
    } else {
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t c = ctx.thread; c < s.cols; c += kThreads) orow[c] *= inv;
    }
  }
};

template <class T>
struct LayerNormParamsBlockBody {
  static constexpr int kThreads = kReduceThreads;
  struct Shared {
    double partial[kThreads];
  };
  LayerNormArgs a;
  template <class Ctx>
  HEED_HD void operator()(Ctx& ctx) const {
    const int64_t c = ctx.block;
    const T* x = reinterpret_cast<const T*>(a.x);
    const T* dy = reinterpret_cast<const T*>(a.dy);
    const T* mean = reinterpret_cast<const T*>(a.mean);
    const T* rstd = reinterpret_cast<const T*>(a.rstd);
    double dw = 0, db = 0;
    for (int64_t r = ctx.thread; r < a.rows; r += kThreads) {
      const T g = dy[r * a.cols + c];
      dw += g * ((x[r * a.cols + c] - mean[r]) * rstd[r]);
      db += g;
    }
    dw = block_reduce(ctx, ctx.shared.partial, dw, Plus<double>{});
    db = block_reduce(ctx, ctx.shared.partial, db, Plus<double>{});
    if (ctx.thread != 0) return;
    if (a.dweight) reinterpret_cast<T*>(a.dweight)[c] = static_cast<T>(dw);
    if (a.dbias) reinterpret_cast<T*>(a.dbias)[c] = static_cast<T>(db);
  }
};

// Tiled flash attention, after FlashAttention-2's tiling: each thread owns one row (a query,
// or a key for dk and dv) and keeps its row and its sums in registers, while the block walks
// the rows of the other side in tiles that its threads load into shared memory together, so
// each tile is read from global memory once per block instead of once per row. For head
// sizes up to kFlashMaxD; larger ones take the one-row kernels above.
inline constexpr int64_t kFlashMaxD = 128;
inline constexpr int kFlashRows = 64;  // threads of a block, one row each
template <class T>
inline constexpr int kFlashTile = sizeof(T) == 4 ? 32 : 16;  // rows per tile (48 KiB of shared memory at most)

inline bool flash_tiles_fit(const FlashArgs& a) { return a.D <= kFlashMaxD && a.Dv <= kFlashMaxD; }

// Which (b, h) and which first row a block of a (B,H,n) walk has; blocks per head = ⌈n/rows⌉.
struct FlashBlock {
  int64_t b, h, first;
  HEED_HD FlashBlock(int64_t block, int64_t H, int64_t n) {
    const int64_t per_head = (n + kFlashRows - 1) / kFlashRows;
    b = block / (H * per_head), h = (block / per_head) % H, first = (block % per_head) * kFlashRows;
  }
  // For a block of queries: the keys any of them may see (causal: none after its last query).
  HEED_HD int64_t key_end(const FlashArgs& a) const {
    const int64_t last = (first + kFlashRows < a.T ? first + kFlashRows : a.T) - 1;
    return a.causal && last + 1 < a.S ? last + 1 : a.S;
  }
};
inline int64_t flash_blocks(const FlashArgs& a, int64_t n) { return a.B * a.H * ((n + kFlashRows - 1) / kFlashRows); }

// Copies rows [first, first + n) of a (B,H,·,width) operand into tile[r][·], the block's
// threads taking every kFlashRows-th element.
template <class T, class Ctx>
HEED_HD inline void flash_load(const Ctx& ctx, const Flash<T>& f, const char* base, const int64_t* st, int64_t b,
                               int64_t h, int64_t first, int64_t n, int64_t width, T (*tile)[kFlashMaxD]) {
  for (int64_t i = ctx.thread; i < n * width; i += kFlashRows) {
    const int64_t r = i / width, d = i % width;
    tile[r][d] = f.row(base, st, b, h, first + r)[d];
  }
}

// A tile of keys and values in shared memory, for the bodies that own queries.
template <class T>
struct FlashKeyTile {
  static constexpr int kRows = kFlashTile<T>;
  T k[kRows][kFlashMaxD], v[kRows][kFlashMaxD];
  // Loads keys [first, first + n) of head (b, h), the block's threads together.
  template <class Ctx>
  HEED_HD void load(const Ctx& ctx, const Flash<T>& f, int64_t b, int64_t h, int64_t first, int64_t n) {
    flash_load(ctx, f, f.a.k, f.a.k_st, b, h, first, n, f.a.D, k);
    flash_load(ctx, f, f.a.v, f.a.v_st, b, h, first, n, f.a.Dv, v);
  }
};

// Forward, one query per thread: one pass over the key tiles with an online maximum, the
// output rescaled as the maximum grows (FlashAttention-2's algorithm 1).
template <class T>
struct FlashForwardTiledBody {
  static constexpr int kThreads = kFlashRows;
  static constexpr int kTile = kFlashTile<T>;
  using Shared = FlashKeyTile<T>;
  Flash<T> f;
  template <class Ctx>
  HEED_HD void operator()(Ctx& ctx) const {
    const FlashArgs& a = f.a;
    const FlashBlock blk(ctx.block, a.H, a.T);
    const int64_t b = blk.b, h = blk.h, t = blk.first + ctx.thread;
    const bool mine = t < a.T;
    T q[kFlashMaxD], acc[kFlashMaxD];
    if (mine)
      for (int64_t d = 0; d < a.D; ++d) q[d] = f.row(a.q, a.q_st, b, h, t)[d];
    for (int64_t d = 0; d < a.Dv; ++d) acc[d] = 0;
    T m = static_cast<T>(-HUGE_VAL), l = 0, sc;
    const int64_t keys = blk.key_end(a);
    for (int64_t s0 = 0; s0 < keys; s0 += kTile) {
      const int64_t n = keys - s0 < kTile ? keys - s0 : kTile;
      ctx.shared.load(ctx, f, b, h, s0, n);
      ctx.sync();
      for (int64_t r = 0; mine && r < n; ++r) {
        if (!f.score(b, h, t, s0 + r, q, ctx.shared.k[r], sc)) continue;
        T p = 1;
        if (sc > m) {  // a new maximum: rescale what was summed against the old one
          const T rescale = std::exp(m - sc);
          l *= rescale;
          for (int64_t d = 0; d < a.Dv; ++d) acc[d] *= rescale;
          m = sc;
        } else {
          p = std::exp(sc - m);
        }
        l += p;
        const T pv = p * f.factor(b, h, t, s0 + r);
        if (pv != T(0))
          for (int64_t d = 0; d < a.Dv; ++d) acc[d] += pv * ctx.shared.v[r][d];
      }
      ctx.sync();
    }
    if (!mine) return;
    const T lse = m == static_cast<T>(-HUGE_VAL) ? m : m + std::log(l);
    reinterpret_cast<T*>(a.lse)[(b * a.H + h) * a.T + t] = lse;
    T* out = f.row(a.out, a.out_st, b, h, t);
    for (int64_t d = 0; d < a.Dv; ++d) out[d] = lse == static_cast<T>(-HUGE_VAL) ? T(0) : acc[d] / l;
  }
};

// Backward, dq: one query per thread over the key tiles (k and v in shared memory).
template <class T>
struct FlashDqTiledBody {
  static constexpr int kThreads = kFlashRows;
  static constexpr int kTile = kFlashTile<T>;
  using Shared = FlashKeyTile<T>;
  Flash<T> f;
  template <class Ctx>
  HEED_HD void operator()(Ctx& ctx) const {
    const FlashArgs& a = f.a;
    const FlashBlock blk(ctx.block, a.H, a.T);
    const int64_t b = blk.b, h = blk.h, t = blk.first + ctx.thread;
    const bool mine = t < a.T;
    T q[kFlashMaxD], g[kFlashMaxD], dq[kFlashMaxD];
    T lse = static_cast<T>(-HUGE_VAL), delta = 0;
    if (mine) {
      for (int64_t d = 0; d < a.D; ++d) q[d] = f.row(a.q, a.q_st, b, h, t)[d];
      for (int64_t d = 0; d < a.Dv; ++d) g[d] = f.row(a.dout, a.dout_st, b, h, t)[d];
      lse = f.lse(b, h, t), delta = f.delta(b, h, t);
    }
    for (int64_t d = 0; d < a.D; ++d) dq[d] = 0;
    const bool live = mine && lse != static_cast<T>(-HUGE_VAL);  // a query with no key has no gradient
    const int64_t keys = blk.key_end(a);
    T sc;
    for (int64_t s0 = 0; s0 < keys; s0 += kTile) {
      const int64_t n = keys - s0 < kTile ? keys - s0 : kTile;
      ctx.shared.load(ctx, f, b, h, s0, n);
      ctx.sync();
      for (int64_t r = 0; live && r < n; ++r) {
        if (!f.score(b, h, t, s0 + r, q, ctx.shared.k[r], sc)) continue;
        T dp = 0;
        for (int64_t d = 0; d < a.Dv; ++d) dp += g[d] * ctx.shared.v[r][d];
        const T p = std::exp(sc - lse);
        const T c = static_cast<T>(a.scale) * p * (f.factor(b, h, t, s0 + r) * dp - delta);
        for (int64_t d = 0; d < a.D; ++d) dq[d] += c * ctx.shared.k[r][d];
      }
      ctx.sync();
    }
    if (!mine) return;
    T* out = f.row(a.dq, a.dq_st, b, h, t);
    for (int64_t d = 0; d < a.D; ++d) out[d] = dq[d];
  }
};

// Backward, dk and dv: one key per thread over the query tiles (q, dout, log-sum-exp and delta
// in shared memory).
template <class T>
struct FlashDkvTiledBody {
  static constexpr int kThreads = kFlashRows;
  static constexpr int kTile = kFlashTile<T>;
  struct Shared {
    T q[kTile][kFlashMaxD], g[kTile][kFlashMaxD], lse[kTile], delta[kTile];
  };
  Flash<T> f;
  template <class Ctx>
  HEED_HD void operator()(Ctx& ctx) const {
    const FlashArgs& a = f.a;
    const FlashBlock blk(ctx.block, a.H, a.S);
    const int64_t b = blk.b, h = blk.h, s = blk.first + ctx.thread;
    const bool mine = s < a.S;
    T k[kFlashMaxD], v[kFlashMaxD], dk[kFlashMaxD], dv[kFlashMaxD];
    if (mine) {
      for (int64_t d = 0; d < a.D; ++d) k[d] = f.row(a.k, a.k_st, b, h, s)[d];
      for (int64_t d = 0; d < a.Dv; ++d) v[d] = f.row(a.v, a.v_st, b, h, s)[d];
    }
    for (int64_t d = 0; d < a.D; ++d) dk[d] = 0;
    for (int64_t d = 0; d < a.Dv; ++d) dv[d] = 0;
    // Causal: queries before the block's first key are masked for all of its keys.
    const int64_t first_query = a.causal ? (blk.first < a.T ? blk.first : a.T) : 0;
    T sc;
    for (int64_t t0 = first_query; t0 < a.T; t0 += kTile) {
      const int64_t n = a.T - t0 < kTile ? a.T - t0 : kTile;
      flash_load(ctx, f, a.q, a.q_st, b, h, t0, n, a.D, ctx.shared.q);
      flash_load(ctx, f, a.dout, a.dout_st, b, h, t0, n, a.Dv, ctx.shared.g);
      for (int64_t r = ctx.thread; r < n; r += kFlashRows) {
        ctx.shared.lse[r] = f.lse(b, h, t0 + r);
        ctx.shared.delta[r] = f.delta(b, h, t0 + r);
      }
      ctx.sync();
      for (int64_t r = 0; mine && r < n; ++r) {
        const T lse = ctx.shared.lse[r];
        if (lse == static_cast<T>(-HUGE_VAL) || !f.score(b, h, t0 + r, s, ctx.shared.q[r], k, sc)) continue;
        const T* g = ctx.shared.g[r];
        T dp = 0;
        for (int64_t d = 0; d < a.Dv; ++d) dp += g[d] * v[d];
        const T p = std::exp(sc - lse), fac = f.factor(b, h, t0 + r, s);
        const T c = static_cast<T>(a.scale) * p * (fac * dp - ctx.shared.delta[r]);
        for (int64_t d = 0; d < a.Dv; ++d) dv[d] += p * fac * g[d];
        for (int64_t d = 0; d < a.D; ++d) dk[d] += c * ctx.shared.q[r][d];
      }
      ctx.sync();
    }
    if (!mine) return;
    T* out_k = f.row(a.dk, a.dk_st, b, h, s);
    T* out_v = f.row(a.dv, a.dv_st, b, h, s);
    for (int64_t d = 0; d < a.D; ++d) out_k[d] = dk[d];
    for (int64_t d = 0; d < a.Dv; ++d) out_v[d] = dv[d];
  }
};

template <class T>
struct AdamBody {
  AdamArgs a;
  HEED_HD void operator()(int64_t i) const {
    int64_t o[5];
    a.l.offsets(i, o);
    a.update(at<T>(a.param, o[0]), at<T>(a.grad, o[1]), at<T>(a.exp_avg, o[2]), at<T>(a.exp_avg_sq, o[3]),
             at<T>(a.max_exp_avg_sq, o[4]));
  }
};

// The kernels of Launcher, for an executor Exec with
//   template <class Body> static void launch(int64_t n, const Body& body);
//   template <class Body> static void launch_blocks(int64_t blocks, const Body& body);  // block bodies
template <class Exec>
class KernelLauncher : public Launcher {
 public:
  void copy(const CopyArgs& a) override {
    dispatch(a.out_dtype, [&](auto to) {
      dispatch(a.in_dtype, [&](auto ti) {
        Exec::launch(a.l.numel(), CopyBody<decltype(to), decltype(ti)>{a.l, a.out, a.in});
      });
    });
  }
  void fill(const FillArgs& a) override {
    dispatch(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      Exec::launch(a.l.numel(), FillBody<T>{a.l, a.out, static_cast<T>(a.value)});
    });
  }
  void unary(const UnaryArgs& a) override {
    dispatch(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      switch (a.op) {
#define HEED_CASE(name, int_ok)                                                               \
  case UnaryOp::name:                                                                         \
    if constexpr (int_ok || std::is_floating_point_v<T>)                                      \
      Exec::launch(a.l.numel(), UnaryBody<T, fn::name>{a.l, a.out, a.x, fn::name{a.a, a.b}}); \
    else                                                                                      \
      HEED_FAIL("{}: not defined for {}", #name, dtype_v<T>);                                 \
    break;
        HEED_UNARY_OPS(HEED_CASE)
#undef HEED_CASE
      }
    });
  }
  void binary(const BinaryArgs& a) override {
    dispatch(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      switch (a.op) {
#define HEED_CASE(name, is_bool)                                                         \
  case BinaryOp::name: {                                                                 \
    using To = std::conditional_t<is_bool, uint8_t, T>;                                  \
    Exec::launch(a.l.numel(), BinaryBody<To, T, fn::name>{a.l, a.out, a.x, a.y, fn::name{}}); \
    break;                                                                               \
  }
        HEED_BINARY_OPS(HEED_CASE)
#undef HEED_CASE
      }
    });
  }
  void where(const WhereArgs& a) override {
    dispatch(a.dtype, [&](auto tag) {
      Exec::launch(a.l.numel(), WhereBody<decltype(tag)>{a.l, a.out, a.cond, a.x, a.y});
    });
  }
  void reduce(const ReduceArgs& a) override {
    dispatch(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      const ReduceBody<T> body{a.kept, a.reduced, a.reduced.numel(), a.out, a.x, Reducer<T>{a.op}};
      if (body.reduced_n >= kBlockReduceFrom) Exec::launch_blocks(a.kept.numel(), ReduceBlockBody<T>{body});
      else Exec::launch(a.kept.numel(), body);
    });
  }
  void arg_reduce(const ArgReduceArgs& a) override {
    dispatch(a.dtype, [&](auto tag) {
      Exec::launch(a.kept.numel(),
                   ArgReduceBody<decltype(tag)>{a.kept, a.len, a.step, a.out, a.x, a.op == ReduceOp::Max});
    });
  }
  void softmax(const SoftmaxArgs& a) override {
    dispatch_floating(a.dtype, "softmax", [&](auto tag) {
      using T = decltype(tag);
      const SoftmaxBody<T> body{a.cols, reinterpret_cast<T*>(a.out), reinterpret_cast<T*>(a.x), a.log};
      if (a.cols >= kBlockReduceFrom) Exec::launch_blocks(a.rows, SoftmaxBlockBody<T>{body});
      else Exec::launch(a.rows, body);
    });
  }
  void rfft(const RfftArgs& a) override { reference_rfft(a); }
  void index_select(const IndexArgs& a) override {
    dispatch(a.dtype, [&](auto tag) { Exec::launch(a.l.numel(), IndexSelectBody<decltype(tag)>{a}); });
  }
  void index_add(const IndexArgs& a) override {
    dispatch(a.dtype, [&](auto tag) { Exec::launch(a.l.numel(), IndexAddBody<decltype(tag)>{a}); });
  }
  void gather(const GatherArgs& a) override {
    dispatch(a.dtype, [&](auto tag) { Exec::launch(a.l.numel(), GatherBody<decltype(tag)>{a}); });
  }
  void scatter_add(const GatherArgs& a) override {
    dispatch(a.dtype, [&](auto tag) { Exec::launch(a.l.numel(), ScatterAddBody<decltype(tag)>{a}); });
  }
  void random(const RandomArgs& a) override {
    dispatch_floating(a.dtype, "random", [&](auto tag) { Exec::launch(a.n, RandomBody<decltype(tag)>{a}); });
  }
  void dropout(const DropoutArgs& a) override {
    dispatch_floating(a.dtype, "dropout", [&](auto tag) { Exec::launch(a.n, DropoutBody<decltype(tag)>{a}); });
  }
  void layer_norm_forward(const LayerNormArgs& a) override {
    dispatch_floating(a.dtype, "layer_norm",
                      [&](auto tag) { Exec::launch(a.rows, LayerNormForwardBody<decltype(tag)>{a}); });
  }
  void layer_norm_backward(const LayerNormArgs& a) override {
    dispatch_floating(a.dtype, "layer_norm", [&](auto tag) {
      using T = decltype(tag);
      Exec::launch(a.rows, LayerNormBackwardBody<T>{a});
      if (!a.dweight && !a.dbias) return;
      if (a.rows >= kBlockReduceFrom) Exec::launch_blocks(a.cols, LayerNormParamsBlockBody<T>{a});
      else Exec::launch(a.cols, LayerNormParamsBody<T>{a});
    });
  }
  void lstm_cell_forward(const LstmArgs& a) override {
    dispatch_floating(a.dtype, "lstm_step",
                      [&](auto tag) { Exec::launch(a.batch * a.hidden, LstmForwardBody<decltype(tag)>{a}); });
  }
  void adam_step(const AdamArgs& a) override {
    dispatch_floating(a.dtype, "adam_step", [&](auto tag) { Exec::launch(a.l.numel(), AdamBody<decltype(tag)>{a}); });
  }
  void flash_attention_forward(const FlashArgs& a) override {
    dispatch_floating(a.dtype, "scaled_dot_product_attention", [&](auto tag) {
      using T = decltype(tag);
      if (flash_tiles_fit(a)) Exec::launch_blocks(flash_blocks(a, a.T), FlashForwardTiledBody<T>{Flash<T>{a}});
      else Exec::launch(a.B * a.H * a.T, FlashForwardBody<T>{Flash<T>{a}});
    });
  }
  void flash_attention_backward(const FlashArgs& a) override {
    dispatch_floating(a.dtype, "scaled_dot_product_attention", [&](auto tag) {
      using T = decltype(tag);
      Exec::launch(a.B * a.H * a.T, FlashDeltaBody<T>{Flash<T>{a}});
      if (flash_tiles_fit(a)) {
        Exec::launch_blocks(flash_blocks(a, a.T), FlashDqTiledBody<T>{Flash<T>{a}});
        Exec::launch_blocks(flash_blocks(a, a.S), FlashDkvTiledBody<T>{Flash<T>{a}});
      } else {
        Exec::launch(a.B * a.H * a.T, FlashDqBody<T>{Flash<T>{a}});
        Exec::launch(a.B * a.H * a.S, FlashDkvBody<T>{Flash<T>{a}});
      }
    });
  }
  void lstm_cell_backward(const LstmArgs& a) override {
    dispatch_floating(a.dtype, "lstm_step",
                      [&](auto tag) { Exec::launch(a.batch * a.hidden, LstmBackwardBody<decltype(tag)>{a}); });
  }

 protected:
  // The reference GEMM as a kernel (integers on the GPU; every dtype in the emulator).
  void reference_gemm(const GemmArgs& a) {
    dispatch(a.dtype, [&](auto tag) { Exec::launch(a.batch * a.m * a.n, GemmBody<decltype(tag)>{a}); });
  }
  // The DFT summed directly, one thread per bin (the emulator's rfft).
  void reference_rfft(const RfftArgs& a) {
    dispatch_floating(a.dtype, "rfft", [&](auto tag) {
      using T = decltype(tag);
      const int64_t bins = a.n / 2 + 1;
      Exec::launch(a.rows * bins, RfftBody<T>{a.n, bins, reinterpret_cast<T*>(a.out), reinterpret_cast<T*>(a.x)});
    });
  }
};

}  // namespace heed::kernels
