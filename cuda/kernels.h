// The device kernels, written once as bodies: `body(i)` does the work of index i (one output
// element, or one row). An executor runs a body for every i in [0, n): one GPU thread each
// (cuda/backend.cu) or a plain loop on the host (cuda/emulator.cpp). The arithmetic is
// tensor/functors.h's, shared with the CPU backend. Plain C++17 with HEED_HD, so nvcc and the
// host compiler both read it. Kept simple on purpose (one thread per output, no shared memory)
// until a GPU is at hand to measure faster ones against them.
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

// The kernels of Launcher, for an executor Exec with
//   template <class Body> static void launch(int64_t n, const Body& body);
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
#define HEED_CASE(name, is_bool)                                                                     \
  case BinaryOp::name:                                                                               \
    Exec::launch(a.l.numel(),                                                                        \
                 BinaryBody<std::conditional_t<is_bool, uint8_t, T>, T, fn::name>{a.l, a.out, a.x, a.y, fn::name{}}); \
    break;
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
      Exec::launch(a.kept.numel(), ReduceBody<T>{a.kept, a.reduced, a.reduced.numel(), a.out, a.x, Reducer<T>{a.op}});
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
      Exec::launch(a.rows, SoftmaxBody<T>{a.cols, reinterpret_cast<T*>(a.out), reinterpret_cast<T*>(a.x), a.log});
    });
  }
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

 protected:
  // The reference GEMM as a kernel (integers on the GPU; every dtype in the emulator).
  void reference_gemm(const GemmArgs& a) {
    dispatch(a.dtype, [&](auto tag) { Exec::launch(a.batch * a.m * a.n, GemmBody<decltype(tag)>{a}); });
  }
};

}  // namespace heed::kernels
