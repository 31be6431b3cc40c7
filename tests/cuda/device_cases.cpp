// The same computation on the CPU and on the cuda device, compared. Built twice: against the
// host emulator (test_device_emulated, on every machine: it checks everything between a Tensor
// and a kernel body) and against a real GPU (test_cuda, skipped without one).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "../helpers.h"
#include "autograd/attention.h"
#include "autograd/conv.h"
#include "autograd/gradcheck.h"
#include "nn/attention.h"
#include "nn/linear.h"
#include "nn/recurrent.h"
#include "nn/transformer.h"
#include "optim/adam.h"
#include "tensor/memory.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace heed;

namespace {

const Device kDev = Device::cuda(0);

// Float tolerances: the GPU's libm and summation order differ from the CPU's in the last bits.
constexpr double kAtol = 1e-5, kRtol = 1e-5;

Tensor dev(const Tensor& t) { return t.to(kDev); }
// A fresh leaf requiring grad with t's values on `device`.
Tensor leaf(const Tensor& t, Device device) { return t.detach().to(device).requires_grad_(); }

// x on the device, laid out as `layout` says: contiguous, transposed, strided or expanded.
enum class Layout { Contiguous, Transposed, Strided, Expanded };
const Layout kLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::Strided, Layout::Expanded};

// A (4, 6) input (values from `make(shape)`) seen through `layout`, on the CPU and on the device
// with the same values and the same strides.
template <class Make>
std::pair<Tensor, Tensor> input(Layout layout, Make make) {
  Tensor base;
  switch (layout) {
    case Layout::Contiguous: base = make(Shape{4, 6}); break;
    case Layout::Transposed: base = make(Shape{6, 4}); break;
    case Layout::Strided: base = make(Shape{8, 12}); break;
    case Layout::Expanded: base = make(Shape{1, 6}); break;
  }
  auto view = [&](const Tensor& t) {
    switch (layout) {
      case Layout::Contiguous: return t;
      case Layout::Transposed: return t.t();
      case Layout::Strided: return t.slice(0, 0, 8, 2).slice(1, 1, 12, 2);
      case Layout::Expanded: return t.expand({4, 6});
    }
    return t;
  };
  return {view(base), view(dev(base))};
}

Tensor positive(const Shape& s) { return rand(s) + 0.5; }
Tensor normal_values(const Shape& s) { return randn(s); }

}  // namespace

TEST_CASE("device: tensors go to the device and back unchanged, in every dtype") {
  manual_seed(1);
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8}) {
    Tensor x = (rand({5, 7}) * 100).to(dt);
    Tensor d = x.to(kDev);
    CHECK(d.device() == kDev);
    CHECK(d.dtype() == dt);
    CHECK(d.to(Device::cpu()).to_vector<double>() == x.to_vector<double>());
    Tensor t = x.t().to(kDev);  // a non-contiguous source
    CHECK(t.to(Device::cpu()).to_vector<double>() == x.t().contiguous().to_vector<double>());
  }
  CHECK(tensor({1.5}, {DType::Float32, kDev}).item() == 1.5);
  CHECK(zeros({0, 3}, {DType::Float32, kDev}).to(Device::cpu()).numel() == 0);
}

TEST_CASE("device: the caching allocator counts, reuses and releases memory") {
  empty_cache(kDev);
  const MemoryStats before = memory_stats(kDev);
  {
    Tensor a = empty({1024, 256}, {DType::Float32, kDev});  // 1 MiB
    CHECK(memory_stats(kDev).in_use >= before.in_use + (size_t{1} << 20));
    CHECK(memory_stats(kDev).peak_in_use >= memory_stats(kDev).in_use);
  }
  const MemoryStats freed = memory_stats(kDev);
  CHECK(freed.in_use == before.in_use);
  CHECK(freed.cached >= size_t{1} << 20);  // kept for the next tensor of that size
  Tensor b = empty({1024, 256}, {DType::Float32, kDev});
  CHECK(memory_stats(kDev).system_allocations == freed.system_allocations);  // served from the cache
  b = Tensor();
  empty_cache(kDev);
  CHECK(memory_stats(kDev).cached == 0);
}

TEST_CASE("device: running out of memory names the size asked for") {
  try {
    Tensor huge = empty({int64_t{1} << 48}, {DType::Float32, kDev});  // 1 PiB
    FAIL("a 1 PiB tensor was allocated");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK_MESSAGE(what.find("out of memory allocating 1048576.00 GiB") != std::string::npos, what);
  }
  Tensor still_fine = ones({4}, {DType::Float32, kDev});  // the device keeps working
  CHECK(still_fine.sum().item() == 4);
}

TEST_CASE("device: bad device use gets clear errors") {
  Tensor c = ones({2});
  Tensor d = ones({2}, {DType::Float32, kDev});
  CHECK_THROWS_WITH_AS((c + d), doctest::Contains("cuda:0"), Error);
  CHECK_THROWS_WITH_AS(d.data_ptr<float>(), doctest::Contains("copy it to the CPU first"), Error);
  CHECK_THROWS_WITH_AS(ones({2}, {DType::Float32, Device::cuda(7)}), doctest::Contains("cuda:7 does not exist"),
                       Error);
}

TEST_CASE("device: fill and copy with dtype conversion on every layout") {
  manual_seed(2);
  for (Layout l : kLayouts) {
    auto [x, d] = input(l, normal_values);
    CHECK_CLOSE(raw::to_dtype(d, DType::Float64), raw::to_dtype(x, DType::Float64), 0, 0);
    CHECK_CLOSE(raw::to_dtype(d * 10, DType::Int64), raw::to_dtype(x * 10, DType::Int64), 0, 0);
    CHECK_CLOSE(raw::contiguous(d), x, 0, 0);
    Tensor out = zeros({4, 6}, {DType::Float32, kDev}).t();  // copy into a transposed view
    raw::copy_(out, d.t());
    CHECK_CLOSE(out, x.t(), 0, 0);
  }
  CHECK_CLOSE(full({3, 2}, 2.5, {DType::Float64, kDev}), full({3, 2}, 2.5, {DType::Float64}), 0, 0);
}

TEST_CASE("device: every unary op matches the CPU on every layout") {
  manual_seed(3);
  for (Layout l : kLayouts) {
    auto [x, d] = input(l, normal_values);
    auto [p, dp] = input(l, positive);
#define HEED_CHECK_UNARY(name, int_ok)                                                             \
  {                                                                                                \
    const bool needs_positive = UnaryOp::name == UnaryOp::Log || UnaryOp::name == UnaryOp::Sqrt || \
                                UnaryOp::name == UnaryOp::Rsqrt || UnaryOp::name == UnaryOp::PowScalar; \
    const Tensor& cx = needs_positive ? p : x;                                                     \
    const Tensor& dx = needs_positive ? dp : d;                                                    \
    const double a = UnaryOp::name == UnaryOp::Clamp ? -0.5 : 1.5, b = 0.5;                       \
    INFO(#name);                                                                                   \
    CHECK_CLOSE(raw::unary(UnaryOp::name, dx, a, b), raw::unary(UnaryOp::name, cx, a, b), kAtol, kRtol); \
  }
    HEED_UNARY_OPS(HEED_CHECK_UNARY)
#undef HEED_CHECK_UNARY
  }
  // Integers, where defined.
  Tensor i = tensor({-3, 0, 2, 7}).to(DType::Int64);
  for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sign, UnaryOp::Relu})
    CHECK(raw::unary(op, dev(i)).to_vector<int64_t>() == raw::unary(op, i).to_vector<int64_t>());
}

TEST_CASE("device: binary ops broadcast and compare as on the CPU") {
  manual_seed(4);
  Tensor x = randn({3, 1, 5}), y = randn({4, 1});
  x = where(x.abs() < 0.1, x + 1, x);  // no near-zero divisors
  y = where(y.abs() < 0.1, y + 1, y);
#define HEED_CHECK_BINARY(name, is_bool)                                                         \
  {                                                                                              \
    INFO(#name);                                                                                 \
    Tensor xs = BinaryOp::name == BinaryOp::Pow ? x.abs() : x;                                   \
    CHECK_CLOSE(raw::binary(BinaryOp::name, dev(xs), dev(y)), raw::binary(BinaryOp::name, xs, y), kAtol, kRtol); \
  }
  HEED_BINARY_OPS(HEED_CHECK_BINARY)
#undef HEED_CHECK_BINARY
  Tensor a = tensor({1, 5, -2}).to(DType::Int64), b = tensor({2, 3}).reshape({2, 1}).to(DType::Int64);
  CHECK((dev(a) * dev(b)).to_vector<int64_t>() == (a * b).to_vector<int64_t>());
  Tensor nan = tensor({std::nan(""), 1.0});
  CHECK(std::isnan(raw::binary(BinaryOp::Maximum, dev(nan), dev(tensor({0.0, 0.0}))).to_vector<float>()[0]));
  Tensor u8 = tensor({250, 3}).to(DType::UInt8);
  CHECK((dev(u8) + dev(u8)).to_vector<int64_t>() == (u8 + u8).to_vector<int64_t>());  // wraps as uint8
}

TEST_CASE("device: where and masked_fill") {
  manual_seed(5);
  Tensor x = randn({4, 5}), y = randn({5});
  Tensor cond = x > 0;
  CHECK_CLOSE(where(dev(cond), dev(x), dev(y)), where(cond, x, y), 0, 0);
  CHECK_CLOSE(masked_fill(dev(x), dev(cond), -1.0), masked_fill(x, cond, -1.0), 0, 0);
}

TEST_CASE("device: reductions over any dims, with NaN, as on the CPU") {
  manual_seed(6);
  Tensor x = randn({3, 4, 5});
  for (Layout l : kLayouts) {
    auto [c, d] = input(l, normal_values);
    for (Shape dims : {Shape{}, Shape{0}, Shape{1}}) {
      CHECK_CLOSE(d.sum(dims), c.sum(dims), kAtol, kRtol);
      CHECK_CLOSE(d.max(dims, true), c.max(dims, true), 0, 0);
      CHECK_CLOSE(d.min(dims), c.min(dims), 0, 0);
      CHECK_CLOSE(d.mean(dims), c.mean(dims), kAtol, kRtol);
    }
  }
  for (Shape dims : {Shape{0, 2}, Shape{1}, Shape{2}}) CHECK_CLOSE(dev(x).var(dims), x.var(dims), kAtol, kRtol);
  CHECK_CLOSE(dev(x).permute({2, 0, 1}).sum({1}), x.permute({2, 0, 1}).sum({1}), kAtol, kRtol);
  Tensor with_nan = tensor({1.0, std::nan(""), 3.0});
  CHECK(std::isnan(dev(with_nan).max().item()));
  Tensor i = tensor({{4, -2, 9}, {1, 1, 1}}).to(DType::Int64);
  CHECK(dev(i).sum({1}).to_vector<int64_t>() == i.sum({1}).to_vector<int64_t>());
  CHECK(dev(i).max({0}).to_vector<int64_t>() == i.max({0}).to_vector<int64_t>());
  CHECK(zeros({0, 3}, {DType::Float32, kDev}).sum({0}).to_vector<float>() == std::vector<float>{0, 0, 0});
}

TEST_CASE("device: argmax and argmin take the first extreme and the first NaN") {
  Tensor x = tensor({{1, 5, 5, 2}, {7, 0, 0, 7}});
  for (int64_t dim : {0, 1}) {
    CHECK(dev(x).argmax(dim).to_vector<int64_t>() == x.argmax(dim).to_vector<int64_t>());
    CHECK(dev(x).argmin(dim).to_vector<int64_t>() == x.argmin(dim).to_vector<int64_t>());
  }
  CHECK(dev(x).argmax().item() == 4);
  CHECK(dev(x.t()).argmax(1).to_vector<int64_t>() == x.t().argmax(1).to_vector<int64_t>());
  CHECK(dev(tensor({1.0, std::nan(""), 9.0, std::nan("")})).argmax().item() == 1);
}

TEST_CASE("device: matmul in every layout BLAS reads, and the ones it does not") {
  manual_seed(7);
  struct Case {
    Shape a, b;
    bool ta, tb;
  };
  for (const Case& c : {Case{{5, 3}, {3, 4}, false, false}, Case{{3, 5}, {3, 4}, true, false},
                        Case{{5, 3}, {4, 3}, false, true}, Case{{3, 5}, {4, 3}, true, true},
                        Case{{2, 5, 3}, {2, 3, 4}, false, false}, Case{{2, 3, 5}, {2, 4, 3}, true, true},
                        Case{{1, 3}, {3, 1}, false, false}, Case{{7}, {7, 2}, false, false},
                        Case{{4, 7}, {7}, false, false}}) {
    Tensor a = randn(c.a), b = randn(c.b);
    if (c.ta) a = a.transpose(-1, -2);
    if (c.tb) b = b.transpose(-1, -2);
    CHECK_CLOSE(matmul(dev(a), dev(b)), matmul(a, b), kAtol, kRtol);
  }
  Tensor batch = randn({3, 2, 5, 4}), shared = randn({4, 6});  // a batch against one matrix (stride 0)
  CHECK_CLOSE(matmul(dev(batch), dev(shared)), matmul(batch, shared), kAtol, kRtol);
  CHECK_CLOSE(matmul(dev(shared.t()), dev(batch.transpose(-1, -2))), matmul(shared.t(), batch.transpose(-1, -2)),
              kAtol, kRtol);
  Tensor strided = randn({10, 12}).slice(0, 0, 10, 2).slice(1, 0, 12, 3);  // no unit stride: copied first
  Tensor r = randn({4, 3});
  CHECK_CLOSE(matmul(dev(strided), dev(r)), matmul(strided, r), kAtol, kRtol);
  Tensor d64 = randn({6, 5}, {DType::Float64}), e64 = randn({5, 2}, {DType::Float64});
  CHECK_CLOSE(matmul(dev(d64), dev(e64)), matmul(d64, e64), 1e-12, 1e-12);
  Tensor ia = tensor({{1, 2}, {3, 4}, {5, 6}}).to(DType::Int64), ib = tensor({{1, -1, 2}, {0, 3, 1}}).to(DType::Int64);
  CHECK(matmul(dev(ia), dev(ib)).to_vector<int64_t>() == matmul(ia, ib).to_vector<int64_t>());
  Tensor empty_k = matmul(zeros({3, 0}, {DType::Float32, kDev}), zeros({0, 2}, {DType::Float32, kDev}));
  CHECK(empty_k.to_vector<float>() == std::vector<float>(6, 0.0f));
}

TEST_CASE("device: softmax and log-softmax, fully masked rows included") {
  manual_seed(8);
  Tensor x = randn({3, 4, 7}) * 5;
  for (int64_t dim : {0, 1, 2}) {
    CHECK_CLOSE(softmax(dev(x), dim), softmax(x, dim), kAtol, kRtol);
    CHECK_CLOSE(log_softmax(dev(x), dim), log_softmax(x, dim), kAtol, kRtol);
  }
  const double inf = std::numeric_limits<double>::infinity();
  Tensor masked = tensor({{0.0, -inf, 1.0}, {-inf, -inf, -inf}});
  CHECK_CLOSE(softmax(dev(masked), 1), softmax(masked, 1), kAtol, kRtol);
}

// From 512 elements per output a block of threads takes each output (kernels.h, kBlockReduceFrom).
TEST_CASE("device: long reductions, softmax rows and layer-norm parameter gradients, a block per output") {
  manual_seed(18);
  Tensor x = randn({1500, 3});
  for (Shape dims : {Shape{0}, Shape{}}) {
    CHECK_CLOSE(dev(x).sum(dims), x.sum(dims), 1e-4, 1e-5);
    CHECK_CLOSE(dev(x).max(dims), x.max(dims), 0, 0);
    CHECK_CLOSE(dev(x).min(dims), x.min(dims), 0, 0);
  }
  CHECK_CLOSE(dev(x.t()).sum({1}), x.t().sum({1}), 1e-4, 1e-5);  // strided rows
  std::vector<double> nan_at(1400, 0.0);  // one NaN, in column 1, row 613
  nan_at[613 * 2 + 1] = 1;
  Tensor with_nan = masked_fill(randn({700, 2}), from_vector(nan_at, {700, 2}).to(kBool), std::nan(""));
  const std::vector<double> maxima = dev(with_nan).max({0}).to_vector<double>();
  CHECK_FALSE(std::isnan(maxima[0]));
  CHECK(std::isnan(maxima[1]));  // NaN wins, wherever it falls in the tree
  Tensor counts = arange(2000).to(DType::Int64).reshape({1000, 2});
  CHECK(dev(counts).sum({0}).to_vector<int64_t>() == counts.sum({0}).to_vector<int64_t>());

  const double inf = std::numeric_limits<double>::infinity();
  Tensor rows = randn({3, 600}) * 4;
  rows = masked_fill(rows, rand({3, 600}) > 0.9, -inf);
  rows = masked_fill(rows, tensor({0.0, 1.0, 0.0}).to(kBool).reshape({3, 1}).expand({3, 600}), -inf);  // all −inf
  CHECK_CLOSE(softmax(dev(rows), 1), softmax(rows, 1), kAtol, kRtol);
  CHECK_CLOSE(log_softmax(dev(rows.narrow(0, 0, 1)), 1), log_softmax(rows.narrow(0, 0, 1), 1), 1e-5, 1e-5);

  Tensor in = randn({600, 5}), w = randn({5}), b = randn({5});
  auto grads = [&](Device device) {
    Tensor xi = leaf(in, device), wi = leaf(w, device), bi = leaf(b, device);
    (layer_norm(xi, 1, wi, bi, 1e-5) * cos(xi.detach())).sum().backward();
    return std::vector<Tensor>{xi.grad(), wi.grad(), bi.grad()};
  };
  auto c = grads(Device::cpu()), d = grads(kDev);
  for (size_t i = 0; i < c.size(); ++i) {
    INFO("gradient ", i);
    CHECK_CLOSE(d[i], c[i], 1e-4, 1e-4);
  }
}

TEST_CASE("device: rfft (cuFFT on a GPU) matches the CPU's KISS FFT, batched and strided") {
  manual_seed(12);
  for (int64_t n : {1, 6, 7, 64, 250}) {
    CAPTURE(n);
    const Tensor x = randn({3, 5, n}, {DType::Float64});
    CHECK_CLOSE(rfft(dev(x)), rfft(x), 1e-10, 1e-10);
    const Tensor x32 = x.to(DType::Float32);
    CHECK_CLOSE(rfft(dev(x32)).to(DType::Float64), rfft(x32).to(DType::Float64), 1e-5 * double(n), 1e-4);
  }
  const Tensor m = randn({32, 3});
  CHECK_CLOSE(rfft(dev(m).t()), rfft(m.t()), 1e-4, 1e-4);
  CHECK(rfft(dev(zeros({0, 8}))).shape() == Shape{0, 5, 2});
}

TEST_CASE("device: index_select, index_add, gather and scatter_add, repeated indices included") {
  manual_seed(9);
  Tensor x = randn({5, 4, 3});
  Tensor idx = tensor({4, 0, 4, 2}).to(DType::Int64);
  for (int64_t dim : {0, 1}) {
    Tensor i = dim == 0 ? idx : tensor({3, 3, 1}).to(DType::Int64);
    CHECK_CLOSE(index_select(dev(x), dim, dev(i)), index_select(x, dim, i), 0, 0);
    CHECK_CLOSE(index_select(dev(x).transpose(0, 2), 2 - dim == 2 ? 2 : 1, dev(i)),
                index_select(x.transpose(0, 2), 2 - dim == 2 ? 2 : 1, i), 0, 0);
    Tensor src = randn(index_select(x, dim, i).shape());
    CHECK_CLOSE(index_add(dev(x), dim, dev(i), dev(src)), index_add(x, dim, i, src), kAtol, kRtol);
  }
  Tensor g = tensor({{0, 2, 2}, {1, 1, 0}}).to(DType::Int64);
  Tensor m = randn({2, 4});
  CHECK_CLOSE(gather(dev(m), 1, dev(g)), gather(m, 1, g), 0, 0);
  Tensor src = randn({2, 3});
  CHECK_CLOSE(scatter_add(dev(m), 1, dev(g), dev(src)), scatter_add(m, 1, g, src), kAtol, kRtol);
  Tensor counts = zeros({3}).to(DType::Int64);
  Tensor ones_i = ones({5}).to(DType::Int64), where_i = tensor({2, 0, 2, 2, 1}).to(DType::Int64);
  CHECK(scatter_add(dev(counts), 0, dev(where_i), dev(ones_i)).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 3});
  Tensor bytes = zeros({4}).to(DType::UInt8);
  Tensor byte_src = tensor({1, 2, 3, 4, 5}).to(DType::UInt8);
  CHECK(scatter_add(dev(bytes), 0, dev(tensor({1, 1, 3, 1, 0}).to(DType::Int64)), dev(byte_src)).to_vector<int64_t>() ==
        std::vector<int64_t>{5, 7, 0, 3});
}

TEST_CASE("device: a seed draws the same numbers and dropout masks on both devices") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    manual_seed(10);
    Tensor c = randn({1001}, {dt});
    Tensor u = rand({33}, {dt});
    manual_seed(10);
    Tensor d = randn({1001}, {dt, kDev});
    Tensor v = rand({33}, {dt, kDev});
    CHECK_CLOSE(d, c, 0, 0);
    CHECK_CLOSE(v, u, 0, 0);
  }
  Tensor x = ones({999});
  manual_seed(11);
  Tensor kept_cpu = dropout(x, 0.3);
  manual_seed(11);
  Tensor kept_dev = dropout(dev(x), 0.3);
  CHECK_CLOSE(kept_dev, kept_cpu, 0, 0);
}

TEST_CASE("device: gradients through a small network match the CPU's") {
  manual_seed(12);
  Tensor x = randn({6, 5}), w1 = randn({5, 8}) * 0.5, b1 = randn({8}) * 0.1, w2 = randn({8, 3}) * 0.5;
  Tensor ln_w = randn({8}), ln_b = randn({8});
  Tensor target = tensor({0, 2, 1, 1, 0, 2}).to(DType::Int64);
  auto run = [&](Device device) {
    std::vector<Tensor> p;
    for (const Tensor& t : {w1, b1, w2, ln_w, ln_b}) p.push_back(leaf(t, device));
    Tensor h = gelu(matmul(x.to(device), p[0]) + p[1]);
    h = layer_norm(h, 1, p[3], p[4], 1e-5);
    Tensor loss = cross_entropy(matmul(tanh(h), p[2]), target.to(device));
    loss.backward();
    std::vector<Tensor> out{loss};
    for (const Tensor& t : p) out.push_back(t.grad());
    return out;
  };
  auto c = run(Device::cpu()), d = run(kDev);
  for (size_t i = 0; i < c.size(); ++i) {
    INFO("output ", i);
    CHECK(d[i].device() == kDev);
    CHECK_CLOSE(d[i], c[i], 1e-5, 1e-4);
  }
}

TEST_CASE("device: gradcheck passes on the device in float64") {
  manual_seed(13);
  Tensor a = randn({3, 4}, {DType::Float64, kDev}).requires_grad_();
  Tensor b = randn({4, 2}, {DType::Float64, kDev}).requires_grad_();
  auto f = [](const std::vector<Tensor>& in) { return softmax(tanh(matmul(in[0], in[1])), 1).sum({0}); };
  CHECK(gradcheck(f, {a, b}).ok);
}

// Shapes: within one tile; several query blocks and key tiles (the tiled kernels' edges and
// causal skipping); a head size over the tiles' limit (the one-row kernels).
TEST_CASE("device: flash attention matches the CPU's attention in every masking case, with gradients") {
  manual_seed(16);
  struct Shape {
    int64_t B, H, T, S, D, Dv;
  };
  for (const Shape& shape : {Shape{2, 3, 5, 7, 4, 6}, Shape{1, 2, 70, 45, 8, 5}, Shape{1, 2, 40, 75, 3, 4},
                             Shape{1, 1, 3, 4, 130, 3}}) {
    const auto [B, H, T, S, D, Dv] = shape;
    INFO("B H T S D Dv: ", B, " ", H, " ", T, " ", S, " ", D, " ", Dv);
    Tensor q = randn({B, H, T, D}), k = randn({B, H, S, D}), v = randn({B, H, S, Dv});
    std::vector<double> padded(size_t(S), 0.0);  // the last 3 keys
    std::fill(padded.end() - 3, padded.end(), 1.0);
    Tensor padding = from_vector(padded, {1, S}).expand({B, S}).to(kBool);
    Tensor bool_mask = (rand({T, S}) > 0.7).to(kBool);
    std::vector<double> row_two(size_t(T * S), 0.0);  // query 2 sees no key at all
    std::fill(row_two.begin() + 2 * S, row_two.begin() + 3 * S, 1.0);
    Tensor all_blocked_row = from_vector(row_two, {T, S}).to(kBool);
    Tensor additive = randn({B, 1, T, S});
    additive = masked_fill(additive, rand({B, 1, T, S}) > 0.8, -std::numeric_limits<double>::infinity());
    struct Case {
      const char* name;
      AttentionOptions o;
    };
    std::vector<Case> cases{
        {"plain", {}},
        {"causal", {.causal = true}},
        {"key padding", {.key_padding_mask = padding}},
        {"bool mask", {.attn_mask = bool_mask}},
        {"a row with no key", {.attn_mask = all_blocked_row}},
        {"additive mask with -inf", {.attn_mask = additive}},
        {"causal, padding and dropout", {.key_padding_mask = padding, .causal = true, .dropout_p = 0.3}},
        {"scale", {.scale = 0.7}}};
    for (const Case& c : cases) {
      INFO(std::string(c.name));
      auto run = [&](Device device) {
        Tensor qd = leaf(q, device), kd = leaf(k, device), vd = leaf(v, device);
        AttentionOptions o = c.o;
        if (o.attn_mask.defined()) o.attn_mask = o.attn_mask.to(device);
        if (o.key_padding_mask.defined()) o.key_padding_mask = o.key_padding_mask.to(device);
        manual_seed(17);  // the same dropout draws on both devices
        Tensor out = scaled_dot_product_attention(qd, kd, vd, o).output;
        (out * cos(out.detach())).sum().backward();
        return std::vector<Tensor>{out, qd.grad(), kd.grad(), vd.grad()};
      };
      auto cpu = run(Device::cpu()), gpu = run(kDev);
      for (size_t i = 0; i < cpu.size(); ++i) {
        INFO("output ", i);
        CHECK_CLOSE(gpu[i], cpu[i], 1e-5, 1e-4);
      }
    }
  }
  const int64_t B = 2, H = 3, T = 5, S = 7, D = 4, Dv = 6;
  Tensor q = randn({B, H, T, D}), k = randn({B, H, S, D}), v = randn({B, H, S, Dv});
  // Attention with its weights asked for takes the composed path on the device.
  auto with_weights = scaled_dot_product_attention(dev(q), dev(k), dev(v), {.need_weights = true});
  CHECK_CLOSE(with_weights.weights, scaled_dot_product_attention(q, k, v, {.need_weights = true}).weights, 1e-6, 1e-5);
}

TEST_CASE("device: layers run unchanged on the device and match the CPU") {
  manual_seed(14);
  SUBCASE("TransformerEncoderLayer, forward and backward") {
    nn::TransformerEncoderLayerOptions o;
    o.d_model = 16;
    o.nhead = 4;
    o.dim_feedforward = 32;
    o.dropout = 0.0;
    nn::TransformerEncoderLayer cpu_layer(o), dev_layer(o);
    dev_layer.load_state_dict(cpu_layer.state_dict());
    dev_layer.to(kDev);
    Tensor x = randn({5, 2, 16});
    nn::AttentionMasks masks;
    masks.key_padding_mask = tensor({{0, 0, 0, 1, 1}, {0, 0, 0, 0, 0}}).to(kBool);
    Tensor yc = cpu_layer.forward(x, masks);
    nn::AttentionMasks dmasks;
    dmasks.key_padding_mask = dev(masks.key_padding_mask);
    Tensor yd = dev_layer.forward(dev(x), dmasks);
    CHECK_CLOSE(yd, yc, 1e-5, 1e-4);
    yc.pow(2).sum().backward();
    yd.pow(2).sum().backward();
    auto pc = cpu_layer.named_parameters(), pd = dev_layer.named_parameters();
    for (size_t i = 0; i < pc.size(); ++i) {
      INFO(pc[i].first);
      CHECK_CLOSE(pd[i].second.grad(), pc[i].second.grad(), 1e-4, 1e-3);
    }
  }
  SUBCASE("LSTM") {
    nn::LSTM cpu_lstm(3, 6), dev_lstm(3, 6);
    dev_lstm.load_state_dict(cpu_lstm.state_dict());
    dev_lstm.to(kDev);
    Tensor x = randn({7, 2, 3});
    Tensor yc = cpu_lstm.forward(x), yd = dev_lstm.forward(dev(x));
    CHECK_CLOSE(yd, yc, 1e-5, 1e-4);
    yc.pow(2).sum().backward();
    yd.pow(2).sum().backward();
    auto pc = cpu_lstm.named_parameters(), pd = dev_lstm.named_parameters();
    for (size_t i = 0; i < pc.size(); ++i) {
      INFO(pc[i].first);
      CHECK_CLOSE(pd[i].second.grad(), pc[i].second.grad(), 1e-4, 1e-3);
    }
  }
  SUBCASE("layer_norm with and without its parameters, with gradients") {
    Tensor x = randn({6, 4, 5}) * 3 + 1, w = randn({4, 5}), b = randn({4, 5});
    for (bool affine : {true, false}) {
      auto run = [&](Device device) {
        Tensor xd = leaf(x, device), wd = leaf(w, device), bd = leaf(b, device);
        Tensor y = affine ? layer_norm(xd, 2, wd, bd, 1e-5) : layer_norm(xd, 2, Tensor(), Tensor(), 1e-5);
        (y * sin(y.detach())).sum().backward();
        std::vector<Tensor> out{y, xd.grad()};
        if (affine) out.insert(out.end(), {wd.grad(), bd.grad()});
        return out;
      };
      auto c = run(Device::cpu()), d = run(kDev);
      for (size_t i = 0; i < c.size(); ++i) CHECK_CLOSE(d[i], c[i], 1e-5, 1e-4);
    }
  }
  SUBCASE("conv2d and max_pool2d, with their gradients") {
    Tensor x = randn({2, 3, 9, 9}), w = randn({4, 3, 3, 3}), b = randn({4});
    auto run = [&](Device device) {
      Tensor xd = leaf(x, device), wd = leaf(w, device);
      Tensor y = max_pool2d(relu(conv2d(xd, wd, b.to(device), 2, 1)), 2);
      y.sum().backward();
      return std::vector<Tensor>{y, xd.grad(), wd.grad()};
    };
    auto c = run(Device::cpu()), d = run(kDev);
    for (size_t i = 0; i < c.size(); ++i) CHECK_CLOSE(d[i], c[i], 1e-4, 1e-4);
  }
}

TEST_CASE("device: AdamW steps the same on the device") {
  manual_seed(15);
  Tensor w = randn({4, 3});
  Tensor wc = w.clone().requires_grad_(), wd = dev(w).requires_grad_();
  optim::AdamW oc({wc}), od({wd});
  for (int step = 0; step < 3; ++step) {
    for (auto [p, opt] : {std::pair{wc, &oc}, std::pair{wd, &od}}) {
      opt->zero_grad();
      (p * p * p).sum().backward();
      opt->step();
    }
  }
  CHECK_CLOSE(wd, wc, 1e-6, 1e-5);
}
