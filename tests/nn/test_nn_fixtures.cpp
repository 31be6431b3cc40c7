// heed's basic layers against PyTorch: tests/fixtures/nn_basic.safetensors, written by
// scripts/make_nn_fixtures.py. For each case NAME the file holds the torch module's state_dict
// (NAME.p.<key>), its inputs (NAME.inK), output (NAME.out), a random upstream gradient
// (NAME.gout), and the gradients of sum(out * gout) w.r.t. the inputs (NAME.ginK) and every
// parameter (NAME.gp.<name>). heed builds the same layer, loads the state dict strictly (so the
// parameter and buffer names must be PyTorch's), and must reproduce output and gradients.
//
// Tolerances: the layer cases are float64 on both sides, so they differ only by rounding order
// (atol 1e-10, rtol 1e-8). ckpt_mlp is float32, loaded from a checkpoint PyTorch exported
// (nn_mlp_torch.safetensors): float32 rounding, atol 1e-6, rtol 1e-5.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <set>

#include "../fixture_cases.h"
#include "../helpers.h"
#include "nn/nn.h"
#include "tensor/io.h"

namespace {

using namespace heed;
using Ins = std::vector<Tensor>;
using ModulePtr = std::shared_ptr<nn::Module>;

struct Case {
  std::function<ModulePtr()> make;
  bool eval = false;  // run in eval mode
  // Forward on the inputs; default: the one-tensor call.
  std::function<Tensor(nn::Module&, const Ins&)> call = [](nn::Module& m, const Ins& x) { return m(x[0]); };
  std::function<void(nn::Module&)> load{};  // default: load_state_dict of NAME.p.*, strict
};

template <typename M, typename... Args>
std::function<ModulePtr()> make(Args... args) {
  return [=] { return std::make_shared<M>(args...); };
}

Tensor two_args(nn::Module& m, const Ins& x) { return dynamic_cast<nn::Loss&>(m)(x[0], x[1]); }

ModulePtr sequential(std::initializer_list<ModulePtr> ms) { return std::make_shared<nn::Sequential>(ms); }

// Placeholder class weights: the real ones come from the state dict (buffer "weight").
Tensor placeholder(int64_t n) { return ones({n}); }

const std::map<std::string, Case>& table() {
  static const std::map<std::string, Case> cases = {
      {"linear", {make<nn::Linear>(4, 3)}},
      {"linear_nobias", {make<nn::Linear>(4, 3, false)}},
      {"embedding_pad", {make<nn::Embedding>(6, 3, 1)}},
      {"embedding_negpad", {make<nn::Embedding>(5, 2, -1)}},
      {"layernorm", {make<nn::LayerNorm>(4)}},
      {"layernorm_2d", {[] { return std::make_shared<nn::LayerNorm>(Shape{3, 4}, 1e-3); }}},
      {"layernorm_noaffine", {make<nn::LayerNorm>(4, 1e-5, false)}},
      {"relu", {make<nn::ReLU>()}},
      {"gelu", {make<nn::GELU>()}},
      {"gelu_tanh", {make<nn::GELU>("tanh")}},
      {"tanh", {make<nn::Tanh>()}},
      {"sigmoid", {make<nn::Sigmoid>()}},
      {"silu", {make<nn::SiLU>()}},
      {"softmax_dim1", {make<nn::Softmax>(1)}},
      {"log_softmax_last", {make<nn::LogSoftmax>(-1)}},
      {"identity", {make<nn::Identity>()}},
      {"dropout_eval", {make<nn::Dropout>(0.5), /*eval=*/true}},
      {"sequential",
       {[] {
         return sequential(
             {std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(8, 3)});
       }}},
      {"ce_weight_smooth",
       {[] {
          return std::make_shared<nn::CrossEntropyLoss>(
              nn::CrossEntropyLossOptions{.weight = placeholder(4), .label_smoothing = 0.1});
        },
        false, two_args}},
      {"ce_ignore1_sum",
       {[] {
          return std::make_shared<nn::CrossEntropyLoss>(
              nn::CrossEntropyLossOptions{.ignore_index = 1, .reduction = Reduction::Sum});
        },
        false, two_args}},
      {"ce_nd", {make<nn::CrossEntropyLoss>(), false, two_args}},
      {"nll_weight_ignore",
       {[] { return std::make_shared<nn::NLLLoss>(nn::NLLLossOptions{.weight = placeholder(4)}); }, false, two_args}},
      {"nll_none",
       {[] { return std::make_shared<nn::NLLLoss>(nn::NLLLossOptions{.reduction = Reduction::None}); }, false,
        two_args}},
      {"mse", {make<nn::MSELoss>(), false, two_args}},
      {"mse_sum", {make<nn::MSELoss>(Reduction::Sum), false, two_args}},
      {"bce_weight_pos",
       {[] {
          return std::make_shared<nn::BCEWithLogitsLoss>(
              nn::BCEWithLogitsLossOptions{.weight = placeholder(4), .pos_weight = placeholder(4)});
        },
        false, two_args}},
      {"bce_none",
       {[] {
          return std::make_shared<nn::BCEWithLogitsLoss>(nn::BCEWithLogitsLossOptions{.reduction = Reduction::None});
        },
        false, two_args}},
      {"ckpt_mlp",
       {[] {
          return sequential(
              {std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 2)});
        },
        false, [](nn::Module& m, const Ins& x) { return m(x[0]); },
        [](nn::Module& m) { m.load(HEED_FIXTURES_DIR "/nn_mlp_torch.safetensors"); }}},
  };
  return cases;
}

const SafetensorsFile& fixtures() {
  static const SafetensorsFile file = load_safetensors(HEED_FIXTURES_DIR "/nn_basic.safetensors");
  return file;
}


// NAME.<prefix><rest> entries, with the prefix stripped.
nn::NamedTensors entries(const SafetensorsFile& f, const std::string& c, const std::string& prefix) {
  nn::NamedTensors out;
  const std::string head = c + "." + prefix;
  for (const auto& [name, t] : f.tensors)
    if (name.rfind(head, 0) == 0) out.emplace_back(name.substr(head.size()), t);
  return out;
}

void check_tensor(const std::string& what, const Tensor& got, const Tensor& want) {
  test::check_against_torch(what, got, want, {.atol32 = 1e-6, .rtol32 = 1e-5});
}

void run_case(const std::string& c, const Case& spec) {
  const SafetensorsFile& f = fixtures();
  ModulePtr m = spec.make();
  const nn::NamedTensors state = entries(f, c, "p.");
  // The module works in the fixture's float dtype: its state's, else its first float input's.
  DType dtype = DType::Float32;
  for (const auto& [_, t] : state) dtype = t.dtype();
  if (state.empty())
    for (const auto& [_, t] : entries(f, c, "in"))
      if (t.is_floating_point()) {
        dtype = t.dtype();
        break;
      }
  m->to(dtype);
  if (spec.load)
    spec.load(*m);
  else
    m->load_state_dict(state, /*strict=*/true);
  if (spec.eval) m->eval();

  Ins x;
  for (int k = 0; f.contains(c + ".in" + std::to_string(k)); ++k) {
    Tensor t = f.at(c + ".in" + std::to_string(k)).clone();
    if (f.contains(c + ".gin" + std::to_string(k))) t.requires_grad_();
    x.push_back(t);
  }
  REQUIRE_MESSAGE(!x.empty(), c, " has no inputs");
  Tensor out = spec.call(*m, x);
  check_tensor(c + ".out", out, f.at(c + ".out"));
  sum(out * f.at(c + ".gout")).backward();
  for (size_t k = 0; k < x.size(); ++k) {
    const std::string key = c + ".gin" + std::to_string(k);
    if (f.contains(key)) check_tensor(key, x[k].grad(), f.at(key));
  }
  // Every parameter has PyTorch's gradient, and PyTorch has no parameter heed lacks.
  const nn::NamedTensors want_grads = entries(f, c, "gp.");
  const nn::NamedTensors params = m->named_parameters();
  CHECK_MESSAGE(want_grads.size() == params.size(), c, ": PyTorch has ", want_grads.size(), " parameter grads, heed ",
                params.size(), " parameters");
  for (const auto& [name, p] : params) {
    const std::string key = c + ".gp." + name;
    REQUIRE_MESSAGE(f.contains(key), key, " missing from the fixture");
    check_tensor(key, p.grad(), f.at(key));
  }
}

}  // namespace

TEST_CASE("nn fixtures: layers, containers and losses match PyTorch") {
  const SafetensorsFile& f = fixtures();
  test::run_fixture_cases(f, table(), run_case);
}

TEST_CASE("nn fixtures: every case in the file is in the table, and back") {
  std::vector<std::string> names = test::fixture_case_names(fixtures());
  std::set<std::string> in_file(names.begin(), names.end());
  CHECK(names.size() >= 28);
  for (const std::string& c : names) CHECK_MESSAGE(table().count(c) == 1, "fixture case '", c, "' has no heed layer");
  for (const auto& [c, _] : table()) CHECK_MESSAGE(in_file.count(c) == 1, "table case '", c, "' is not in the file");
}

TEST_CASE("nn fixtures: the PyTorch checkpoint holds a float32 state dict under PyTorch's names") {
  SafetensorsFile ckpt = load_safetensors(HEED_FIXTURES_DIR "/nn_mlp_torch.safetensors");
  std::vector<std::string> names;
  for (const auto& [n, t] : ckpt.tensors) {
    names.push_back(n);
    CHECK(t.dtype() == DType::Float32);
  }
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(ckpt.metadata.at("format") == "pt");
}
