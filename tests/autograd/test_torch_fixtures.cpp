// heed's ops against PyTorch: values and gradients from tests/fixtures/ops.safetensors, written
// by scripts/make_fixtures.py. For each case NAME the file holds NAME.inK (inputs), NAME.out (or
// NAME.outK for several outputs), NAME.gout (random upstream gradient) and NAME.gradK, the
// gradient of sum(out * gout) w.r.t. input K. Each case runs as its own SUBCASE (select one
// with -sc=NAME); a second test checks that every case in the file has an entry in the table.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tensor/io.h"
#include "tests/fixture_cases.h"
#include "tests/helpers.h"

namespace {

using namespace heed;
using Ins = std::vector<Tensor>;
using Outs = std::vector<Tensor>;
using Op = std::function<Outs(const Ins&)>;

// A case with one output, and one with several (split, chunk).
#define ONE(expr) [](const Ins& x) -> Outs { return Outs{expr}; }
#define MANY(expr) [](const Ins& x) -> Outs { return expr; }

constexpr Reduction kNone = Reduction::None, kSum = Reduction::Sum, kMean = Reduction::Mean;

// Case name -> the heed call that means the same as the PyTorch call in make_fixtures.py.
const std::map<std::string, Op>& table() {
  static const std::map<std::string, Op> ops = {
      // ---- binary arithmetic
      {"add_row", ONE(add(x[0], x[1]))},
      {"add_outer", ONE(add(x[0], x[1]))},
      {"sub_row", ONE(sub(x[0], x[1]))},
      {"sub_outer", ONE(sub(x[0], x[1]))},
      {"mul_row", ONE(mul(x[0], x[1]))},
      {"mul_outer", ONE(mul(x[0], x[1]))},
      {"div_row", ONE(div(x[0], x[1]))},
      {"div_outer", ONE(div(x[0], x[1]))},
      {"pow_tensor", ONE(pow(x[0], x[1]))},
      {"pow_tensor_row", ONE(pow(x[0], x[1]))},
      {"pow_scalar3", ONE(pow(x[0], 3.0))},
      {"pow_scalar0_5", ONE(pow(x[0], 0.5))},
      {"maximum", ONE(maximum(x[0], x[1]))},
      {"maximum_row", ONE(maximum(x[0], x[1]))},
      {"minimum", ONE(minimum(x[0], x[1]))},
      {"minimum_outer", ONE(minimum(x[0], x[1]))},
      // ---- unary math and activations
      {"neg", ONE(neg(x[0]))},
      {"exp", ONE(exp(x[0]))},
      {"log", ONE(log(x[0]))},
      {"sqrt", ONE(sqrt(x[0]))},
      {"rsqrt", ONE(rsqrt(x[0]))},
      {"abs", ONE(abs(x[0]))},
      {"sin", ONE(sin(x[0]))},
      {"cos", ONE(cos(x[0]))},
      {"erf", ONE(erf(x[0]))},
      {"tanh", ONE(tanh(x[0]))},
      {"sigmoid", ONE(sigmoid(x[0]))},
      {"relu", ONE(relu(x[0]))},
      {"gelu", ONE(gelu(x[0], "none"))},
      {"gelu_tanh", ONE(gelu(x[0], "tanh"))},
      {"silu", ONE(silu(x[0]))},
      {"clamp", ONE(clamp(x[0], -0.5, 0.5))},
      {"where", ONE(where(x[0], x[1], x[2]))},
      {"masked_fill", ONE(masked_fill(x[0], x[1], -1.5))},
      // ---- reductions
      {"sum_all", ONE(sum(x[0]))},
      {"sum_dim1_keep", ONE(sum(x[0], {1}, true))},
      {"sum_dims02", ONE(sum(x[0], {0, 2}))},
      {"mean_all", ONE(mean(x[0]))},
      {"mean_dim1_keep", ONE(mean(x[0], {1}, true))},
      {"var_all", ONE(var(x[0]))},
      {"var_all_c0", ONE(var(x[0], {}, 0))},
      {"var_dim1_keep", ONE(var(x[0], {1}, 1, true))},
      {"var_dim1_keep_c0", ONE(var(x[0], {1}, 0, true))},
      {"max_dim1", ONE(max(x[0], {1}))},
      {"max_dim0_keep", ONE(max(x[0], {0}, true))},
      {"min_dim1", ONE(min(x[0], {1}))},
      {"amax_all", ONE(max(x[0]))},
      {"amin_all", ONE(min(x[0]))},
      {"softmax_dim0", ONE(softmax(x[0], 0))},
      {"softmax_dimm1", ONE(softmax(x[0], -1))},
      {"log_softmax_dim0", ONE(log_softmax(x[0], 0))},
      {"log_softmax_dimm1", ONE(log_softmax(x[0], -1))},
      // ---- linear algebra
      {"matmul_2d", ONE(matmul(x[0], x[1]))},
      {"matmul_1d_2d", ONE(matmul(x[0], x[1]))},
      {"matmul_2d_1d", ONE(matmul(x[0], x[1]))},
      {"matmul_dot", ONE(matmul(x[0], x[1]))},
      {"matmul_batch_2d", ONE(matmul(x[0], x[1]))},
      {"matmul_batch_bcast", ONE(matmul(x[0], x[1]))},
      {"matmul_batch", ONE(matmul(x[0], x[1]))},
      {"transpose_matmul", ONE(matmul(transpose(x[0], 0, 1), x[1]))},
      {"transpose_matmul_3d", ONE(matmul(x[0].transpose(1, 2), x[1].transpose(-1, -2)))},
      // ---- shapes and views
      {"reshape", ONE(reshape(x[0], {4, 6}))},
      {"permute_reshape", ONE(reshape(permute(x[0], {2, 0, 1}), {4, 6}))},
      {"permute", ONE(permute(x[0], {2, 0, 1}))},
      {"transpose", ONE(transpose(x[0], 0, 2))},
      {"expand", ONE(expand(x[0], {2, 3, 4}))},
      {"slice_step", ONE(x[0].slice(1, 1, 4, 2))},
      {"slice_dim0", ONE(x[0].slice(0, 1, 3))},
      {"select", ONE(x[0].select(1, -1))},
      {"narrow", ONE(x[0].narrow(1, 1, 2))},
      {"cat_dim0", ONE(cat({x[0], x[1]}, 0))},
      {"cat_dim1", ONE(cat({x[0], x[1], x[2]}, 1))},
      {"stack_dim1", ONE(stack({x[0], x[1], x[2]}, 1))},
      {"split_size", MANY(split(x[0], 2, 0))},
      {"split_sizes", MANY(split(x[0], std::vector<int64_t>{1, 3}, 1))},
      {"chunk", MANY(chunk(x[0], 2, 1))},
      // ---- indexing
      {"index_select_dim0", ONE(index_select(x[0], 0, x[1]))},
      {"index_select_dim1", ONE(index_select(x[0], 1, x[1]))},
      {"gather", ONE(gather(x[0], 1, x[1]))},
      {"scatter_add", ONE(scatter_add(x[0], 1, x[1], x[2]))},
      {"embedding", ONE(embedding(x[0], x[1]))},
      {"embedding_padding", ONE(embedding(x[0], x[1], 1))},
      // ---- losses (inputs: logits/log-probs, target, then weights)
      {"ce_mean", ONE(cross_entropy(x[0], x[1]))},
      {"ce_sum", ONE(cross_entropy(x[0], x[1], Tensor(), -100, 0.0, kSum))},
      {"ce_none", ONE(cross_entropy(x[0], x[1], Tensor(), -100, 0.0, kNone))},
      {"ce_weight", ONE(cross_entropy(x[0], x[1], x[2]))},
      {"ce_weight_none", ONE(cross_entropy(x[0], x[1], x[2], -100, 0.0, kNone))},
      {"ce_ignore", ONE(cross_entropy(x[0], x[1]))},
      {"ce_ignore1_sum", ONE(cross_entropy(x[0], x[1], Tensor(), 1, 0.0, kSum))},
      {"ce_smooth", ONE(cross_entropy(x[0], x[1], Tensor(), -100, 0.1))},
      {"ce_smooth_sum", ONE(cross_entropy(x[0], x[1], Tensor(), -100, 0.1, kSum))},
      {"ce_smooth_none", ONE(cross_entropy(x[0], x[1], Tensor(), -100, 0.1, kNone))},
      {"ce_weight_smooth", ONE(cross_entropy(x[0], x[1], x[2], -100, 0.1))},
      {"ce_weight_smooth_ignore", ONE(cross_entropy(x[0], x[1], x[2], -100, 0.1, kMean))},
      {"ce_smooth_ignore1_none", ONE(cross_entropy(x[0], x[1], Tensor(), 1, 0.1, kNone))},
      {"ce_nd", ONE(cross_entropy(x[0], x[1]))},
      {"ce_nd_none", ONE(cross_entropy(x[0], x[1], Tensor(), -100, 0.0, kNone))},
      {"ce_nd_weight_smooth", ONE(cross_entropy(x[0], x[1], x[2], -100, 0.1))},
      {"nll_mean", ONE(nll_loss(x[0], x[1]))},
      {"nll_sum", ONE(nll_loss(x[0], x[1], Tensor(), -100, kSum))},
      {"nll_none", ONE(nll_loss(x[0], x[1], Tensor(), -100, kNone))},
      {"nll_weight", ONE(nll_loss(x[0], x[1], x[2]))},
      {"nll_weight_ignore", ONE(nll_loss(x[0], x[1], x[2]))},
      {"nll_nd", ONE(nll_loss(x[0], x[1]))},
      {"mse_mean", ONE(mse_loss(x[0], x[1]))},
      {"mse_sum", ONE(mse_loss(x[0], x[1], kSum))},
      {"mse_none", ONE(mse_loss(x[0], x[1], kNone))},
      {"bce_logits", ONE(binary_cross_entropy_with_logits(x[0], x[1]))},
      {"bce_logits_weight_pos", ONE(binary_cross_entropy_with_logits(x[0], x[1], x[2], x[3]))},
      {"bce_logits_pos_sum", ONE(binary_cross_entropy_with_logits(x[0], x[1], Tensor(), x[2], kSum))},
      {"bce_logits_weight_none", ONE(binary_cross_entropy_with_logits(x[0], x[1], x[2], Tensor(), kNone))},
  };
  return ops;
}

#undef ONE
#undef MANY

// Float64 throughout, so heed and PyTorch should agree to rounding.
constexpr double kAtol = 1e-10, kRtol = 1e-8;

const SafetensorsFile& fixtures() {
  static const SafetensorsFile file = load_safetensors(HEED_FIXTURES_DIR "/ops.safetensors");
  return file;
}


// NAME.<stem>0, NAME.<stem>1, ... while present; or just NAME.<stem> when `single` allows it.
std::vector<std::string> numbered(const SafetensorsFile& f, const std::string& c, const std::string& stem,
                                  bool single) {
  if (single && f.contains(c + "." + stem)) return {c + "." + stem};
  std::vector<std::string> keys;
  for (int k = 0; f.contains(c + "." + stem + std::to_string(k)); ++k) keys.push_back(c + "." + stem + std::to_string(k));
  return keys;
}

void check_tensor(const std::string& what, const Tensor& got, const Tensor& want) {
  test::check_against_torch(what, got, want, {.atol64 = kAtol, .rtol64 = kRtol});
}

void run_case(const std::string& c, const Op& op) {
  const SafetensorsFile& f = fixtures();
  // Inputs: fresh leaves (clones, so no state leaks between runs); grad only where PyTorch has one.
  Ins x;
  for (const std::string& key : numbered(f, c, "in", false)) {
    Tensor t = f.at(key).clone();
    const std::string grad_key = c + ".grad" + key.substr(key.rfind(".in") + 3);
    if (f.contains(grad_key)) {
      REQUIRE_MESSAGE(t.is_floating_point(), grad_key, " belongs to a non-float input");
      t.requires_grad_();
    }
    x.push_back(t);
  }
  REQUIRE_MESSAGE(!x.empty(), c, " has no inputs");

  std::vector<std::string> out_keys = numbered(f, c, "out", true), gout_keys = numbered(f, c, "gout", true);
  Outs outs = op(x);
  REQUIRE_MESSAGE(outs.size() == out_keys.size(), c, ": heed gave ", outs.size(), " outputs, PyTorch ",
                  out_keys.size());
  REQUIRE(gout_keys.size() == out_keys.size());
  Tensor loss;
  for (size_t k = 0; k < outs.size(); ++k) {
    check_tensor(out_keys[k], outs[k], f.at(out_keys[k]));
    Tensor term = sum(outs[k] * f.at(gout_keys[k]));
    loss = loss.defined() ? loss + term : term;
  }

  bool any_grad = false;
  for (const Tensor& t : x) any_grad = any_grad || t.requires_grad();
  if (!any_grad) return;
  loss.backward();
  for (size_t k = 0; k < x.size(); ++k) {
    const std::string grad_key = c + ".grad" + std::to_string(k);
    if (f.contains(grad_key)) check_tensor(grad_key, x[k].grad(), f.at(grad_key));
  }
}

}  // namespace

TEST_CASE("torch fixtures: ops match PyTorch") {
  const SafetensorsFile& f = fixtures();
  test::run_fixture_cases(f, table(), run_case);
}

TEST_CASE("torch fixtures: every case in the file is in the table, and back") {
  const SafetensorsFile& f = fixtures();
  std::vector<std::string> names = test::fixture_case_names(f);
  CHECK(names.size() >= 100);
  std::set<std::string> in_file(names.begin(), names.end());
  for (const std::string& c : names) CHECK_MESSAGE(table().count(c) == 1, "fixture case '", c, "' has no heed op");
  for (const auto& [c, op] : table()) CHECK_MESSAGE(in_file.count(c) == 1, "table case '", c, "' is not in the file");
  // Every tensor name must be one the runner reads: inK, out[K], gout[K], gradK.
  for (const auto& [name, t] : f.tensors) {
    const std::string part = name.substr(name.find('.') + 1);
    const std::string stem = part.substr(0, part.find_first_of("0123456789"));
    CHECK_MESSAGE((stem == "in" || stem == "out" || stem == "gout" || stem == "grad"), "unexpected tensor ", name);
  }
}
