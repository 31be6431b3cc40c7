// Elementwise ops with their gradients. Each backward is written with differentiable ops, so
// create_graph=true differentiates it again. Shape legend: x, y same shape; g = dL/dy.
#include <cmath>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"

namespace heed {

using autograd::Grads;
using autograd::SavedTensor;

Tensor scalar_like(const Tensor& like, double value) {
  DType dt = like.dtype();
  if (!is_floating(dt) && value != std::floor(value)) dt = DType::Float32;
  return full({}, value, {dt, like.device()});
}

namespace {

// dx from (x, y, g); x or y is undefined when not saved.
using UnaryGrad = Tensor (*)(const Tensor& x, const Tensor& y, const Tensor& g, double a, double b);
enum class Keep { X, Y };

Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, Keep keep, UnaryGrad dx, double a = 0, double b = 0) {
  Tensor y = raw::unary(op, x, a, b);
  if (auto node = autograd::make_node(name, {x}, {y})) {
    SavedTensor sx(keep == Keep::X ? x : Tensor()), sy(keep == Keep::Y ? y : Tensor());
    node->backward = [sx, sy, dx, a, b](const Grads& g) { return Grads{dx(sx.unpack(), sy.unpack(), g[0], a, b)}; };
  }
  return y;
}

// A 0/1 tensor of x's dtype: the gradient mask of relu, clamp, max, ...
Tensor mask_of(const Tensor& cond, const Tensor& like) { return raw::to_dtype(cond, like.dtype()); }

// Gradient of a broadcast operand: summed back to its shape, cast back to its dtype.
Tensor reduce_grad(const Tensor& g, const Tensor& x) {
  Tensor r = sum_to(g, x.shape());
  return r.dtype() == x.dtype() ? r : r.to(x.dtype());
}

}  // namespace

// ---------------------------------------------------------------- binary arithmetic
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = raw::binary(BinaryOp::Add, a, b);
  if (auto node = autograd::make_node("add", {a, b}, {y}))
    node->backward = [a, b](const Grads& g) { return Grads{reduce_grad(g[0], a), reduce_grad(g[0], b)}; };
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = raw::binary(BinaryOp::Sub, a, b);
  if (auto node = autograd::make_node("sub", {a, b}, {y}))
    node->backward = [a, b](const Grads& g) { return Grads{reduce_grad(g[0], a), reduce_grad(-g[0], b)}; };
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = raw::binary(BinaryOp::Mul, a, b);
  if (auto node = autograd::make_node("mul", {a, b}, {y})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    node->backward = [a, b, need_a, need_b](const Grads& g) {
      return Grads{need_a ? reduce_grad(g[0] * b, a) : Tensor(), need_b ? reduce_grad(g[0] * a, b) : Tensor()};
    };
  }
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = raw::binary(BinaryOp::Div, a, b);
  if (auto node = autograd::make_node("div", {a, b}, {y})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    node->backward = [a, b, need_a, need_b](const Grads& g) {
      return Grads{need_a ? reduce_grad(g[0] / b, a) : Tensor(),
                   need_b ? reduce_grad(-g[0] * a / (b * b), b) : Tensor()};
    };
  }
  return y;
}

// d/da a^b = b·a^(b-1);  d/db a^b = a^b·log(a), taken as 0 where a = 0 (as in PyTorch).
Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor y = raw::binary(BinaryOp::Pow, a, b);
  if (auto node = autograd::make_node("pow", {a, b}, {y})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    node->backward = [a, b, need_a, need_b](const Grads& g) {
      Tensor ga, gb;
      if (need_a) ga = reduce_grad(g[0] * b * pow(a, b - 1.0), a);
      if (need_b) {
        Tensor safe_a = where(eq(a, scalar_like(a, 0)), scalar_like(a, 1), a);
        gb = reduce_grad(g[0] * pow(a, b) * log(safe_a), b);
      }
      return Grads{ga, gb};
    };
  }
  return y;
}

Tensor pow(const Tensor& x, double e) {
  Tensor y = raw::unary(UnaryOp::PowScalar, x, e);
  if (auto node = autograd::make_node("pow", {x}, {y}))
    node->backward = [x, e](const Grads& g) {
      if (e == 0) return Grads{g[0] * 0.0};
      return Grads{g[0] * e * pow(x, e - 1)};
    };
  return y;
}

namespace {
// max/min of two tensors: the gradient goes to the larger (smaller) one, half each on ties.
Tensor extremum(const char* name, BinaryOp op, BinaryOp wins, const Tensor& a, const Tensor& b) {
  Tensor y = raw::binary(op, a, b);
  if (auto node = autograd::make_node(name, {a, b}, {y}))
    node->backward = [a, b, wins](const Grads& g) {
      Tensor share_a = mask_of(raw::binary(wins, a, b), g[0]) + mask_of(raw::binary(BinaryOp::Eq, a, b), g[0]) * 0.5;
      Tensor share_b = 1.0 - share_a;
      return Grads{reduce_grad(g[0] * share_a, a), reduce_grad(g[0] * share_b, b)};
    };
  return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", BinaryOp::Maximum, BinaryOp::Gt, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", BinaryOp::Minimum, BinaryOp::Lt, a, b); }

Tensor neg(const Tensor& x) {
  return unary_op("neg", UnaryOp::Neg, x, Keep::Y, [](const Tensor&, const Tensor&, const Tensor& g, double, double) {
    return -g;
  });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
namespace {
// x op scalar in one pass for floating x (integer x takes the general path, which promotes).
// dx = g · scale, or g / divisor for division (exactly as the forward rounds).
Tensor scalar_op(const char* name, UnaryOp op, const Tensor& x, double s, double scale, double divisor = 1.0) {
  Tensor y = raw::unary(op, x, s);
  if (auto node = autograd::make_node(name, {x}, {y}))
    node->backward = [scale, divisor](const Grads& g) {
      if (divisor != 1.0) return Grads{g[0] / divisor};
      return Grads{scale == 1.0 ? g[0] : g[0] * scale};
    };
  return y;
}
}  // namespace

Tensor operator+(const Tensor& a, double b) {
  return a.is_floating_point() ? scalar_op("add", UnaryOp::AddScalar, a, b, 1.0) : add(a, scalar_like(a, b));
}
Tensor operator-(const Tensor& a, double b) {
  return a.is_floating_point() ? scalar_op("sub", UnaryOp::AddScalar, a, -b, 1.0) : sub(a, scalar_like(a, b));
}
Tensor operator*(const Tensor& a, double b) {
  return a.is_floating_point() ? scalar_op("mul", UnaryOp::MulScalar, a, b, b) : mul(a, scalar_like(a, b));
}
Tensor operator/(const Tensor& a, double b) {
  return a.is_floating_point() ? scalar_op("div", UnaryOp::DivScalar, a, b, 1.0, b) : div(a, scalar_like(a, b));
}
Tensor operator+(double a, const Tensor& b) { return b + a; }
Tensor operator-(double a, const Tensor& b) {
  return b.is_floating_point() ? scalar_op("sub", UnaryOp::RSubScalar, b, a, -1.0) : sub(scalar_like(b, a), b);
}
Tensor operator*(double a, const Tensor& b) { return b * a; }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(b, a), b); }

// ---------------------------------------------------------------- comparisons
Tensor eq(const Tensor& a, const Tensor& b) { return raw::binary(BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return raw::binary(BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return raw::binary(BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return raw::binary(BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return raw::binary(BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return raw::binary(BinaryOp::Ge, a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator<(const Tensor& a, double b) { return lt(a, scalar_like(a, b)); }
Tensor operator>(const Tensor& a, double b) { return gt(a, scalar_like(a, b)); }
Tensor operator<=(const Tensor& a, double b) { return le(a, scalar_like(a, b)); }
Tensor operator>=(const Tensor& a, double b) { return ge(a, scalar_like(a, b)); }

// ---------------------------------------------------------------- unary math
#define HEED_GRAD                                                                                     \
  []([[maybe_unused]] const Tensor& x, [[maybe_unused]] const Tensor& y, [[maybe_unused]] const Tensor& g, \
     [[maybe_unused]] double a, [[maybe_unused]] double b) -> Tensor
Tensor exp(const Tensor& x) {
  return unary_op("exp", UnaryOp::Exp, x, Keep::Y, HEED_GRAD { return g * y; });
}
Tensor log(const Tensor& x) {
  return unary_op("log", UnaryOp::Log, x, Keep::X, HEED_GRAD { return g / x; });
}
Tensor sqrt(const Tensor& x) {
  return unary_op("sqrt", UnaryOp::Sqrt, x, Keep::Y, HEED_GRAD { return g / (2.0 * y); });
}
Tensor rsqrt(const Tensor& x) {  // d/dx x^(-1/2) = -1/2·y³
  return unary_op("rsqrt", UnaryOp::Rsqrt, x, Keep::Y,
                  HEED_GRAD { return g * -0.5 * y * y * y; });
}
Tensor abs(const Tensor& x) {  // abs'(0) = 0
  return unary_op("abs", UnaryOp::Abs, x, Keep::X, HEED_GRAD { return g * sign(x); });
}
Tensor sign(const Tensor& x) { return raw::unary(UnaryOp::Sign, x); }
Tensor sin(const Tensor& x) {
  return unary_op("sin", UnaryOp::Sin, x, Keep::X, HEED_GRAD { return g * cos(x); });
}
Tensor cos(const Tensor& x) {
  return unary_op("cos", UnaryOp::Cos, x, Keep::X, HEED_GRAD { return -g * sin(x); });
}
Tensor erf(const Tensor& x) {  // erf'(x) = 2/√π·exp(-x²)
  return unary_op("erf", UnaryOp::Erf, x, Keep::X,
                  HEED_GRAD { return g * 1.1283791670955126 * exp(-(x * x)); });
}
Tensor tanh(const Tensor& x) {
  return unary_op("tanh", UnaryOp::Tanh, x, Keep::Y, HEED_GRAD { return g * (1.0 - y * y); });
}
Tensor sigmoid(const Tensor& x) {
  return unary_op("sigmoid", UnaryOp::Sigmoid, x, Keep::Y,
                  HEED_GRAD { return g * y * (1.0 - y); });
}
// relu'(0) = 0. The mask is constant, so relu's second derivative is 0, as it should be.
Tensor relu(const Tensor& x) {
  return unary_op("relu", UnaryOp::Relu, x, Keep::X,
                  HEED_GRAD { return g * mask_of(raw::binary(BinaryOp::Gt, x, scalar_like(x, 0)), g); });
}
Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "tanh")  // y = ½x(1+t), t = tanh(k(x + c x³));  y' = ½(1+t) + ½x(1-t²)·k(1 + 3c x²)
    return unary_op("gelu", UnaryOp::GeluTanh, x, Keep::X, HEED_GRAD {
      const double k = 0.79788456080286535588, c = 0.044715;
      Tensor t = tanh(k * (x + c * x * x * x));
      return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3 * c * x * x));
    });
  HEED_CHECK(approximate == "none", "gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
  // y = x·Φ(x);  y' = Φ(x) + x·φ(x): one fused op, or composed ops for create_graph.
  return unary_op("gelu", UnaryOp::Gelu, x, Keep::X, HEED_GRAD {
    if (!autograd::grad_mode_enabled()) return raw::binary(BinaryOp::GeluBackward, g, x);
    Tensor cdf = 0.5 * (1.0 + erf(x * 0.70710678118654752440));
    Tensor pdf = 0.39894228040143267794 * exp(-0.5 * x * x);
    return g * (cdf + x * pdf);
  });
}
Tensor silu(const Tensor& x) {  // y = x·s, y' = s·(1 + x·(1 - s))
  return unary_op("silu", UnaryOp::Silu, x, Keep::X, HEED_GRAD {
    Tensor s = sigmoid(x);
    return g * s * (1.0 + x * (1.0 - s));
  });
}
// The gradient passes where lo ≤ x ≤ hi.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  const double l = lo ? *lo : -INFINITY, h = hi ? *hi : INFINITY;
  HEED_CHECK(lo || hi, "clamp: at least one of lo and hi must be given");
  return unary_op("clamp", UnaryOp::Clamp, x, Keep::X, HEED_GRAD {
    Tensor inside = raw::binary(BinaryOp::Mul, raw::binary(BinaryOp::Ge, x, scalar_like(x, a)),
                                raw::binary(BinaryOp::Le, x, scalar_like(x, b)));
    return g * mask_of(inside, g);
  }, l, h);
}
#undef HEED_GRAD

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor y = raw::where(cond, a, b);
  if (auto node = autograd::make_node("where", {a, b}, {y}))
    node->backward = [cond, a, b](const Grads& g) {
      Tensor zero = scalar_like(g[0], 0);
      return Grads{reduce_grad(where(cond, g[0], zero), a), reduce_grad(where(cond, zero, g[0]), b)};
    };
  return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  HEED_CHECK(mask.dtype() == kBool, "masked_fill: mask must be uint8 (bool), got {}", mask.dtype());
  Tensor out = where(mask, scalar_like(x, value), x);
  HEED_CHECK(out.shape() == x.shape(), "masked_fill: mask of shape {} does not broadcast to {}", mask.shape(),
             x.shape());
  return out;
}

// ---- Tensor methods for elementwise ops ----
Tensor Tensor::exp() const { return heed::exp(*this); }
Tensor Tensor::log() const { return heed::log(*this); }
Tensor Tensor::sqrt() const { return heed::sqrt(*this); }
Tensor Tensor::rsqrt() const { return heed::rsqrt(*this); }
Tensor Tensor::abs() const { return heed::abs(*this); }
Tensor Tensor::tanh() const { return heed::tanh(*this); }
Tensor Tensor::sigmoid() const { return heed::sigmoid(*this); }
Tensor Tensor::relu() const { return heed::relu(*this); }
Tensor Tensor::pow(double e) const { return heed::pow(*this, e); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const { return heed::clamp(*this, lo, hi); }

}  // namespace heed
