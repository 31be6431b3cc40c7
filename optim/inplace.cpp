// In-place arithmetic for optim/, from the Backend's elementwise primitives (see inplace.h).
#include "optim/inplace.h"

#include <limits>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace heed::optim::detail {
namespace {

Backend& backend_of(const Tensor& t) { return backend_for(t.device()); }

// `other` in t's shape (broadcast, stride 0 where expanded); dtypes and devices must agree.
Tensor operand_for(const Tensor& t, const Tensor& other) {
  HEED_CHECK(other.dtype() == t.dtype() && other.device() == t.device(),
             "optim: in-place update of a {} tensor on {} with a {} tensor on {}", t.dtype(), t.device(), other.dtype(),
             other.device());
  return raw::expand(other, t.shape());
}

// A 0-d tensor of t's dtype and device, broadcast to t's shape.
Tensor scalar_for(const Tensor& t, double s) {
  return raw::expand(scalar_tensor(s, {t.dtype(), t.device()}), t.shape());
}

// t = op(t, other)
void apply_(BinaryOp op, const Tensor& t, const Tensor& other) { backend_of(t).binary(op, t, other, t); }

}  // namespace

void fill_(const Tensor& t, double value) { backend_of(t).fill(t, value); }
void mul_(const Tensor& t, double s) { apply_(BinaryOp::Mul, t, scalar_for(t, s)); }
void div_(const Tensor& t, double s) { apply_(BinaryOp::Div, t, scalar_for(t, s)); }
void add_(const Tensor& t, double s) { apply_(BinaryOp::Add, t, scalar_for(t, s)); }

void add_(const Tensor& t, const Tensor& other, double alpha) {
  Tensor o = operand_for(t, other);
  if (alpha == 1.0) return apply_(BinaryOp::Add, t, o);
  Tensor scaled = raw::empty(t.shape(), t.dtype(), t.device());
  backend_of(t).binary(BinaryOp::Mul, o, scalar_for(t, alpha), scaled);
  apply_(BinaryOp::Add, t, scaled);
}

void addcmul_(const Tensor& t, const Tensor& a, const Tensor& b, double value) {
  Tensor term = raw::empty(t.shape(), t.dtype(), t.device());
  backend_of(t).binary(BinaryOp::Mul, operand_for(t, a), scalar_for(t, value), term);
  apply_(BinaryOp::Mul, term, operand_for(t, b));
  apply_(BinaryOp::Add, t, term);
}

void addcdiv_(const Tensor& t, const Tensor& a, const Tensor& b, double value) {
  Tensor term = raw::empty(t.shape(), t.dtype(), t.device());
  backend_of(t).binary(BinaryOp::Mul, operand_for(t, a), scalar_for(t, value), term);
  apply_(BinaryOp::Div, term, operand_for(t, b));
  apply_(BinaryOp::Add, t, term);
}

void maximum_(const Tensor& t, const Tensor& other) { apply_(BinaryOp::Maximum, t, operand_for(t, other)); }

void clamp_(const Tensor& t, std::optional<double> lo, std::optional<double> hi) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  backend_of(t).unary(UnaryOp::Clamp, t, t, lo.value_or(-inf), hi.value_or(inf));
}

Tensor added(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = raw::clone(a);
  add_(out, b, alpha);
  return out;
}

Tensor sqrt(const Tensor& t) { return raw::unary(UnaryOp::Sqrt, t); }

}  // namespace heed::optim::detail
