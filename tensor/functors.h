// The scalar arithmetic of every elementwise op, written once. The CPU loops (tensor/cpu/) and
// the CUDA kernels (cuda/) both expand the op lists below over these functors, so a CPU test
// checks the GPU's math too. Each functor holds its parameters (a, b) when it has any.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__CUDACC__)
#define HEED_HD __host__ __device__
#else
#define HEED_HD
#endif

namespace heed::fn {

// X(Name, works_on_integers)
#define HEED_UNARY_OPS(X) \
  X(Neg, true)            \
  X(Abs, true)            \
  X(Sign, true)           \
  X(Relu, true)           \
  X(Clamp, true)          \
  X(Exp, false)           \
  X(Log, false)           \
  X(Sqrt, false)          \
  X(Rsqrt, false)         \
  X(Tanh, false)          \
  X(Sigmoid, false)       \
  X(Gelu, false)          \
  X(GeluTanh, false)      \
  X(Silu, false)          \
  X(Sin, false)           \
  X(Cos, false)           \
  X(Erf, false)           \
  X(Reciprocal, false)    \
  X(PowScalar, false)      \
  X(AddScalar, false)      \
  X(MulScalar, false)      \
  X(DivScalar, false)      \
  X(RSubScalar, false)

// X(Name, result_is_bool)
#define HEED_BINARY_OPS(X) \
  X(Add, false)            \
  X(Sub, false)            \
  X(Mul, false)            \
  X(Div, false)            \
  X(Pow, false)            \
  X(Maximum, false)        \
  X(Minimum, false)        \
  X(Eq, true)              \
  X(Ne, true)              \
  X(Lt, true)              \
  X(Le, true)              \
  X(Gt, true)              \
  X(Ge, true)              \
  X(GeluBackward, false)

struct Neg { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return static_cast<T>(-x); } };
struct Abs { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return x < T(0) ? static_cast<T>(-x) : x; } };
struct Sign {
  double a = 0, b = 0;
  template <class T> HEED_HD T operator()(T x) const { return static_cast<T>((T(0) < x) - (x < T(0))); }
};
// relu'(0) is taken as 0, as in PyTorch.
struct Relu { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return x > T(0) ? x : T(0); } };
// a = lower bound, b = upper bound (±infinity when absent). NaN passes through.
struct Clamp {
  double a = 0, b = 0;
  template <class T> HEED_HD T operator()(T x) const {
    if (static_cast<double>(x) < a) return static_cast<T>(a);
    if (static_cast<double>(x) > b) return static_cast<T>(b);
    return x;
  }
};
struct Exp { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return std::exp(x); } };
struct Log { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return std::log(x); } };
struct Sqrt { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return std::sqrt(x); } };
struct Rsqrt { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return T(1) / std::sqrt(x); } };
struct Tanh { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return std::tanh(x); } };
// Stable for large |x|: never computes exp of a large positive number.
struct Sigmoid {
  double a = 0, b = 0;
  template <class T> HEED_HD T operator()(T x) const {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    T e = std::exp(x);
    return e / (T(1) + e);
  }
};
// gelu(x) = x·Φ(x) = 0.5·x·(1 + erf(x/√2))  (Hendrycks & Gimpel, arXiv:1606.08415)
struct Gelu {
  double a = 0, b = 0;
  template <class T> HEED_HD T operator()(T x) const {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
};
// gelu, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
struct GeluTanh {
  double a = 0, b = 0;
  template <class T> HEED_HD T operator()(T x) const {
    T inner = T(0.79788456080286535588) * (x + T(0.044715) * x * x * x);
    return T(0.5) * x * (T(1) + std::tanh(inner));
  }
};
struct Silu { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return x * Sigmoid{}(x); } };
struct Sin { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return std::sin(x); } };
struct Cos { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return std::cos(x); } };
struct Erf { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return std::erf(x); } };
struct Reciprocal { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return T(1) / x; } };
// a = exponent
struct PowScalar {
  double a = 0, b = 0;
  template <class T> HEED_HD T operator()(T x) const {
    if (a == 2.0) return x * x;
    if (a == 1.0) return x;
    return std::pow(x, static_cast<T>(a));
  }
};

// Tensor-scalar arithmetic (a = the scalar): one pass, no 0-d tensor to broadcast.
struct AddScalar { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return x + static_cast<T>(a); } };
struct MulScalar { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return x * static_cast<T>(a); } };
struct DivScalar { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return x / static_cast<T>(a); } };
struct RSubScalar { double a = 0, b = 0; template <class T> HEED_HD T operator()(T x) const { return static_cast<T>(a) - x; } };

struct Add { template <class T> HEED_HD T operator()(T x, T y) const { return static_cast<T>(x + y); } };
struct Sub { template <class T> HEED_HD T operator()(T x, T y) const { return static_cast<T>(x - y); } };
struct Mul { template <class T> HEED_HD T operator()(T x, T y) const { return static_cast<T>(x * y); } };
struct Div { template <class T> HEED_HD T operator()(T x, T y) const { return static_cast<T>(x / y); } };
struct Pow {
  template <class T> HEED_HD T operator()(T x, T y) const {
    return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
  }
};
// NaN propagates, as in PyTorch's maximum/minimum.
struct Maximum {
  template <class T> HEED_HD T operator()(T x, T y) const {
    if (x != x) return x;
    if (y != y) return y;
    return x > y ? x : y;
  }
};
struct Minimum {
  template <class T> HEED_HD T operator()(T x, T y) const {
    if (x != x) return x;
    if (y != y) return y;
    return x < y ? x : y;
  }
};
// The gradient of Gelu in one pass: g·gelu'(x) = g·(Φ(x) + x·φ(x)) (integers computed in double).
struct GeluBackward {
  template <class T> HEED_HD T operator()(T g, T x) const {
    using C = std::conditional_t<std::is_floating_point_v<T>, T, double>;
    const C v = static_cast<C>(x);
    const C cdf = C(0.5) * (C(1) + std::erf(v * C(0.70710678118654752440)));
    const C pdf = C(0.39894228040143267794) * std::exp(C(-0.5) * v * v);
    return static_cast<T>(static_cast<C>(g) * (cdf + v * pdf));
  }
};
struct Eq { template <class T> HEED_HD uint8_t operator()(T x, T y) const { return x == y; } };
struct Ne { template <class T> HEED_HD uint8_t operator()(T x, T y) const { return x != y; } };
struct Lt { template <class T> HEED_HD uint8_t operator()(T x, T y) const { return x < y; } };
struct Le { template <class T> HEED_HD uint8_t operator()(T x, T y) const { return x <= y; } };
struct Gt { template <class T> HEED_HD uint8_t operator()(T x, T y) const { return x > y; } };
struct Ge { template <class T> HEED_HD uint8_t operator()(T x, T y) const { return x >= y; } };

// One element of an Adam / AdamW step, in the order and precision of torch.optim's
// single-tensor code and of optim/'s composed step (every scalar in T, one rounding per op), so
// the fused kernels give the same bits.
struct AdamUpdate {
  bool decoupled, amsgrad;
  double weight_decay, lr, beta1, beta2, eps, step_size, bias_correction2_sqrt;
  template <class T>
  HEED_HD void operator()(T& p, T g, T& m, T& v, T& v_max) const {
    if (decoupled) {
      p = p * static_cast<T>(1 - lr * weight_decay);
    } else if (weight_decay != 0) {
      g = weight_decay == 1 ? g + p : g + p * static_cast<T>(weight_decay);
    }
    m = m * static_cast<T>(beta1);
    m = beta1 == 0 ? m + g : m + g * static_cast<T>(1 - beta1);
    v = v * static_cast<T>(beta2);
    v = v + g * static_cast<T>(1 - beta2) * g;
    T second = v;
    if (amsgrad) {
      v_max = Maximum{}(v_max, v);
      second = v_max;
    }
    T denom = std::sqrt(second);
    denom = denom / static_cast<T>(bias_correction2_sqrt);
    denom = denom + static_cast<T>(eps);
    p = p + m * static_cast<T>(-step_size) / denom;
  }
};

}  // namespace heed::fn

namespace heed {

enum class UnaryOp : uint8_t {
#define HEED_ENUM(name, flag) name,
  HEED_UNARY_OPS(HEED_ENUM)
#undef HEED_ENUM
};

enum class BinaryOp : uint8_t {
#define HEED_ENUM(name, flag) name,
  HEED_BINARY_OPS(HEED_ENUM)
#undef HEED_ENUM
};

enum class ReduceOp : uint8_t { Sum, Max, Min };

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
bool works_on_integers(UnaryOp op);
bool result_is_bool(BinaryOp op);

}  // namespace heed
