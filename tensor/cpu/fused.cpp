// The CPU's fused kernels (declared in tensor/cpu/fused.h; contracts in tensor/backend.h):
// dropout in one pass, layer norm forward/backward, and scaled dot-product attention whose
// scores, masks, softmax and dropout are done per (batch, head) in one pass over a T×S block
// between two GEMMs, with no mask tensors and no separate softmax op. OpenBLAS runs
// single-threaded (set_num_threads): OpenMP splits the heads.
#include "tensor/cpu/fused.h"

#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "tensor/cpu/loops.h"
#include "tensor/cpu/vmath.h"
#include "tensor/functors.h"
#include "tensor/philox.h"

namespace heed::cpu {
namespace {

template <class F>
void dispatch_float(DType dtype, const char* op, F&& f) {
  if (dtype == DType::Float32) f(float{});
  else if (dtype == DType::Float64) f(double{});
  else HEED_FAIL("{}: expected float32 or float64, got {}", op, dtype);
}

// Row-major C = alpha·op(A)·op(B) + beta·C.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

// Random words of the Philox stream for counters c0 … c0+n−1 (4 each, exactly as philox::draw
// gives them). Vectorised with one counter per 64-bit lane where the CPU has AVX-512 or AVX2.
// (The intrinsics headers trip GCC's -Wmaybe-uninitialized through _mm512_undefined_epi32.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define HEED_PHILOX_LANES(NAME, TARGET, V, LANES, SET1, SETR, ADD, AND, SRLI, XOR, MUL, STORE)              \
  struct NAME {                                                                                          \
    __attribute__((target(TARGET))) static void run(uint64_t seed, uint64_t c0, int n, uint32_t* words) { \
      const V low = SET1(0xFFFFFFFFll), m0 = SET1(0xD2511F53ll), m1 = SET1(0xCD9E8D57ll);                \
      alignas(64) uint64_t out[4][LANES];                                                                \
      for (int base = 0; base < n; base += LANES) {                                                      \
        const V c = ADD(SET1(static_cast<long long>(c0 + static_cast<uint64_t>(base))), SETR);           \
        V x0 = AND(c, low), x1 = SRLI(c, 32), x2 = SET1(0), x3 = SET1(0);                                \
        uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);               \
        for (int round = 0; round < 10; ++round) {                                                       \
          const V p0 = MUL(x0, m0), p1 = MUL(x2, m1);                                                    \
          const V n0 = XOR(XOR(SRLI(p1, 32), x1), SET1(k0)), n2 = XOR(XOR(SRLI(p0, 32), x3), SET1(k1));  \
          x1 = AND(p1, low), x3 = AND(p0, low), x0 = n0, x2 = n2;                                        \
          k0 += 0x9E3779B9u;                                                                             \
          k1 += 0xBB67AE85u;                                                                             \
        }                                                                                                \
        STORE(reinterpret_cast<V*>(out[0]), x0);                                                         \
        STORE(reinterpret_cast<V*>(out[1]), x1);                                                         \
        STORE(reinterpret_cast<V*>(out[2]), x2);                                                         \
        STORE(reinterpret_cast<V*>(out[3]), x3);                                                         \
        for (int l = 0; l < LANES && base + l < n; ++l)                                                  \
          for (int w = 0; w < 4; ++w) words[4 * (base + l) + w] = static_cast<uint32_t>(out[w][l]);      \
      }                                                                                                  \
    }                                                                                                    \
  };

HEED_PHILOX_LANES(PhiloxAvx512, "avx512f", __m512i, 8, _mm512_set1_epi64, _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7),
                  _mm512_add_epi64, _mm512_and_si512, _mm512_srli_epi64, _mm512_xor_si512, _mm512_mul_epu32,
                  _mm512_store_si512)
HEED_PHILOX_LANES(PhiloxAvx2, "avx2", __m256i, 4, _mm256_set1_epi64x, _mm256_setr_epi64x(0, 1, 2, 3), _mm256_add_epi64,
                  _mm256_and_si256, _mm256_srli_epi64, _mm256_xor_si256, _mm256_mul_epu32, _mm256_store_si256)
#undef HEED_PHILOX_LANES
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void philox_words(uint64_t seed, uint64_t c0, int n, uint32_t* words) {
  static const int isa = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
  if (isa == 2) return PhiloxAvx512::run(seed, c0, n, words);
  if (isa == 1) return PhiloxAvx2::run(seed, c0, n, words);
  for (int j = 0; j < n; ++j) {
    const philox::U32x4 r = philox::draw(c0 + static_cast<uint64_t>(j), seed);
    for (int w = 0; w < 4; ++w) words[4 * j + w] = r.v[w];
  }
}

// The loops over tensor/cpu/vmath.h, compiled for AVX-512, AVX2 and the baseline (SSE2); the
// loader picks the clone for the CPU it runs on (the bodies are inlined into each clone). float
// only: float64 keeps libm.
#define HEED_VMATH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// One row of an LSTM step: gates (i, f, g, o) activated in place, the next cell state, its tanh
// and the next hidden state.
template <class T>
[[gnu::always_inline]] inline void lstm_row(T* i, T* f, T* g, T* o, const T* c, T* c_next, T* tanh_c, T* h, int64_t n) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    i[k] = vmath::sigmoid(i[k]), f[k] = vmath::sigmoid(f[k]), g[k] = vmath::tanh(g[k]), o[k] = vmath::sigmoid(o[k]);
    const T cn = f[k] * c[k] + i[k] * g[k], t = vmath::tanh(cn);
    c_next[k] = cn, tanh_c[k] = t, h[k] = o[k] * t;
  }
}
HEED_VMATH_CLONES void lstm_row_float(float* i, float* f, float* g, float* o, const float* c, float* c_next,
                                      float* tanh_c, float* h, int64_t n) {
  lstm_row(i, f, g, o, c, c_next, tanh_c, h, n);
}

// row[s] = exp(row[s] - mx) for s < n; returns their sum.
template <class T>
[[gnu::always_inline]] inline T exp_shifted(T* row, int64_t n, T mx) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t s = 0; s < n; ++s) {
    row[s] = vmath::exp(row[s] - mx);
    sum += row[s];
  }
  return sum;
}
HEED_VMATH_CLONES float exp_shifted_float(float* row, int64_t n, float mx) { return exp_shifted(row, n, mx); }
float exp_shifted_any(float* row, int64_t n, float mx) { return exp_shifted_float(row, n, mx); }
double exp_shifted_any(double* row, int64_t n, double mx) { return exp_shifted(row, n, mx); }

// keep[j] = 1 when element begin+j of a dropout stream is kept, i.e. when
// philox::uniform(seed, offset, begin+j) < keep_p: (word >> 8) / 2^24 < keep_p, compared exactly
// in integers as (word >> 8) < ⌈keep_p·2^24⌉.
void dropout_keep(uint64_t seed, uint64_t offset, uint64_t begin, int64_t n, double keep_p, uint8_t* keep) {
  const auto threshold = static_cast<uint32_t>(std::ceil(keep_p * 16777216.0));
  constexpr int64_t kCounters = 256;
  uint32_t words[4 * kCounters];
  int64_t j = 0;
  while (j < n) {
    const uint64_t i = begin + static_cast<uint64_t>(j);
    const int64_t skip = static_cast<int64_t>(i % 4);
    const int64_t count = std::min<int64_t>(kCounters, (skip + (n - j) + 3) / 4);
    philox_words(seed, offset + i / 4, static_cast<int>(count), words);
    const int64_t take = std::min(4 * count - skip, n - j);
    for (int64_t t = 0; t < take; ++t) keep[j + t] = (words[skip + t] >> 8) < threshold;
    j += take;
  }
}

// The (T,·) matrix of head (b, h) in a (B,H,T,·) tensor whose data starts at `base`.
template <class T>
T* head_of(T* base, const Tensor& t, int64_t b, int64_t h) {
  return base + b * t.stride(0) + h * t.stride(1);
}

// Element (b,h,t,s) of a tensor expanded to (B,H,T,S).
template <class T>
struct Bhts {
  const T* data = nullptr;
  int64_t sb = 0, sh = 0, st = 0, ss = 0;
  explicit Bhts(const Tensor& t) {
    if (!t.defined()) return;
    data = t.data_ptr<T>();
    sb = t.stride(0), sh = t.stride(1), st = t.stride(2), ss = t.stride(3);
  }
  const T* row(int64_t b, int64_t h, int64_t t) const { return data + b * sb + h * sh + t * st; }
};

}  // namespace

HEED_VMATH_CLONES void gelu_float(const float* x, float* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = vmath::gelu(x[i]);
}
HEED_VMATH_CLONES void gelu_backward_float(const float* g, const float* x, float* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] * vmath::gelu_derivative(x[i]);
}

void dropout(const Tensor& x, const Tensor& out, double p, uint64_t seed, uint64_t offset) {
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data_ptr<T>();
    T* po = out.data_ptr<T>();
    const T kept_scale = static_cast<T>(1.0 / (1.0 - p));
    constexpr int64_t kChunk = 4096;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for if (n >= kParallelGrain)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * kChunk, len = std::min(kChunk, n - begin);
      uint8_t keep[kChunk];
      dropout_keep(seed, offset, static_cast<uint64_t>(begin), len, 1.0 - p, keep);
      for (int64_t j = 0; j < len; ++j) po[begin + j] = px[begin + j] * (keep[j] ? kept_scale : T(0));
    }
  });
}

void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd) {
  const int64_t C = x.size(-1), R = C > 0 ? x.numel() / C : 0;
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data_ptr<T>();
    const T* w = weight.defined() ? weight.data_ptr<T>() : nullptr;
    const T* b = bias.defined() ? bias.data_ptr<T>() : nullptr;
    T *py = y.data_ptr<T>(), *pm = mean.data_ptr<T>(), *pr = rstd.data_ptr<T>();
#pragma omp parallel for if (R * C >= kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = px + r * C;
      T* yr = py + r * C;
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) sum += xr[c];
      const double mu = sum / static_cast<double>(C);
      double sq = 0;
      for (int64_t c = 0; c < C; ++c) sq += (xr[c] - mu) * (xr[c] - mu);
      const T m = static_cast<T>(mu), rs = static_cast<T>(1.0 / std::sqrt(sq / static_cast<double>(C) + eps));
      pm[r] = m;
      pr[r] = rs;
      for (int64_t c = 0; c < C; ++c) {
        T v = (xr[c] - m) * rs;
        if (w) v *= w[c];
        if (b) v += b[c];
        yr[c] = v;
      }
    }
  });
}

void layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                         const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const int64_t C = x.size(-1), R = C > 0 ? x.numel() / C : 0;
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data_ptr<T>(), *pdy = dy.data_ptr<T>(), *pm = mean.data_ptr<T>(), *pr = rstd.data_ptr<T>();
    const T* w = weight.defined() ? weight.data_ptr<T>() : nullptr;
    T* pdx = dx.data_ptr<T>();
    const bool want_params = dweight.defined() || dbias.defined();
    const int threads = R * C >= kParallelGrain ? omp_get_max_threads() : 1;
    // Per-thread column sums of dy·x̂ and dy, added up in thread order (deterministic).
    std::vector<double> dw_parts(want_params ? static_cast<size_t>(threads * C) : 0, 0.0),
        db_parts(dw_parts.size(), 0.0);
#pragma omp parallel num_threads(threads)
    {
      const int64_t tid = omp_get_thread_num(), nt = omp_get_num_threads();
      double* dwp = want_params ? dw_parts.data() + tid * C : nullptr;
      double* dbp = want_params ? db_parts.data() + tid * C : nullptr;
      for (int64_t r = R * tid / nt; r < R * (tid + 1) / nt; ++r) {
        const T *xr = px + r * C, *gr = pdy + r * C;
        const T m = pm[r], rs = pr[r];
        double sum_g = 0, sum_gx = 0;  // Σ g and Σ g·x̂, with g = dy·weight
        for (int64_t c = 0; c < C; ++c) {
          const T xhat = (xr[c] - m) * rs, g = w ? gr[c] * w[c] : gr[c];
          sum_g += g;
          sum_gx += g * xhat;
          if (want_params) {
            dwp[c] += gr[c] * xhat;
            dbp[c] += gr[c];
          }
        }
        const T mean_g = static_cast<T>(sum_g / static_cast<double>(C)),
                mean_gx = static_cast<T>(sum_gx / static_cast<double>(C));
        T* dxr = pdx + r * C;
        for (int64_t c = 0; c < C; ++c) {
          const T xhat = (xr[c] - m) * rs, g = w ? gr[c] * w[c] : gr[c];
          dxr[c] = rs * (g - mean_g - xhat * mean_gx);
        }
      }
    }
    for (const auto& [out, parts] : {std::pair{&dweight, &dw_parts}, std::pair{&dbias, &db_parts}}) {
      if (!out->defined()) continue;
      T* po = out->template data_ptr<T>();
      for (int64_t c = 0; c < C; ++c) {
        double acc = 0;
        for (int t = 0; t < threads; ++t) acc += (*parts)[static_cast<size_t>(t * C + c)];
        po[c] = static_cast<T>(acc);
      }
    }
  });
}

void lstm_cell_forward(const Tensor& gates, const Tensor& c, const Tensor& c_next, const Tensor& tanh_c,
                       const Tensor& h_next) {
  const int64_t B = c.size(0), N = c.size(1);
  dispatch_float(c.dtype(), "lstm_step", [&](auto tag) {
    using T = decltype(tag);
    T* a = gates.data_ptr<T>();
    const T* pc = c.data_ptr<T>();
    T *pcn = c_next.data_ptr<T>(), *pt = tanh_c.data_ptr<T>(), *ph = h_next.data_ptr<T>();
#pragma omp parallel for if (B * N >= kParallelGrain / 8)
    for (int64_t b = 0; b < B; ++b) {
      T *i = a + b * 4 * N, *f = i + N, *g = f + N, *o = g + N;
      const int64_t at = b * N;
      if constexpr (std::is_same_v<T, float>) lstm_row_float(i, f, g, o, pc + at, pcn + at, pt + at, ph + at, N);
      else lstm_row(i, f, g, o, pc + at, pcn + at, pt + at, ph + at, N);
    }
  });
}

void lstm_cell_backward(const Tensor& gates, const Tensor& c, const Tensor& tanh_c, const Tensor& dh_next,
                        const Tensor& dc_next, const Tensor& dgates, const Tensor& dc) {
  const int64_t B = c.size(0), N = c.size(1);
  dispatch_float(c.dtype(), "lstm_step", [&](auto tag) {
    using T = decltype(tag);
    const T *a = gates.data_ptr<T>(), *pc = c.data_ptr<T>(), *pt = tanh_c.data_ptr<T>(), *dh = dh_next.data_ptr<T>(),
            *dcn = dc_next.data_ptr<T>();
    T *dg = dgates.data_ptr<T>(), *pdc = dc.data_ptr<T>();
#pragma omp parallel for if (B * N >= kParallelGrain / 8)
    for (int64_t b = 0; b < B; ++b) {
      const T *i = a + b * 4 * N, *f = i + N, *g = f + N, *o = g + N;
      T *di = dg + b * 4 * N, *df = di + N, *dgg = df + N, *d_o = dgg + N;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t k = b * N + n;
        const T t = pt[k], dct = dcn[k] + dh[k] * o[n] * (T(1) - t * t);
        d_o[n] = dh[k] * t * o[n] * (T(1) - o[n]);
        di[n] = dct * g[n] * i[n] * (T(1) - i[n]);
        df[n] = dct * pc[k] * f[n] * (T(1) - f[n]);
        dgg[n] = dct * i[n] * (T(1) - g[n] * g[n]);
        pdc[k] = dct * f[n];
      }
    }
  });
}

void attention_forward(const AttentionArgs& a, const Tensor& probs, const Tensor& out) {
  const int64_t B = a.q.size(0), H = a.q.size(1), T_ = a.q.size(2), D = a.q.size(3), S = a.k.size(2),
                Dv = a.v.size(3);
  dispatch_float(a.q.dtype(), "scaled_dot_product_attention", [&](auto tag) {
    using T = decltype(tag);
    const Bhts<uint8_t> blocked(a.blocked);
    const Bhts<T> additive(a.additive);
    const T* q = a.q.data_ptr<T>();
    const T* k = a.k.data_ptr<T>();
    const T* v = a.v.data_ptr<T>();
    T* P = probs.data_ptr<T>();
    T* o = out.data_ptr<T>();
    const bool drop = a.dropout_p > 0;
    const T kept_scale = static_cast<T>(drop ? 1.0 / (1.0 - a.dropout_p) : 1.0);
    const T neg_inf = -std::numeric_limits<T>::infinity();
#pragma omp parallel
    {
      std::vector<T> dropped(drop ? static_cast<size_t>(T_ * S) : 0);
      std::vector<uint8_t> keep(dropped.size());
#pragma omp for schedule(static)
      for (int64_t bh = 0; bh < B * H; ++bh) {
        const int64_t b = bh / H, h = bh % H;
        const T* qb = head_of(q, a.q, b, h);
        const T* kb = head_of(k, a.k, b, h);
        const T* vb = head_of(v, a.v, b, h);
        T* pb = P + bh * T_ * S;
        gemm(false, true, T_, S, D, static_cast<T>(a.scale), qb, a.q.stride(2), kb, a.k.stride(2), T(0), pb, S);
        for (int64_t t = 0; t < T_; ++t) {
          T* row = pb + t * S;
          if (additive.data) {
            const T* add = additive.row(b, h, t);
            for (int64_t s = 0; s < S; ++s) row[s] += add[s * additive.ss];
          }
          if (blocked.data) {
            const uint8_t* m = blocked.row(b, h, t);
            for (int64_t s = 0; s < S; ++s)
              if (m[s * blocked.ss]) row[s] = neg_inf;
          }
          if (a.causal)
            for (int64_t s = t + 1; s < S; ++s) row[s] = neg_inf;
          T mx = neg_inf;
          for (int64_t s = 0; s < S; ++s) mx = row[s] > mx ? row[s] : mx;
          if (mx == neg_inf) {  // nothing to attend to: zero weights, as heed's composite gives
            for (int64_t s = 0; s < S; ++s) row[s] = 0;
            continue;
          }
          const T sum = exp_shifted_any(row, S, mx);
          const T inv = T(1) / sum;
          for (int64_t s = 0; s < S; ++s) row[s] *= inv;
        }
        const T* weights = pb;
        if (drop) {
          dropout_keep(a.seed, a.offset, static_cast<uint64_t>(bh * T_ * S), T_ * S, 1.0 - a.dropout_p, keep.data());
          for (int64_t j = 0; j < T_ * S; ++j) dropped[j] = pb[j] * (keep[j] ? kept_scale : T(0));
          weights = dropped.data();
        }
        T* ob = head_of(o, out, b, h);
        gemm(false, false, T_, Dv, S, T(1), weights, S, vb, a.v.stride(2), T(0), ob, out.stride(2));
      }
    }
  });
}

void attention_backward(const AttentionArgs& a, const Tensor& probs, const Tensor& dout, const Tensor& dprobs,
                        const Tensor& dq, const Tensor& dk, const Tensor& dv) {
  const int64_t B = a.q.size(0), H = a.q.size(1), T_ = a.q.size(2), D = a.q.size(3), S = a.k.size(2),
                Dv = a.v.size(3);
  dispatch_float(a.q.dtype(), "scaled_dot_product_attention", [&](auto tag) {
    using T = decltype(tag);
    const T *q = a.q.data_ptr<T>(), *k = a.k.data_ptr<T>(), *v = a.v.data_ptr<T>();
    const T *P = probs.data_ptr<T>(), *dO = dout.data_ptr<T>();
    const T* dW = dprobs.defined() ? dprobs.data_ptr<T>() : nullptr;
    T *dQ = dq.data_ptr<T>(), *dK = dk.data_ptr<T>(), *dV = dv.data_ptr<T>();
    const bool drop = a.dropout_p > 0;
    const T kept_scale = static_cast<T>(drop ? 1.0 / (1.0 - a.dropout_p) : 1.0);
    const T scale = static_cast<T>(a.scale);
#pragma omp parallel
    {
      std::vector<T> dS(static_cast<size_t>(T_ * S)), factor(drop ? static_cast<size_t>(T_ * S) : 0),
          dropped(factor.size());
      std::vector<uint8_t> keep(factor.size());
#pragma omp for schedule(static)
      for (int64_t bh = 0; bh < B * H; ++bh) {
        const int64_t b = bh / H, h = bh % H;
        const T* qb = head_of(q, a.q, b, h);
        const T* kb = head_of(k, a.k, b, h);
        const T* vb = head_of(v, a.v, b, h);
        const T* dob = head_of(dO, dout, b, h);
        const T* pb = P + bh * T_ * S;
        const T* weights = pb;  // the weights applied to v, after dropout
        if (drop) {
          dropout_keep(a.seed, a.offset, static_cast<uint64_t>(bh * T_ * S), T_ * S, 1.0 - a.dropout_p, keep.data());
          for (int64_t j = 0; j < T_ * S; ++j) {
            factor[j] = keep[j] ? kept_scale : T(0);
            dropped[j] = pb[j] * factor[j];
          }
          weights = dropped.data();
        }
        // dV = weightsᵀ·dO;  dweights = dO·Vᵀ
        gemm(true, false, S, Dv, T_, T(1), weights, S, dob, dout.stride(2), T(0),
             head_of(dV, dv, b, h), dv.stride(2));
        gemm(false, true, T_, S, Dv, T(1), dob, dout.stride(2), vb, a.v.stride(2), T(0), dS.data(), S);
        // Through dropout and softmax: dscores = P ⊙ (dP − Σ_s P·dP)
        for (int64_t t = 0; t < T_; ++t) {
          T* g = dS.data() + t * S;
          const T* p = pb + t * S;
          if (drop)
            for (int64_t s = 0; s < S; ++s) g[s] *= factor[t * S + s];
          if (dW)
            for (int64_t s = 0; s < S; ++s) g[s] += dW[bh * T_ * S + t * S + s];
          T dot = 0;
          for (int64_t s = 0; s < S; ++s) dot += p[s] * g[s];
          for (int64_t s = 0; s < S; ++s) g[s] = p[s] * (g[s] - dot);
        }
        // dQ = scale·dscores·K;  dK = scale·dscoresᵀ·Q
        gemm(false, false, T_, D, S, scale, dS.data(), S, kb, a.k.stride(2), T(0),
             head_of(dQ, dq, b, h), dq.stride(2));
        gemm(true, false, S, D, T_, scale, dS.data(), S, qb, a.q.stride(2), T(0),
             head_of(dK, dk, b, h), dk.stride(2));
      }
    }
  });
}

}  // namespace heed::cpu
