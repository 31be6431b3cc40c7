// Scaled dot-product attention and the LSTM / GRU cell steps (formulas in autograd/attention.h),
// composed from differentiable ops: their backward is the composition's, so double backward
// works. Masks are built with raw ops (they need no gradient).
// Shape legend: B batch, H heads, T queries, S keys, D head size, Dv value head size, N hidden.
#include "autograd/attention.h"

#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace heed {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// The score a blocked pair gets: the dtype's lowest finite value, whose exp is exactly 0 as
// −inf's is, but which keeps anomaly mode (no Inf in any op's output) usable with masks.
double blocked_score(DType dtype) {
  return dtype == DType::Float32 ? static_cast<double>(std::numeric_limits<float>::lowest())
                                 : std::numeric_limits<double>::lowest();
}

// True when `shape` broadcasts to exactly `target` (dims aligned from the right).
bool broadcasts_to(const Shape& shape, const Shape& target) {
  if (shape.size() > target.size()) return false;
  const size_t lead = target.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1 && shape[i] != target[lead + i]) return false;
  return true;
}

// Logical or of two bool masks (either may be undefined); broadcasts.
Tensor mask_or(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return raw::binary(BinaryOp::Maximum, a, b);
}

void check_qkv(const Tensor& q, const Tensor& k, const Tensor& v) {
  const char* op = "scaled_dot_product_attention";
  HEED_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
             "{}: q, k, v must be 4-D (B,H,T,D), (B,H,S,D), (B,H,S,Dv); got {}, {}, {}", op, q.shape(), k.shape(),
             v.shape());
  HEED_CHECK(q.is_floating_point() && q.dtype() == k.dtype() && q.dtype() == v.dtype(),
             "{}: q, k, v must share one floating dtype; got {}, {}, {}", op, q.dtype(), k.dtype(), v.dtype());
  HEED_CHECK(q.size(0) == k.size(0) && q.size(0) == v.size(0) && q.size(1) == k.size(1) && q.size(1) == v.size(1),
             "{}: batch and head sizes differ: q {}, k {}, v {}", op, q.shape(), k.shape(), v.shape());
  HEED_CHECK(q.size(3) == k.size(3), "{}: q and k head sizes differ: q {}, k {}", op, q.shape(), k.shape());
  HEED_CHECK(k.size(2) == v.size(2), "{}: k and v lengths differ: k {}, v {}", op, k.shape(), v.shape());
}

// The bool mask (broadcastable to (B,H,T,S)) of blocked (query, key) pairs that `options`
// describe, for q (B,H,T,D) and k (B,H,S,D); undefined when nothing is masked. Float
// attn_mask entries of −inf count as blocked.
Tensor blocked_pairs(const Shape& q_shape, const Shape& k_shape, const AttentionOptions& options) {
  const char* op = "scaled_dot_product_attention";
  const int64_t B = q_shape[0], H = q_shape[1], T = q_shape[2], S = k_shape[2];
  const Shape scores{B, H, T, S};
  const Device device = options.attn_mask.defined()          ? options.attn_mask.device()
                        : options.key_padding_mask.defined() ? options.key_padding_mask.device()
                                                             : Device::cpu();
  Tensor blocked;
  if (const Tensor& m = options.attn_mask; m.defined()) {
    HEED_CHECK(m.dtype() == kBool || m.is_floating_point(), "{}: attn_mask must be bool (uint8) or floating, got {}",
               op, m.dtype());
    HEED_CHECK(broadcasts_to(m.shape(), scores), "{}: attn_mask of shape {} does not broadcast to (B,H,T,S) = {}", op,
               m.shape(), scores);
    blocked =
        m.dtype() == kBool ? m.detach() : raw::binary(BinaryOp::Eq, m, scalar_tensor(kNegInf, {m.dtype(), m.device()}));
  }
  if (const Tensor& p = options.key_padding_mask; p.defined()) {
    HEED_CHECK(p.dtype() == kBool, "{}: key_padding_mask must be bool (uint8), got {}", op, p.dtype());
    HEED_CHECK(p.shape() == Shape({B, S}), "{}: key_padding_mask has shape {}, expected (B,S) = [{}, {}]", op,
               p.shape(), B, S);
    blocked = mask_or(blocked, raw::reshape(p, {B, 1, 1, S}));
  }
  if (options.causal) {  // key s is blocked for query t when s > t
    Tensor t = raw::reshape(arange(0, T, 1, {DType::Int64, device}), {T, 1});
    Tensor s = raw::reshape(arange(0, S, 1, {DType::Int64, device}), {1, S});
    blocked = mask_or(blocked, raw::binary(BinaryOp::Gt, s, t));
  }
  return blocked;
}

}  // namespace

Tensor masked_softmax(const Tensor& x, const Tensor& blocked) {
  if (!blocked.defined()) return softmax(x, -1);
  HEED_CHECK(blocked.dtype() == kBool, "masked_softmax: mask must be bool (uint8), got {}", blocked.dtype());
  HEED_CHECK(x.dim() > 0 && broadcasts_to(blocked.shape(), x.shape()),
             "masked_softmax: mask of shape {} does not broadcast to the input's {}", blocked.shape(), x.shape());
  // A row with every entry blocked would be softmax(all −inf) = NaN in PyTorch. Such rows are
  // left unmasked for the softmax, then zeroed: zero weights, zero gradient, no NaN anywhere.
  Tensor full = raw::expand(blocked, x.shape());
  Tensor dead = raw::reduce(ReduceOp::Min, full, {-1}, true);  // (…, 1): 1 where the whole row is blocked
  const bool any_dead = dead.numel() > 0 && raw::reduce(ReduceOp::Max, dead, {}, false).item() != 0;
  if (any_dead) full = raw::where(dead, scalar_tensor(0, {kBool, dead.device()}), full);
  Tensor weights = softmax(masked_fill(x, full, blocked_score(x.dtype())), -1);
  return any_dead ? masked_fill(weights, dead, 0.0) : weights;
}

namespace {

// The composed attention forward (any device, any case).
AttentionResult sdpa_composed(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                              double scale) {
  Tensor blocked = blocked_pairs(q.shape(), k.shape(), options);
  Tensor scores = matmul(q * scale, k.transpose(-1, -2));  // (B,H,T,S)
  if (const Tensor& m = options.attn_mask; m.defined() && m.is_floating_point()) {
    // The additive mask's finite part is added (it may carry a gradient); its −inf entries are
    // already in `blocked`, masked below.
    Tensor additive = m.dtype() == q.dtype() ? m : m.to(q.dtype());
    scores = scores + where(blocked, scalar_like(additive, 0.0), additive);
  }
  Tensor weights = masked_softmax(scores, blocked);  // (B,H,T,S)
  if (options.dropout_p > 0) weights = dropout(weights, options.dropout_p, true);
  Tensor output = matmul(weights, v);  // (B,H,T,Dv)
  return {output, options.need_weights ? weights : Tensor()};
}

// A fused kernel serves float q, k, v on a backend that has it, unless a float mask needs a
// gradient. The one that keeps the weights does not serve when they are asked for together with
// dropout (they would be the dropped ones); flash attention only when they are not asked for.
bool kernel_serves(FusedKernel kernel, const Tensor& q, const AttentionOptions& o) {
  return backend_for(q.device()).has_fused(kernel) && (q.dtype() == DType::Float32 || q.dtype() == DType::Float64) &&
         !(o.attn_mask.defined() && o.attn_mask.is_floating_point() && o.attn_mask.requires_grad());
}
bool fused_attention_serves(const Tensor& q, const AttentionOptions& o) {
  return kernel_serves(FusedKernel::Attention, q, o) && !(o.need_weights && o.dropout_p > 0);
}
bool flash_attention_serves(const Tensor& q, const AttentionOptions& o) {
  return kernel_serves(FusedKernel::FlashAttention, q, o) && !o.need_weights;
}

Tensor unit_last_stride(const Tensor& t) { return t.stride(-1) == 1 ? t : raw::contiguous(t); }

// The kernel's arguments for q, k, v and the masks of `options` (causal stays a flag), with the
// dropout draws taken from the default generator.
AttentionArgs fused_args(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                         double scale) {
  AttentionArgs a;
  a.q = unit_last_stride(q), a.k = unit_last_stride(k), a.v = unit_last_stride(v);
  const Shape scores{q.size(0), q.size(1), q.size(2), k.size(2)};
  AttentionOptions no_causal = options;
  no_causal.causal = false;
  Tensor additive;
  if (const Tensor& m = options.attn_mask; m.defined() && m.is_floating_point()) {
    additive = m.dtype() == q.dtype() ? m.detach() : raw::to_dtype(m, q.dtype());
    no_causal.attn_mask = Tensor();  // its −inf entries mask through the addition
  }
  Tensor blocked = blocked_pairs(q.shape(), k.shape(), no_causal);
  if (blocked.defined()) a.blocked = raw::expand(blocked, scores);
  if (additive.defined()) a.additive = raw::expand(additive, scores);
  a.causal = options.causal;
  a.scale = scale;
  if (options.dropout_p > 0) {
    Generator& gen = default_generator();  // the draws dropout() on the weights would take
    a.offset = gen.advance(static_cast<uint64_t>(scores[0] * scores[1] * scores[2] * scores[3]));
    a.seed = gen.seed();
    a.dropout_p = options.dropout_p;
  }
  return a;
}

// The gradients of attention as differentiable ops (for create_graph), given the kernel's
// arguments; the dropout factor is redrawn from the same (seed, offset).
autograd::Grads attention_grads(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                                const AttentionArgs& a, const Tensor& dout, const Tensor& dweights) {
  Tensor blocked = blocked_pairs(q.shape(), k.shape(), options);
  Tensor scores = matmul(q * a.scale, k.transpose(-1, -2));
  if (a.additive.defined()) scores = scores + where(blocked, scalar_like(a.additive, 0.0), a.additive);
  Tensor p = masked_softmax(scores, blocked);
  Tensor factor = a.dropout_p > 0 ? raw::dropout(raw::fill_like(p, 1.0), a.dropout_p, a.seed, a.offset) : Tensor();
  Tensor applied = factor.defined() ? p * factor : p;
  Tensor dv = matmul(applied.transpose(-1, -2), dout);
  Tensor dp = matmul(dout, v.transpose(-1, -2));
  if (factor.defined()) dp = dp * factor;
  if (dweights.defined()) dp = dp + dweights;
  Tensor ds = p * (dp - sum(dp * p, {-1}, true));
  return {matmul(ds, k) * a.scale, matmul(ds.transpose(-1, -2), q) * a.scale, dv};
}

AttentionResult sdpa_fused(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                           double scale) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), S = k.size(2), Dv = v.size(3);
  AttentionArgs a = fused_args(q, k, v, options, scale);
  Backend& be = backend_for(q.device());
  Tensor probs = raw::empty({B, H, T, S}, q.dtype(), q.device());
  // Written as (B,T,H,Dv), so merging the heads back, (B,T,H·Dv), is a view.
  Tensor out = raw::permute(raw::empty({B, T, H, Dv}, q.dtype(), q.device()), {0, 2, 1, 3});
  if (probs.numel() > 0 && out.numel() > 0) be.attention_forward(a, probs, out);
  else if (out.numel() > 0) out = raw::fill_like(out, 0);
  std::vector<Tensor> outputs{out};
  if (options.need_weights) outputs.push_back(probs);
  if (auto node = autograd::make_node("scaled_dot_product_attention", {q, k, v}, outputs)) {
    node->backward = [q, k, v, options, a, saved = autograd::SavedTensor(probs)](const autograd::Grads& g) {
      Tensor dweights = g.size() > 1 ? g[1] : Tensor();
      if (autograd::grad_mode_enabled()) return attention_grads(q, k, v, options, a, g[0], dweights);
      Tensor p = saved.unpack();
      Tensor dq = raw::empty(q.shape(), q.dtype(), q.device()), dk = raw::empty(k.shape(), k.dtype(), k.device()),
             dv = raw::empty(v.shape(), v.dtype(), v.device());
      if (p.numel() > 0) {
        backend_for(q.device())
            .attention_backward(a, p, unit_last_stride(g[0]), dweights.defined() ? raw::contiguous(dweights) : dweights,
                                dq, dk, dv);
      } else {
        dq = raw::fill_like(dq, 0), dk = raw::fill_like(dk, 0), dv = raw::fill_like(dv, 0);
      }
      return autograd::Grads{dq, dk, dv};
    };
  }
  return {out, options.need_weights ? probs : Tensor()};
}

// Attention through the flash kernels: no (B,H,T,S) tensor is made, forward or backward.
AttentionResult sdpa_flash(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                           double scale) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dv = v.size(3);
  AttentionArgs a = fused_args(q, k, v, options, scale);
  Tensor lse = raw::empty({B, H, T}, q.dtype(), q.device());
  Tensor out = raw::permute(raw::empty({B, T, H, Dv}, q.dtype(), q.device()), {0, 2, 1, 3});
  if (lse.numel() > 0) backend_for(q.device()).flash_attention_forward(a, out, lse);
  if (auto node = autograd::make_node("scaled_dot_product_attention", {q, k, v}, {out})) {
    node->backward = [q, k, v, options, a, lse, saved = autograd::SavedTensor(out)](const autograd::Grads& g) {
      if (autograd::grad_mode_enabled()) return attention_grads(q, k, v, options, a, g[0], Tensor());
      Tensor dq = raw::empty(q.shape(), q.dtype(), q.device()), dk = raw::empty(k.shape(), k.dtype(), k.device()),
             dv = raw::empty(v.shape(), v.dtype(), v.device());
      backend_for(q.device()).flash_attention_backward(a, saved.unpack(), lse, unit_last_stride(g[0]), dq, dk, dv);
      return autograd::Grads{dq, dk, dv};
    };
  }
  return {out, Tensor()};
}

}  // namespace

AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const AttentionOptions& options) {
  check_qkv(q, k, v);
  HEED_CHECK(options.dropout_p >= 0 && options.dropout_p < 1,
             "scaled_dot_product_attention: dropout_p must be in [0, 1), got {}", options.dropout_p);
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3))));
  if (flash_attention_serves(q, options)) return sdpa_flash(q, k, v, options, scale);
  return fused_attention_serves(q, options) ? sdpa_fused(q, k, v, options, scale)
                                            : sdpa_composed(q, k, v, options, scale);
}

// ---- one-node splits ----
namespace {
// `parts` equal views of x along dim (dropped when squeeze), one node; backward concatenates.
std::vector<Tensor> split_node(const char* op, const Tensor& x, int64_t parts, int64_t dim, bool squeeze) {
  const int64_t d = wrap_dim(dim, x.dim(), op);
  const int64_t n = x.size(d);
  HEED_CHECK(parts > 0 && n % parts == 0, "{}: cannot split dim {} of size {} (shape {}) into {} equal parts", op, d, n,
             x.shape(), parts);
  const int64_t step = n / parts;
  std::vector<Tensor> out;
  for (int64_t p = 0; p < parts; ++p) {
    Tensor part = raw::slice(x, d, p * step, (p + 1) * step, 1);
    out.push_back(squeeze ? raw::squeeze(part, d) : part);
  }
  if (auto node = autograd::make_node(op, {x}, out))
    node->backward = [d, squeeze](const autograd::Grads& g) {  // the engine zero-fills parts without a gradient
      return autograd::Grads{squeeze ? stack(g, d) : cat(g, d)};
    };
  return out;
}
}  // namespace

std::vector<Tensor> unbind_steps(const Tensor& x, int64_t dim) {
  HEED_CHECK(x.dim() > 0, "unbind_steps: cannot unbind a 0-d tensor");
  return split_node("unbind_steps", x, x.size(wrap_dim(dim, x.dim(), "unbind_steps")), dim, true);
}

std::vector<Tensor> split_gates(const Tensor& x, int64_t parts, int64_t dim) {
  HEED_CHECK(x.dim() > 0, "split_gates: cannot split a 0-d tensor");
  return split_node("split_gates", x, parts, dim, false);
}

// ---- recurrent cells ----
namespace {
void check_cell(const char* cell, int64_t gates, const Tensor& x_proj, const Tensor& h, const Tensor& w_hh) {
  HEED_CHECK(h.dim() == 2 && w_hh.dim() == 2 && x_proj.dim() == 2,
             "{}: expected x_proj (B,{}N), h (B,N), w_hh ({}N,N); got {}, {}, {}", cell, gates, gates, x_proj.shape(),
             h.shape(), w_hh.shape());
  const int64_t N = h.size(1);
  HEED_CHECK(w_hh.shape() == Shape({gates * N, N}) && x_proj.shape() == Shape({h.size(0), gates * N}),
             "{}: hidden size {} needs x_proj [{}, {}] and w_hh [{}, {}]; got {} and {}", cell, N, h.size(0), gates * N,
             gates * N, N, x_proj.shape(), w_hh.shape());
}

// x·Wᵀ + b, b optional.
Tensor project(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor y = matmul(x, w.t());
  return b.defined() ? y + b : y;
}
}  // namespace

namespace {
LstmState lstm_step_composed(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh) {
  std::vector<Tensor> gates = split_gates(x_proj + matmul(h, w_hh.t()), 4, 1);  // i, f, g, o: (B,N) each
  Tensor c_next = sigmoid(gates[1]) * c + sigmoid(gates[0]) * tanh(gates[2]);
  Tensor h_next = sigmoid(gates[3]) * tanh(c_next);
  return {h_next, c_next};
}

// The gradients of an LSTM step as differentiable ops (for create_graph):
//   dc' = dc_next + dh·σo·(1 − tanh²c'),  gates' gradients through σ and tanh,
//   dx_proj = dgates, dh = dgates·W_hh, dW_hh = dgatesᵀ·h, dc = dc'·σf.
autograd::Grads lstm_step_grads(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh,
                                const Tensor& dh_next, const Tensor& dc_next) {
  std::vector<Tensor> pre = split_gates(x_proj + matmul(h, w_hh.t()), 4, 1);
  Tensor i = sigmoid(pre[0]), f = sigmoid(pre[1]), g = tanh(pre[2]), o = sigmoid(pre[3]);
  Tensor t = tanh(f * c + i * g);
  Tensor dct = dc_next + dh_next * o * (1.0 - t * t);
  Tensor dgates = cat({dct * g * i * (1.0 - i), dct * c * f * (1.0 - f), dct * i * (1.0 - g * g),
                       dh_next * t * o * (1.0 - o)},
                      1);
  return {dgates, matmul(dgates, w_hh), dct * f, matmul(dgates.t(), h)};
}
}  // namespace

LstmState lstm_step(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh) {
  check_cell("lstm_step", 4, x_proj, h, w_hh);
  HEED_CHECK(c.shape() == h.shape(), "lstm_step: c has shape {}, h has {}", c.shape(), h.shape());
  Backend& be = backend_for(x_proj.device());
  const DType dt = x_proj.dtype();
  const bool fused = be.has_fused(FusedKernel::LstmStep) && (dt == DType::Float32 || dt == DType::Float64) &&
                     h.dtype() == dt && c.dtype() == dt && w_hh.dtype() == dt;
  if (!fused) return lstm_step_composed(x_proj, h, c, w_hh);
  const int64_t B = h.size(0), N = h.size(1);
  // gates = x_proj + h·W_hhᵀ, then the activations in one pass (overwriting gates).
  Tensor gates = raw::contiguous(raw::binary(BinaryOp::Add, x_proj, raw::matmul(h, raw::transpose(w_hh, 0, 1))));
  Tensor cc = raw::contiguous(c);
  Tensor c_next = raw::empty({B, N}, dt, c.device()), tanh_c = raw::empty({B, N}, dt, c.device()),
         h_next = raw::empty({B, N}, dt, c.device());
  if (B * N > 0) be.lstm_cell_forward(gates, cc, c_next, tanh_c, h_next);
  if (auto node = autograd::make_node("lstm_step", {x_proj, h, c, w_hh}, {h_next, c_next})) {
    node->backward = [x_proj, h, c, cc, w_hh, gates, tanh_c](const autograd::Grads& g) {
      if (autograd::grad_mode_enabled()) return lstm_step_grads(x_proj, h, c, w_hh, g[0], g[1]);
      Tensor dgates = raw::empty(gates.shape(), gates.dtype(), gates.device());
      Tensor dc = raw::empty(c.shape(), c.dtype(), c.device());
      if (dc.numel() > 0)
        backend_for(c.device())
            .lstm_cell_backward(gates, cc, tanh_c, raw::contiguous(g[0]), raw::contiguous(g[1]), dgates, dc);
      else
        dgates = raw::fill_like(dgates, 0), dc = raw::fill_like(dc, 0);
      return autograd::Grads{dgates, raw::matmul(dgates, w_hh), dc,
                             raw::matmul(raw::transpose(dgates, 0, 1), h.detach())};
    };
  }
  return {h_next, c_next};
}

LstmState lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh) {
  HEED_CHECK(x.dim() == 2 && w_ih.dim() == 2 && x.size(1) == w_ih.size(1),
             "lstm_cell: x {} does not match w_ih {} (expected x (B,I), w_ih (4N,I))", x.shape(), w_ih.shape());
  Tensor x_proj = project(x, w_ih, b_ih);
  return lstm_step(b_hh.defined() ? x_proj + b_hh : x_proj, h, c, w_hh);
}

Tensor gru_step(const Tensor& x_proj, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  check_cell("gru_step", 3, x_proj, h, w_hh);
  std::vector<Tensor> xg = split_gates(x_proj, 3, 1);                  // x-parts of r, z, n: (B,N) each
  std::vector<Tensor> hg = split_gates(project(h, w_hh, b_hh), 3, 1);  // h-parts (b_hn stays inside r⊙(...))
  Tensor r = sigmoid(xg[0] + hg[0]);
  Tensor z = sigmoid(xg[1] + hg[1]);
  Tensor n = tanh(xg[2] + r * hg[2]);
  return n + z * (h - n);  // = (1 − z)⊙n + z⊙h
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  HEED_CHECK(x.dim() == 2 && w_ih.dim() == 2 && x.size(1) == w_ih.size(1),
             "gru_cell: x {} does not match w_ih {} (expected x (B,I), w_ih (3N,I))", x.shape(), w_ih.shape());
  return gru_step(project(x, w_ih, b_ih), h, w_hh, b_hh);
}

}  // namespace heed
