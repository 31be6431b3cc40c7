// Tensor basics: storage sharing, views, creation, broadcasting, dtypes, reductions, matmul,
// indexing, random numbers, printing, and the errors bad input gets.
#include <doctest/doctest.h>
#include <array>

#include "../helpers.h"
#include "autograd/ops.h"
#include "tensor/ops.h"
#include "tensor/print.h"
#include "tensor/random.h"
#include "tensor/threads.h"

using namespace heed;
using heed::test::values;

TEST_CASE("views share storage and never copy") {
  Tensor x = arange(0, 12, 1, {DType::Float32}).reshape({3, 4});
  Tensor t = x.transpose(0, 1);
  CHECK(t.shape() == Shape{4, 3});
  CHECK(t.strides() == Shape{1, 4});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.storage() == x.storage());
  Tensor s = x.slice(1, 1, 4, 2);  // columns 1 and 3
  CHECK(values(s) == std::vector<double>{1, 3, 5, 7, 9, 11});
  CHECK(s.storage() == x.storage());
  CHECK(values(x.select(0, 1)) == std::vector<double>{4, 5, 6, 7});
  CHECK(values(x.narrow(0, 2, 1)) == std::vector<double>{8, 9, 10, 11});
  Tensor e = x.select(1, 0).unsqueeze(1).expand({3, 2});
  CHECK(e.strides()[1] == 0);
  CHECK(values(e) == std::vector<double>{0, 0, 4, 4, 8, 8});
  CHECK(x.permute({1, 0}).shape() == Shape{4, 3});
  CHECK(x.unsqueeze(0).squeeze().shape() == Shape{3, 4});
  CHECK(x.reshape({2, -1, 2}).shape() == Shape{2, 3, 2});
  CHECK(x.reshape({2, -1, 2}).storage() == x.storage());
  CHECK(x.flatten().shape() == Shape{12});
  // reshape of a transposed tensor must copy; view must refuse.
  CHECK(t.reshape({12}).storage() != x.storage());
  CHECK(values(t.reshape({12})) == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK_THROWS_AS(t.view({12}), Error);
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(values(c) == values(t));
}

TEST_CASE("creation functions") {
  CHECK(values(zeros({2, 2})) == std::vector<double>{0, 0, 0, 0});
  CHECK(values(ones({3})) == std::vector<double>{1, 1, 1});
  CHECK(values(full({2}, 2.5)) == std::vector<double>{2.5, 2.5});
  CHECK(values(arange(5)) == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(arange(5).dtype() == DType::Int64);
  CHECK(values(arange(1, 2, 0.25, {DType::Float64})) == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(values(linspace(0, 1, 5)) == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(values(eye(2)) == std::vector<double>{1, 0, 0, 1});
  Tensor m = tensor({{1, 2}, {3, 4}}, {DType::Float64});
  CHECK(m.shape() == Shape{2, 2});
  CHECK(m.dtype() == DType::Float64);
  CHECK(scalar_tensor(3).dim() == 0);
  CHECK(scalar_tensor(3).item() == 3);
  CHECK_THROWS_AS(from_vector(std::vector<double>{1, 2, 3}, {2, 2}), Error);
  CHECK_THROWS_AS(zeros({2, -1}), Error);
  CHECK_THROWS_AS(tensor({{1, 2}, {3}}), Error);
}

TEST_CASE("broadcasting follows NumPy rules") {
  Tensor a = arange(0, 3, 1, {DType::Float32}).reshape({3, 1});
  Tensor b = arange(0, 4, 1, {DType::Float32});
  Tensor c = a * 10.0 + b;
  CHECK(c.shape() == Shape{3, 4});
  CHECK(values(c) == std::vector<double>{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23});
  CHECK((zeros({2, 1, 3}) + zeros({4, 1})).shape() == Shape{2, 4, 3});
  try {
    (void)(zeros({2, 3}) + zeros({4}));
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("[2, 3] and [4] cannot be broadcast") != std::string::npos);
  }
}

TEST_CASE("dtype promotion and comparisons") {
  Tensor i = arange(4);
  Tensor f = i + 0.5;
  CHECK(f.dtype() == DType::Float32);
  CHECK((i + 2.0).dtype() == DType::Int64);
  CHECK((ones({2}, {DType::Float32}) + scalar_tensor(1, {DType::Float64})).dtype() == DType::Float32);
  CHECK((ones({2}, {DType::Float32}) + ones({2}, {DType::Float64})).dtype() == DType::Float64);
  CHECK((i / 2.0).dtype() == DType::Float32);  // true division
  Tensor lt = arange(4) < 2.0;
  CHECK(lt.dtype() == kBool);
  CHECK(values(lt) == std::vector<double>{1, 1, 0, 0});
  CHECK(values(where(lt, ones({4}), zeros({4}))) == std::vector<double>{1, 1, 0, 0});
  CHECK(values(masked_fill(zeros({2, 2}), tensor({1, 0}, {kBool}), 5)) == std::vector<double>{5, 0, 5, 0});
  CHECK_THROWS_AS(exp(arange(3)), Error);  // exp of an integer tensor
  CHECK(values(arange(3).to(DType::Float64).exp()) == std::vector<double>{1, std::exp(1.0), std::exp(2.0)});
}

TEST_CASE("elementwise math edge values") {
  Tensor x = tensor({-400, -1, 0, 1, 400}, {DType::Float64});
  for (double v : values(sigmoid(x))) CHECK(std::isfinite(v));
  CHECK(values(sigmoid(x))[0] == doctest::Approx(0));
  CHECK(values(sigmoid(x))[4] == doctest::Approx(1));
  CHECK(values(relu(x)) == std::vector<double>{0, 0, 0, 1, 400});
  CHECK(values(gelu(x))[0] == doctest::Approx(0));
  CHECK(values(gelu(x))[4] == doctest::Approx(400));
  CHECK(values(clamp(x, -1.0, std::nullopt)) == std::vector<double>{-1, -1, 0, 1, 400});
  CHECK(values(maximum(x, zeros({5}, {DType::Float64}))) == values(relu(x)));
  CHECK(std::isnan(values(maximum(tensor({NAN}), tensor({1})))[0]));
}

TEST_CASE("reductions over any dims with keepdim") {
  Tensor x = arange(0, 24, 1, {DType::Float64}).reshape({2, 3, 4});
  CHECK(sum(x).item() == 276);
  CHECK(sum(x, {0, 2}).shape() == Shape{3});
  CHECK(values(sum(x, {0, 2})) == std::vector<double>{60, 92, 124});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1, 4});
  CHECK(values(mean(x, {-1})) == std::vector<double>{1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  CHECK(var(tensor({1, 2, 3, 4})).item() == doctest::Approx(5.0 / 3));
  CHECK(var(tensor({1, 2, 3, 4}), {}, 0).item() == doctest::Approx(1.25));
  CHECK(values(max(x, {2})) == std::vector<double>{3, 7, 11, 15, 19, 23});
  CHECK(min(x).item() == 0);
  CHECK(values(argmax(x, 1)) == std::vector<double>{2, 2, 2, 2, 2, 2, 2, 2});
  CHECK(argmax(x).item() == 23);
  CHECK(argmin(tensor({3, 1, 2})).item() == 1);
  CHECK(sum(arange(4)).dtype() == DType::Int64);
  CHECK(sum(zeros({0, 3}), {0}).shape() == Shape{3});
  CHECK_THROWS_AS(max(zeros({0, 3}), {0}), Error);
  CHECK_THROWS_AS(sum(x, {3}), Error);
  // A transposed input reduces the same as its contiguous copy.
  Tensor t = x.permute({2, 0, 1});
  CHECK(values(sum(t, {1})) == values(sum(t.contiguous(), {1})));
  // A long reduction (parallel path) is accurate.
  CHECK(sum(ones({1 << 20})).item() == 1 << 20);
}

TEST_CASE("softmax is stable and sums to one") {
  Tensor x = tensor({{1000, 1001, 1002}, {-5, 0, 5}}, {DType::Float64});
  Tensor s = softmax(x, 1);
  for (double v : values(s)) CHECK(std::isfinite(v));
  for (double row_sum : values(sum(s, {1}))) CHECK(row_sum == doctest::Approx(1));
  Tensor ls = log_softmax(x, 1);
  CHECK(values(ls)[2] == doctest::Approx(-std::log(1 + std::exp(-1.0) + std::exp(-2.0))));
  CHECK(values(softmax(x, 0)).size() == 6);
}

TEST_CASE("matmul shapes and values") {
  Tensor a = arange(0, 6, 1, {DType::Float32}).reshape({2, 3});
  Tensor b = arange(0, 6, 1, {DType::Float32}).reshape({3, 2});
  CHECK(values(matmul(a, b)) == std::vector<double>{10, 13, 28, 40});
  CHECK(values(matmul(b.t(), a.t())) == std::vector<double>{10, 28, 13, 40});  // transposed operands, no copy
  CHECK(matmul(ones({5, 2, 3}), ones({3, 4})).shape() == Shape{5, 2, 4});
  CHECK(matmul(ones({5, 1, 2, 3}), ones({4, 3, 2})).shape() == Shape{5, 4, 2, 2});
  CHECK(matmul(ones({3}), ones({3})).dim() == 0);
  CHECK(matmul(ones({3}), ones({3})).item() == 3);
  CHECK(matmul(ones({2, 3}), ones({3})).shape() == Shape{2});
  CHECK(values(matmul(arange(4).reshape({2, 2}), arange(4).reshape({2, 2}))) == std::vector<double>{2, 3, 6, 11});
  try {
    (void)matmul(ones({32, 64}), ones({128, 10}));
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "matmul: inner dimensions differ: [32, 64] @ [128, 10]");
  }
  CHECK_THROWS_AS(matmul(ones({2, 2}), ones({2, 2}, {DType::Float64})), Error);
}

TEST_CASE("cat, stack, split, chunk") {
  Tensor a = arange(0, 4, 1, {DType::Float32}).reshape({2, 2});
  Tensor c = cat({a, a * 10.0}, 1);
  CHECK(values(c) == std::vector<double>{0, 1, 0, 10, 2, 3, 20, 30});
  CHECK(stack({a, a}, 0).shape() == Shape{2, 2, 2});
  auto parts = split(arange(7), 3);
  REQUIRE(parts.size() == 3);
  CHECK(values(parts[2]) == std::vector<double>{6});
  CHECK(chunk(arange(6), 4).size() == 3);
  CHECK_THROWS_AS(cat({ones({2, 2}), ones({3, 3})}, 0), Error);
}

TEST_CASE("indexing ops and their errors") {
  Tensor x = arange(0, 6, 1, {DType::Float32}).reshape({3, 2});
  CHECK(values(index_select(x, 0, tensor({2, 0}, {DType::Int64}))) == std::vector<double>{4, 5, 0, 1});
  CHECK(values(index_select(x, 1, tensor({1}, {DType::Int64}))) == std::vector<double>{1, 3, 5});
  CHECK(values(gather(x, 1, tensor({{1, 0}, {0, 0}, {1, 1}}, {DType::Int64}))) == std::vector<double>{1, 0, 2, 2, 5, 5});
  Tensor sa = scatter_add(zeros({2, 3}), 1, tensor({{0, 0}, {2, 1}}, {DType::Int64}), ones({2, 2}));
  CHECK(values(sa) == std::vector<double>{2, 0, 0, 0, 1, 1});
  CHECK(values(index_add(zeros({3}), 0, tensor({1, 1}, {DType::Int64}), ones({2}))) == std::vector<double>{0, 2, 0});
  CHECK(values(one_hot(tensor({2, 0}, {DType::Int64}), 3)) == std::vector<double>{0, 0, 1, 1, 0, 0});
  Tensor w = arange(0, 6, 1, {DType::Float32}).reshape({3, 2});
  CHECK(embedding(w, tensor({{2, 0}}, {DType::Int64})).shape() == Shape{1, 2, 2});
  try {
    (void)index_select(x, 0, tensor({3}, {DType::Int64}));
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("index_select: index 3 out of range for dim 0 of size 3") != std::string::npos);
  }
  CHECK_THROWS_AS(gather(x, 1, tensor({{-1, 0}, {0, 0}, {1, 1}}, {DType::Int64})), Error);
  CHECK_THROWS_AS(index_select(x, 0, tensor({0.0})), Error);  // float index
  CHECK_THROWS_AS(embedding(w, tensor({7}, {DType::Int64})), Error);
  CHECK_THROWS_AS(x.select(0, 3), Error);
  CHECK_THROWS_AS(x.permute({0, 0}), Error);
  CHECK_THROWS_AS(x.expand({3, 3}), Error);
}

TEST_CASE("random numbers: seeded, counter-based, well distributed") {
  manual_seed(42);
  Tensor a = randn({10000});
  manual_seed(42);
  Tensor b = randn({10000});
  CHECK(values(a) == values(b));
  Tensor c = randn({10000});
  CHECK(values(a) != values(c));
  CHECK(std::abs(mean(a).item()) < 0.05);
  CHECK(std::abs(var(a).item() - 1) < 0.05);
  Tensor u = rand({10000});
  CHECK(min(u).item() >= 0);
  CHECK(max(u).item() < 1);
  CHECK(std::abs(mean(u).item() - 0.5) < 0.02);
  Tensor r = randint(3, 7, {1000});
  CHECK(min(r).item() == 3);
  CHECK(max(r).item() == 6);
  Tensor m = bernoulli({10000}, 0.3);
  CHECK(std::abs(mean(m).item() - 0.3) < 0.02);
  auto p = values(randperm(10));
  std::sort(p.begin(), p.end());
  CHECK(p == values(arange(10)));
  // Saving (seed, offset) and restoring it replays the stream.
  Generator& g = default_generator();
  const uint64_t seed = g.seed(), offset = g.offset();
  auto next = values(randn({5}));
  g.set_state(seed, offset);
  CHECK(values(randn({5})) == next);
  // The thread count never changes the numbers.
  set_num_threads(1);
  manual_seed(5);
  auto one = values(rand({100000}));
  set_num_threads(2);
  manual_seed(5);
  CHECK(values(rand({100000})) == one);
}

TEST_CASE("printing like PyTorch") {
  CHECK(to_string(tensor({{1, 2}, {3, 4}})) == "tensor([[1., 2.],\n        [3., 4.]])");
  CHECK(to_string(tensor({0.5, -1.25}, {DType::Float64})) == "tensor([ 0.5000, -1.2500], dtype=float64)");
  CHECK(to_string(arange(3)) == "tensor([0, 1, 2])");
  CHECK(to_string(ones({2}).requires_grad_()) == "tensor([1., 1.], requires_grad=True)");
  CHECK(to_string(scalar_tensor(2.5)) == "tensor(2.5000)");
  std::string big = fmt::format("{}", arange(2000));
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.size() < 200);
}

TEST_CASE("item and undefined tensors give clear errors") {
  CHECK_THROWS_AS(ones({2}).item(), Error);
  Tensor undefined;
  CHECK_FALSE(undefined.defined());
  CHECK_THROWS_AS(undefined.shape(), Error);
}

TEST_CASE("matmul split across threads matches a reference for every transpose and shape") {
  set_num_threads(2);
  // Large enough to be split into row blocks (M ≥ N) or column blocks (M < N), and a batch.
  for (auto [M, K, N] : {std::array<int64_t, 3>{160, 130, 150}, std::array<int64_t, 3>{40, 300, 400}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        CAPTURE(M);
        CAPTURE(ta);
        CAPTURE(tb);
        Tensor a = ta ? randn({K, M}).t() : randn({M, K});
        Tensor b = tb ? randn({N, K}).t() : randn({K, N});
        Tensor ref = raw::reduce(ReduceOp::Sum,
                                 raw::binary(BinaryOp::Mul, raw::to_dtype(a, DType::Float64).unsqueeze(2),
                                             raw::to_dtype(b, DType::Float64).unsqueeze(0)),
                                 {1}, false);
        CHECK_CLOSE(raw::matmul(a, b), ref, 1e-3, 1e-4);
        Tensor batched = raw::matmul(stack({a, a}, 0), b);  // (2,M,N)
        CHECK_CLOSE(batched.select(0, 1), ref, 1e-3, 1e-4);
      }
  }
}
