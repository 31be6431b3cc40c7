// The CPU backend: every Backend primitive as OpenMP loops over strided memory, and GEMM
// through OpenBLAS. The arithmetic comes from tensor/functors.h.
#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <algorithm>
#include <complex>
#include <cstring>
#include <limits>
#include <vector>

#include <kissfft/kissfft.hh>

#include "tensor/backend.h"
#include "tensor/caching_allocator.h"
#include "tensor/cpu/fused.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/vmath.h"
#include "tensor/philox.h"

namespace heed::cpu {
namespace {

template <typename T>
inline T& at(char* p, int64_t stride, int64_t i) {
  return *reinterpret_cast<T*>(p + i * stride);
}

// Unit-stride and broadcast-scalar rows get their own loops so the compiler can vectorise.
template <typename To, typename Ti, typename F>
void unary_loop(const Tensor& x, const Tensor& out, F f) {
  auto l = make_layout<2>(out.shape(), {&out, &x});
  walk(l, bases<2>({&out, &x}), [f](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(To) && s[1] == sizeof(Ti)) {
      To* o = reinterpret_cast<To*>(p[0]);
      const Ti* a = reinterpret_cast<const Ti*>(p[1]);
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<To>(f(a[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) at<To>(p[0], s[0], i) = static_cast<To>(f(at<Ti>(p[1], s[1], i)));
    }
  });
}

template <typename To, typename T, typename F>
void binary_loop(const Tensor& x, const Tensor& y, const Tensor& out, F f) {
  auto l = make_layout<3>(out.shape(), {&out, &x, &y});
  walk(l, bases<3>({&out, &x, &y}), [f](char** p, const int64_t* s, int64_t n) {
    To* o = reinterpret_cast<To*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    const T* b = reinterpret_cast<const T*>(p[2]);
    constexpr int64_t e = sizeof(T);
    if (s[0] == sizeof(To) && s[1] == e && s[2] == e) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
    } else if (s[0] == sizeof(To) && s[1] == e && s[2] == 0) {
      const T bv = *b;
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
    } else if (s[0] == sizeof(To) && s[1] == 0 && s[2] == e) {
      const T av = *a;
      for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) at<To>(p[0], s[0], i) = f(at<T>(p[1], s[1], i), at<T>(p[2], s[2], i));
    }
  });
}

template <typename T>
struct Reducer {
  ReduceOp op;
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  Acc init() const {
    if (op == ReduceOp::Sum) return 0;
    if constexpr (std::is_floating_point_v<T>)
      return op == ReduceOp::Max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    else
      return op == ReduceOp::Max ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  // NaN wins max and min, as in PyTorch.
  Acc combine(Acc acc, Acc v) const {
    if (op == ReduceOp::Sum) return acc + v;
    if (v != v) return v;
    if (acc != acc) return acc;
    return op == ReduceOp::Max ? (v > acc ? v : acc) : (v < acc ? v : acc);
  }
};

// Multiply-adds below which a GEMM is not split into blocks across threads, and below which a
// whole batch of GEMMs stays on one thread.
constexpr int64_t kSplitGemm = int64_t{1} << 21, kParallelGemm = int64_t{1} << 18;

class CpuBackend final : public Backend {
 public:
  CpuBackend() { openblas_set_num_threads(1); }  // heed's OpenMP threads split GEMMs (gemm below)
  const char* name() const override { return "cpu"; }

  void* allocate(size_t nbytes, int) override { return allocator_.allocate(nbytes); }
  void deallocate(void* ptr, size_t nbytes, int) override { allocator_.deallocate(ptr, nbytes); }
  void empty_cache(int) override { allocator_.empty_cache(); }
  MemoryStats memory_stats(int) const override { return allocator_.stats(); }
  void reset_peak_memory(int) override { allocator_.reset_peak(); }
  void copy_from_host(void* dst, const void* src, size_t nbytes) override { std::memcpy(dst, src, nbytes); }
  void copy_to_host(void* dst, const void* src, size_t nbytes) override { std::memcpy(dst, src, nbytes); }

  void copy(const Tensor& src, const Tensor& dst) override {
    if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
      std::memcpy(dst.raw_data(), src.raw_data(), static_cast<size_t>(src.numel()) * dtype_size(src.dtype()));
      return;
    }
    dispatch(dst.dtype(), [&](auto to) {
      dispatch(src.dtype(), [&](auto ti) {
        using To = decltype(to);
        using Ti = decltype(ti);
        unary_loop<To, Ti>(src, dst, [](Ti v) { return static_cast<To>(v); });
      });
    });
  }

  void fill(const Tensor& dst, double value) override {
    dispatch(dst.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T v = static_cast<T>(value);
      auto l = make_layout<1>(dst.shape(), {&dst});
      walk(l, bases<1>({&dst}), [v](char** p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) at<T>(p[0], s[0], i) = v;
      });
    });
  }

  void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) override {
    if (op == UnaryOp::Gelu && out.dtype() == DType::Float32 && x.dtype() == DType::Float32) {
      auto l = make_layout<2>(out.shape(), {&out, &x});
      walk(l, bases<2>({&out, &x}), [](char** p, const int64_t* s, int64_t n) {
        if (s[0] == 4 && s[1] == 4) return gelu_float(reinterpret_cast<const float*>(p[1]), reinterpret_cast<float*>(p[0]), n);
        for (int64_t i = 0; i < n; ++i) at<float>(p[0], s[0], i) = vmath::gelu(at<float>(p[1], s[1], i));
      });
      return;
    }
    dispatch(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      switch (op) {
#define HEED_CASE(name, int_ok)                                           \
  case UnaryOp::name:                                                     \
    if constexpr (int_ok || std::is_floating_point_v<T>)                  \
      unary_loop<T, T>(x, out, fn::name{a, b});                           \
    else                                                                  \
      HEED_FAIL("{}: not defined for {}", #name, dtype_v<T>);             \
    break;
        HEED_UNARY_OPS(HEED_CASE)
#undef HEED_CASE
      }
    });
  }

  void binary(BinaryOp op, const Tensor& x, const Tensor& y, const Tensor& out) override {
    if (op == BinaryOp::GeluBackward && x.dtype() == DType::Float32) {  // x: the gradient, y: gelu's input
      auto l = make_layout<3>(out.shape(), {&out, &x, &y});
      walk(l, bases<3>({&out, &x, &y}), [](char** p, const int64_t* s, int64_t n) {
        if (s[0] == 4 && s[1] == 4 && s[2] == 4)
          return gelu_backward_float(reinterpret_cast<const float*>(p[1]), reinterpret_cast<const float*>(p[2]),
                                     reinterpret_cast<float*>(p[0]), n);
        for (int64_t i = 0; i < n; ++i)
          at<float>(p[0], s[0], i) = at<float>(p[1], s[1], i) * vmath::gelu_derivative(at<float>(p[2], s[2], i));
      });
      return;
    }
    dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      switch (op) {
#define HEED_CASE(name, is_bool)                                                   \
  case BinaryOp::name:                                                             \
    binary_loop<std::conditional_t<is_bool, uint8_t, T>, T>(x, y, out, fn::name{}); \
    break;
        HEED_BINARY_OPS(HEED_CASE)
#undef HEED_CASE
      }
    });
  }

  void where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) override {
    dispatch(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto l = make_layout<4>(out.shape(), {&out, &cond, &x, &y});
      walk(l, bases<4>({&out, &cond, &x, &y}), [](char** p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          at<T>(p[0], s[0], i) = at<uint8_t>(p[1], s[1], i) ? at<T>(p[2], s[2], i) : at<T>(p[3], s[3], i);
      });
    });
  }

  void reduce(ReduceOp op, const Tensor& x, const Tensor& out) override {
    if (reduce_leading(op, x, out)) return;
    // x's dims split into kept (walked by the outer loop, with out) and reduced (inner loop).
    const ReduceDims dims = split_reduce_dims(x, out);
    const Shape &kept_shape = dims.kept_shape, &kept_x = dims.kept_x, &kept_out = dims.kept_out;
    const Shape &red_shape = dims.reduced_shape, &red_x = dims.reduced_x;
    dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Reducer<T> r{op};
      using Acc = typename Reducer<T>::Acc;
      Tensor xr = strided_alias(x, red_shape, red_x);
      auto rl = make_layout<1>(red_shape, {&xr});
      const int64_t red_numel = rl.numel();
      // Reduces the block starting at `p` into one value.
      auto reduce_block = [&](char* p, int64_t begin, int64_t end) {
        Acc acc = r.init();
        auto row = [&](char** q, const int64_t* s, int64_t n) {
          if (op == ReduceOp::Sum && s[0] == sizeof(T)) {
            const T* v = reinterpret_cast<const T*>(q[0]);
            Acc part = 0;
            for (int64_t i = 0; i < n; ++i) part += static_cast<Acc>(v[i]);
            acc += part;
          } else {
            for (int64_t i = 0; i < n; ++i) acc = r.combine(acc, static_cast<Acc>(at<T>(q[0], s[0], i)));
          }
        };
        walk_range(rl, {p}, begin, end, row);
        return acc;
      };
      Tensor xk = strided_alias(x, kept_shape, kept_x), ok = strided_alias(out, kept_shape, kept_out);
      auto kl = make_layout<2>(kept_shape, {&ok, &xk});
      const int64_t kept_numel = kl.numel();
      const int threads = omp_get_max_threads();
      if (kept_numel < threads && red_numel >= kParallelGrain && threads > 1) {
        // Few outputs, long reductions: split each reduction across threads.
        auto row = [&](char** p, const int64_t* s, int64_t n) {
          for (int64_t i = 0; i < n; ++i) {
            std::vector<Acc> parts(threads, r.init());
#pragma omp parallel num_threads(threads)
            {
              int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
              parts[t] = reduce_block(p[1] + i * s[1], red_numel * t / nt, red_numel * (t + 1) / nt);
            }
            Acc acc = r.init();
            for (Acc v : parts) acc = r.combine(acc, v);
            at<T>(p[0], s[0], i) = static_cast<T>(acc);
          }
        };
        walk_range(kl, bases<2>({&ok, &xk}), 0, kept_numel, row);
        return;
      }
      walk(kl, bases<2>({&ok, &xk}), [&](char** p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          at<T>(p[0], s[0], i) = static_cast<T>(reduce_block(p[1] + i * s[1], 0, red_numel));
      }, kept_numel * red_numel >= kParallelGrain);
    });
  }

  // A contiguous x reduced over its leading dims only (a bias gradient: (rows, C) -> (C)):
  // rows are combined into a column accumulator, so the inner loop runs along memory.
  static bool reduce_leading(ReduceOp op, const Tensor& x, const Tensor& out) {
    if (!x.is_contiguous() || !out.is_contiguous()) return false;
    int64_t lead = 0;
    while (lead < x.dim() && out.shape()[lead] == 1) ++lead;
    for (int64_t d = lead; d < x.dim(); ++d)
      if (out.shape()[d] != x.shape()[d]) return false;
    const int64_t cols = out.numel(), rows = cols > 0 ? x.numel() / cols : 0;
    if (lead == 0 || cols < 16 || rows < 2) return false;
    dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Reducer<T> r{op};
      using Acc = typename Reducer<T>::Acc;
      const T* px = x.data_ptr<T>();
      T* po = out.data_ptr<T>();
      constexpr int64_t kBlock = 256;  // columns per task: the accumulator stays in L1
      const int64_t blocks = (cols + kBlock - 1) / kBlock;
#pragma omp parallel for if (rows * cols >= kParallelGrain && blocks > 1)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t c0 = blk * kBlock, n = std::min(kBlock, cols - c0);
        Acc acc[kBlock];
        for (int64_t c = 0; c < n; ++c) acc[c] = r.init();
        for (int64_t i = 0; i < rows; ++i) {
          const T* row = px + i * cols + c0;
          if (op == ReduceOp::Sum) {
            for (int64_t c = 0; c < n; ++c) acc[c] += static_cast<Acc>(row[c]);
          } else {
            for (int64_t c = 0; c < n; ++c) acc[c] = r.combine(acc[c], static_cast<Acc>(row[c]));
          }
        }
        for (int64_t c = 0; c < n; ++c) po[c0 + c] = static_cast<T>(acc[c]);
      }
    });
    return true;
  }

  void arg_reduce(ReduceOp op, const Tensor& x, int64_t dim, const Tensor& out) override {
    Shape shape = x.shape(), xs = x.strides(), os = out.strides();
    const int64_t len = shape[dim], step = xs[dim] * static_cast<int64_t>(dtype_size(x.dtype()));
    shape[dim] = 1;
    Tensor xk = strided_alias(x, shape, xs), ok = strided_alias(out, shape, os);
    dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto l = make_layout<2>(shape, {&ok, &xk});
      walk(l, bases<2>({&ok, &xk}), [&](char** p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          char* base = p[1] + i * s[1];
          int64_t best = 0;
          T best_v = *reinterpret_cast<T*>(base);
          for (int64_t k = 1; k < len && best_v == best_v; ++k) {  // the first NaN wins
            T v = *reinterpret_cast<T*>(base + k * step);
            if (v != v || (op == ReduceOp::Max ? v > best_v : v < best_v)) {
              best = k;
              best_v = v;
            }
          }
          at<int64_t>(p[0], s[0], i) = best;
        }
      }, out.numel() * len >= kParallelGrain);
    });
  }

  void gemm(const Tensor& a, const Tensor& b, const Tensor& out) override {
    const int64_t batch = out.shape()[0], M = out.shape()[1], N = out.shape()[2], K = a.shape()[2];
    if (M == 0 || N == 0) return;
    if (K == 0) return fill(out, 0);
    Tensor A = blas_ready(a), B = blas_ready(b);
    dispatch(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      // Plain variables, not structured bindings: clang 14 cannot use those in an OpenMP region.
      const std::pair<CBLAS_TRANSPOSE, int64_t> layout_a = blas_layout(A), layout_b = blas_layout(B);
      const CBLAS_TRANSPOSE ta = layout_a.first, tb = layout_b.first;
      const int64_t lda = layout_a.second, ldb = layout_b.second;
      const int64_t esz = sizeof(T);
      // heed's OpenMP threads split the work and OpenBLAS runs single-threaded inside each
      // part (see set_num_threads): one thread pool, no BLAS threads spinning beside ours.
      // Many products: one per thread. Few large ones: each split into row (or column) blocks.
      const int threads = omp_get_max_threads();
      const bool split_rows = M >= N;
      const int64_t blocks =
          !std::is_floating_point_v<T> || batch >= threads || M * N * K < kSplitGemm ? 1 : std::min<int64_t>(threads, split_rows ? M : N);
      const int64_t tasks = batch * blocks;
#pragma omp parallel for schedule(static) if (tasks > 1 && batch * M * N * K >= kParallelGemm)
      for (int64_t task = 0; task < tasks; ++task) {
        const int64_t i = task / blocks, blk = task % blocks;
        const int64_t len = split_rows ? M : N, lo = len * blk / blocks, hi = len * (blk + 1) / blocks;
        const int64_t m = split_rows ? hi - lo : M, n = split_rows ? N : hi - lo;
        // The block's first element in op(A) (rows lo…) or op(B) (columns lo…), and in C.
        const int64_t a_shift = split_rows ? (ta == CblasNoTrans ? lo * lda : lo) : 0;
        const int64_t b_shift = split_rows ? 0 : (tb == CblasNoTrans ? lo : lo * ldb);
        const T* pa = reinterpret_cast<const T*>(static_cast<char*>(A.raw_data()) + i * A.strides()[0] * esz) + a_shift;
        const T* pb = reinterpret_cast<const T*>(static_cast<char*>(B.raw_data()) + i * B.strides()[0] * esz) + b_shift;
        T* pc = out.data_ptr<T>() + i * M * N + (split_rows ? lo * N : lo);
        if constexpr (std::is_same_v<T, float>) {
          cblas_sgemm(CblasRowMajor, ta, tb, m, n, K, 1.f, pa, lda, pb, ldb, 0.f, pc, N);
        } else if constexpr (std::is_same_v<T, double>) {
          cblas_dgemm(CblasRowMajor, ta, tb, m, n, K, 1.0, pa, lda, pb, ldb, 0.0, pc, N);
        } else {
          const int64_t sa0 = A.strides()[1], sa1 = A.strides()[2], sb0 = B.strides()[1], sb1 = B.strides()[2];
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
              T acc = 0;
              for (int64_t k = 0; k < K; ++k) acc += pa[m * sa0 + k * sa1] * pb[k * sb0 + n * sb1];
              pc[m * N + n] = acc;
            }
        }
      }
    });
  }

  // KISS FFT's complex transform of each row (imaginary parts zero), its first n/2 + 1 bins kept.
  void rfft(const Tensor& x, const Tensor& out) override {
    const int64_t n = x.shape().back(), rows = x.numel() / n, bins = n / 2 + 1;
    dispatch_floating(x.dtype(), "rfft", [&](auto tag) {
      using T = decltype(tag);
      const kissfft<T> fft(static_cast<size_t>(n), false);
      const T* in = x.data_ptr<T>();
      T* o = out.data_ptr<T>();
#pragma omp parallel if (rows * n >= kParallelGrain)
      {
        std::vector<std::complex<T>> row(static_cast<size_t>(n)), spectrum(static_cast<size_t>(n));
#pragma omp for
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t i = 0; i < n; ++i) row[size_t(i)] = in[r * n + i];
          fft.transform(row.data(), spectrum.data());
          for (int64_t k = 0; k < bins; ++k)
            o[(r * bins + k) * 2] = spectrum[size_t(k)].real(), o[(r * bins + k) * 2 + 1] = spectrum[size_t(k)].imag();
        }
      }
    });
  }

  void softmax(const Tensor& x, const Tensor& out, bool log) override {
    const int64_t cols = x.dim() == 0 ? 1 : x.shape().back();
    const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
    dispatch_floating(x.dtype(), "softmax", [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data_ptr<T>();
      T* o = out.data_ptr<T>();
#pragma omp parallel for if (rows * cols >= kParallelGrain)
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = in + r * cols;
        T* orow = o + r * cols;
        T mx = -std::numeric_limits<T>::infinity();
        for (int64_t c = 0; c < cols; ++c) mx = xr[c] > mx ? xr[c] : mx;
        if (mx == -std::numeric_limits<T>::infinity()) mx = 0;  // a row all -inf gives NaN, as in PyTorch
        double sum = 0;
        if (log) {
          for (int64_t c = 0; c < cols; ++c) sum += vmath::exp(xr[c] - mx);
          const T lse = static_cast<T>(std::log(sum)) + mx;
          for (int64_t c = 0; c < cols; ++c) orow[c] = xr[c] - lse;
        } else {
          for (int64_t c = 0; c < cols; ++c) {
            orow[c] = vmath::exp(xr[c] - mx);
            sum += orow[c];
          }
          const T inv = static_cast<T>(1.0 / sum);
          for (int64_t c = 0; c < cols; ++c) orow[c] *= inv;
        }
      }
    });
  }

  void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) override {
    const int64_t* idx = index.data_ptr<int64_t>();
    const int64_t n = index.numel();
    if (x.is_contiguous() && out.is_contiguous()) {  // rows of `inner` elements, copied whole
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < dim; ++d) outer *= x.shape()[d];
      for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.shape()[d];
      const size_t row = static_cast<size_t>(inner) * dtype_size(x.dtype());
      const char* src = static_cast<const char*>(x.raw_data());
      char* dst = static_cast<char*>(out.raw_data());
      const int64_t xdim = x.shape()[dim];
#pragma omp parallel for collapse(2) if (outer * n * inner >= kParallelGrain)
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < n; ++i)
          std::memcpy(dst + (o * n + i) * row, src + (o * xdim + idx[i]) * row, row);
      return;
    }
    for (int64_t i = 0; i < n; ++i) copy(slice_at(x, dim, idx[i]), slice_at(out, dim, i));
  }

  void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override {
    const int64_t* idx = index.data_ptr<int64_t>();
    for (int64_t i = 0; i < index.numel(); ++i) {
      Tensor o = slice_at(out, dim, idx[i]);
      binary(BinaryOp::Add, o, slice_at(src, dim, i), o);
    }
  }

  void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) override {
    Shape xs = x.strides();
    const int64_t step = xs[dim] * static_cast<int64_t>(dtype_size(x.dtype()));
    xs[dim] = 0;
    Tensor xv = strided_alias(x, index.shape(), xs);
    dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto l = make_layout<3>(index.shape(), {&out, &index, &xv});
      walk(l, bases<3>({&out, &index, &xv}), [step](char** p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          at<T>(p[0], s[0], i) = *reinterpret_cast<T*>(p[2] + i * s[2] + at<int64_t>(p[1], s[1], i) * step);
      });
    });
  }

  void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override {
    Shape os = out.strides();
    const int64_t step = os[dim] * static_cast<int64_t>(dtype_size(out.dtype()));
    os[dim] = 0;
    Tensor ov = strided_alias(out, index.shape(), os);
    dispatch(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto l = make_layout<3>(index.shape(), {&ov, &index, &src});
      walk(l, bases<3>({&ov, &index, &src}), [step](char** p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          *reinterpret_cast<T*>(p[0] + i * s[0] + at<int64_t>(p[1], s[1], i) * step) += at<T>(p[2], s[2], i);
      }, /*parallel=*/false);  // indices may repeat
    });
  }

  void random(RandomKind kind, const Tensor& out, uint64_t seed, uint64_t offset, double a, double b) override {
    const int64_t n = out.numel();
    dispatch_floating(out.dtype(), "random", [&](auto tag) {
      using T = decltype(tag);
      T* o = out.data_ptr<T>();
#pragma omp parallel for if (n >= kParallelGrain)
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t u = static_cast<uint64_t>(i);
        o[i] = kind == RandomKind::Uniform ? static_cast<T>(a + (b - a) * philox::uniform(seed, offset, u))
                                           : static_cast<T>(a + b * philox::normal(seed, offset, u));
      }
    });
  }

  void dropout(const Tensor& x, const Tensor& out, double p, uint64_t seed, uint64_t offset) override {
    cpu::dropout(x, out, p, seed, offset);
  }
  bool has_fused(FusedKernel k) const override { return k != FusedKernel::FlashAttention; }
  void adam_step(const fn::AdamUpdate& u, const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v,
                 const Tensor& v_max) override {
    const Tensor& vm = v_max.defined() ? v_max : v;  // not written unless amsgrad
    dispatch_floating(p.dtype(), "adam_step", [&](auto tag) {
      using T = decltype(tag);
      auto l = make_layout<5>(p.shape(), {&p, &g, &m, &v, &vm});
      walk(l, bases<5>({&p, &g, &m, &v, &vm}), [u](char** q, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          u(at<T>(q[0], s[0], i), at<T>(q[1], s[1], i), at<T>(q[2], s[2], i), at<T>(q[3], s[3], i),
            at<T>(q[4], s[4], i));
      });
    });
  }
  void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                          const Tensor& mean, const Tensor& rstd) override {
    cpu::layer_norm_forward(x, weight, bias, eps, y, mean, rstd);
  }
  void layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                           const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) override {
    cpu::layer_norm_backward(x, weight, mean, rstd, dy, dx, dweight, dbias);
  }
  void lstm_cell_forward(const Tensor& gates, const Tensor& c, const Tensor& c_next, const Tensor& tanh_c,
                         const Tensor& h_next) override {
    cpu::lstm_cell_forward(gates, c, c_next, tanh_c, h_next);
  }
  void lstm_cell_backward(const Tensor& gates, const Tensor& c, const Tensor& tanh_c, const Tensor& dh_next,
                          const Tensor& dc_next, const Tensor& dgates, const Tensor& dc) override {
    cpu::lstm_cell_backward(gates, c, tanh_c, dh_next, dc_next, dgates, dc);
  }
  void attention_forward(const AttentionArgs& args, const Tensor& probs, const Tensor& out) override {
    cpu::attention_forward(args, probs, out);
  }
  void attention_backward(const AttentionArgs& args, const Tensor& probs, const Tensor& dout, const Tensor& dprobs,
                          const Tensor& dq, const Tensor& dk, const Tensor& dv) override {
    cpu::attention_backward(args, probs, dout, dprobs, dq, dk, dv);
  }

 private:
  // Blocks 64-byte aligned; at most 1 GiB stays cached.
  CachingAllocator allocator_{
      "cpu", {[](size_t n, int) { return std::aligned_alloc(64, n); }, [](void* p, int) { std::free(p); }}, 0,
      size_t{1} << 30};

  // A view of t's storage with the given shape and strides (same offset and dtype).
  static Tensor strided_alias(const Tensor& t, const Shape& shape, const Shape& strides) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = t.storage();
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = t.offset();
    impl->dtype = t.dtype();
    return Tensor(std::move(impl));
  }
  // t.select(dim, i) without autograd.
  static Tensor slice_at(const Tensor& t, int64_t dim, int64_t i) {
    Shape shape = t.shape(), strides = t.strides();
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = t.storage();
    impl->offset = t.offset() + i * strides[dim];
    shape.erase(shape.begin() + dim);
    strides.erase(strides.begin() + dim);
    impl->shape = shape;
    impl->strides = strides;
    impl->dtype = t.dtype();
    return Tensor(std::move(impl));
  }

  // A matrix BLAS cannot read as it is (blas_matrix) is copied to contiguous first.
  Tensor blas_ready(const Tensor& t) {
    if (blas_matrix(t).ok) return t;
    auto impl = std::make_shared<TensorImpl>();
    impl->shape = t.shape();
    impl->strides = contiguous_strides(t.shape());
    impl->dtype = t.dtype();
    impl->storage = std::make_shared<Storage>(static_cast<size_t>(t.numel()) * dtype_size(t.dtype()), Device::cpu());
    Tensor c(std::move(impl));
    copy(t, c);
    return c;
  }
  static std::pair<CBLAS_TRANSPOSE, int64_t> blas_layout(const Tensor& t) {
    const BlasMatrix m = blas_matrix(t);
    return {m.trans ? CblasTrans : CblasNoTrans, m.ld};
  }
};

}  // namespace

// Never destroyed: tensors in static storage may still free memory after main returns.
Backend& cpu_backend() {
  static CpuBackend* backend = new CpuBackend;
  return *backend;
}

}  // namespace heed::cpu
