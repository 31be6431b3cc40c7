// nn::Module's registry as the layers use it: nested parameter names, registration errors,
// train/eval propagation, dtype moves, zero_grad, summary, state dicts (strict and not), and
// safetensors checkpoints on disk.
#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

#include "../helpers.h"
#include "autograd/node.h"
#include "nn/nn.h"
#include "tensor/io.h"
#include "tensor/random.h"

using namespace heed;
using heed::test::values;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::string> names_of(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [n, _] : named) out.push_back(n);
  return out;
}

// Exposes the protected registration calls, to probe their checks.
struct Open : nn::Module {
  Open() : Module("Open") {}
  using Module::register_buffer;
  using Module::register_module;
  using Module::register_parameter;
};

struct Block : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  Block() : Module("Block") { fc = register_module("fc", std::make_shared<nn::Linear>(3, 2)); }
  Tensor forward(const Tensor& x) override { return (*fc)(x); }
};

// scale (1), seq: Linear(2, 3) + Tanh, block: fc Linear(3, 2).
struct Net : nn::Module {
  Tensor scale;
  std::shared_ptr<nn::Sequential> seq;
  std::shared_ptr<Block> block;
  Net() : Module("Net") {
    scale = register_parameter("scale", ones({1}));
    seq = register_module("seq", std::make_shared<nn::Sequential>(
                                     std::initializer_list<nn::ModulePtr>{std::make_shared<nn::Linear>(2, 3),
                                                                          std::make_shared<nn::Tanh>()}));
    block = register_module("block", std::make_shared<Block>());
  }
  Tensor forward(const Tensor& x) override { return (*block)((*seq)(x) * scale); }
};

std::shared_ptr<nn::Sequential> mlp(int64_t in, int64_t hidden, int64_t out) {
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Linear>(in, hidden), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(hidden, out)});
}

std::vector<std::vector<double>> snapshot(const nn::Module& m) {
  std::vector<std::vector<double>> out;
  for (const Tensor& p : m.parameters()) out.push_back(values(p));
  return out;
}

// A fresh path under the system temp dir, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("heed-nn-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("module: nested parameter names, in registration order") {
  Net net;
  const std::vector<std::string> want = {"scale", "seq.0.weight", "seq.0.bias", "block.fc.weight", "block.fc.bias"};
  CHECK(names_of(net.named_parameters()) == want);
  CHECK(names_of(net.named_parameters(/*recurse=*/false)) == std::vector<std::string>{"scale"});
  // parameters() follows the same order, and hands out the members' own tensors.
  std::vector<Tensor> ps = net.parameters();
  REQUIRE(ps.size() == 5);
  CHECK(ps[0].is_same(net.scale));
  CHECK(ps[3].is_same(net.block->fc->weight));
  CHECK(ps[4].is_same(net.block->fc->bias));
  auto lin = std::dynamic_pointer_cast<nn::Linear>((*net.seq)[0]);
  REQUIRE(lin);
  CHECK(ps[1].is_same(lin->weight));
  for (const Tensor& p : ps) {
    CHECK(p.requires_grad());
    CHECK(p.is_leaf());
  }
  // A Sequential at the root: names are the bare indices.
  CHECK(names_of(mlp(4, 8, 3)->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
}

TEST_CASE("module: duplicate and malformed names are refused") {
  Open m;
  m.register_parameter("w", zeros({2}));
  m.register_module("child", std::make_shared<nn::ReLU>());
  CHECK_THROWS_WITH_AS(m.register_parameter("w", zeros({2})), doctest::Contains("registered twice"), Error);
  CHECK_THROWS_WITH_AS(m.register_buffer("w", zeros({2})), doctest::Contains("\"w\""), Error);
  CHECK_THROWS_WITH_AS(m.register_parameter("child", zeros({2})), doctest::Contains("registered twice"), Error);
  CHECK_THROWS_WITH_AS(m.register_module("w", std::make_shared<nn::ReLU>()), doctest::Contains("registered twice"),
                       Error);
  CHECK_THROWS_WITH_AS(m.register_parameter("a.b", zeros({2})), doctest::Contains("no dots"), Error);
  CHECK_THROWS_AS(m.register_parameter("", zeros({2})), Error);
  CHECK_THROWS_AS(m.register_parameter("ids", zeros({2}, {DType::Int64})), Error);  // parameters are floating
  CHECK(names_of(m.named_parameters()) == std::vector<std::string>{"w"});
}

TEST_CASE("module: num_parameters, output shapes after a call, and summary") {
  auto net = mlp(4, 8, 3);
  CHECK(net->num_parameters() == 4 * 8 + 8 + 8 * 3 + 3);
  CHECK_FALSE(contains(net->summary(), "[5, 3]"));  // no call yet: no output shapes
  Tensor y = (*net)(randn({5, 4}));
  CHECK(y.shape() == Shape{5, 3});
  const std::string s = net->summary();
  INFO(s);
  CHECK(contains(s, "Sequential"));
  CHECK(contains(s, "Linear(in=4, out=8, bias=true)"));
  CHECK(contains(s, "ReLU"));
  CHECK(contains(s, "Linear(in=8, out=3, bias=true)"));
  CHECK(contains(s, "[5, 8]"));  // the first Linear's and the ReLU's output
  CHECK(contains(s, "[5, 3]"));
  CHECK(contains(s, "total parameters: 67 (67 trainable)"));

  Net nested;
  CHECK(nested.num_parameters() == 1 + (2 * 3 + 3) + (3 * 2 + 2));
  nested(randn({4, 2}));
  const std::string t = nested.summary();
  INFO(t);
  CHECK(contains(t, "block"));
  CHECK(contains(t, "fc"));
  CHECK(contains(t, "[4, 2]"));
  CHECK(contains(t, "total parameters: 18"));
}

TEST_CASE("module: train and eval reach every submodule and Dropout is the identity in eval") {
  auto net = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Linear>(6, 64), std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::Linear>(64, 2)});
  auto outer = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{net});
  Tensor x = randn({4, 6});
  CHECK(net->is_training());
  outer->eval();
  CHECK_FALSE(outer->is_training());
  for (const nn::ModulePtr& m : *net) CHECK_FALSE(m->is_training());
  CHECK(values((*outer)(x)) == values((*outer)(x)));  // deterministic
  Tensor h = randn({3, 5});
  CHECK((*(*net)[1])(h).is_same(h));
  outer->train();
  for (const nn::ModulePtr& m : *net) CHECK(m->is_training());
  CHECK(values((*outer)(x)) != values((*outer)(x)));  // fresh dropout masks
}

TEST_CASE("module: to(Float64) converts parameters and buffers in place") {
  auto net = mlp(3, 4, 2);
  Tensor w = std::dynamic_pointer_cast<nn::Linear>((*net)[0])->weight;  // a handle taken before
  const std::vector<double> before = values(w);
  sum((*net)(randn({2, 3}))).backward();
  REQUIRE(w.grad().defined());
  net->to(DType::Float64);
  CHECK(w.dtype() == DType::Float64);
  CHECK(values(w) == before);  // float32 -> float64 is exact
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  CHECK_FALSE(w.grad().defined());  // a float32 .grad would not fit any more
  for (const Tensor& p : net->parameters()) CHECK(p.dtype() == DType::Float64);
  Tensor y = (*net)(randn({2, 3}, {DType::Float64}));
  CHECK(y.dtype() == DType::Float64);

  nn::CrossEntropyLoss ce({.weight = ones({3})});
  ce.to(DType::Float64);
  CHECK(ce.weight.dtype() == DType::Float64);
  CHECK(ce.named_buffers()[0].first == "weight");
  CHECK_THROWS_WITH_AS(net->to(DType::Int64), doctest::Contains("floating"), Error);
}

TEST_CASE("module: zero_grad drops every parameter's gradient") {
  Net net;
  sum(net(randn({3, 2}))).backward();
  for (const Tensor& p : net.parameters()) CHECK(p.grad().defined());
  net.zero_grad();
  for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("module: state_dict round trip") {
  Net a, b;
  Tensor x = randn({3, 2});
  CHECK(values(a(x)) != values(b(x)));
  nn::NamedTensors state = a.state_dict();
  CHECK(names_of(state) == names_of(a.named_parameters()));
  for (const auto& [n, t] : state) CHECK_FALSE(t.requires_grad());
  Tensor handle = b.block->fc->weight;
  b.load_state_dict(state);
  CHECK(values(a(x)) == values(b(x)));
  CHECK(handle.is_same(b.block->fc->weight));
  CHECK(values(handle) == values(a.block->fc->weight));  // the old handle sees the loaded values
  CHECK(handle.requires_grad());
  // The loaded values are copies: changing a afterwards leaves b alone.
  {
    NoGradGuard g;
    a.scale.copy_(full({1}, 7.0));
  }
  CHECK(values(b.scale) == std::vector<double>{1.0});
  // A float64 state loads into a float32 model as float32.
  nn::NamedTensors state64;
  for (const auto& [n, t] : a.state_dict()) state64.emplace_back(n, t.to(DType::Float64));
  b.load_state_dict(state64);
  CHECK(b.scale.dtype() == DType::Float32);
  CHECK(values(b.scale) == std::vector<double>{7.0});
}

TEST_CASE("module: strict load_state_dict refuses missing, extra and misshapen entries, changing nothing") {
  Net a, b;
  const auto before = snapshot(b);
  nn::NamedTensors good = a.state_dict();

  nn::NamedTensors missing(good.begin(), good.end() - 1);  // no block.fc.bias
  CHECK_THROWS_WITH_AS(b.load_state_dict(missing), doctest::Contains("block.fc.bias"), Error);
  CHECK(snapshot(b) == before);

  nn::NamedTensors extra = good;
  extra.emplace_back("block.fc.gamma", ones({2}));
  CHECK_THROWS_WITH_AS(b.load_state_dict(extra), doctest::Contains("block.fc.gamma"), Error);
  CHECK(snapshot(b) == before);

  nn::NamedTensors misshapen = good;
  misshapen[1].second = zeros({2, 3});  // seq.0.weight is (3, 2)
  CHECK_THROWS_WITH_AS(b.load_state_dict(misshapen), doctest::Contains("seq.0.weight"), Error);
  CHECK_THROWS_WITH_AS(b.load_state_dict(misshapen, /*strict=*/false), doctest::Contains("[2, 3]"), Error);
  CHECK(snapshot(b) == before);

  // Not strict: present entries load, missing ones keep their values, extra ones are ignored.
  b.load_state_dict(missing, /*strict=*/false);
  CHECK(values(b.seq->named_parameters()[0].second) == values(a.seq->named_parameters()[0].second));
  CHECK(values(b.block->fc->bias) == before[4]);
  b.load_state_dict(extra, /*strict=*/false);
  CHECK(values(b.block->fc->bias) == values(a.block->fc->bias));
}

TEST_CASE("module: save and load a safetensors checkpoint") {
  TempDir dir;
  const std::string path = (dir.path / "mlp.safetensors").string();
  auto a = mlp(4, 5, 2), b = mlp(4, 5, 2);
  Tensor x = randn({3, 4});
  a->save(path);
  CHECK(std::filesystem::exists(path));
  SafetensorsFile f = load_safetensors(path);
  CHECK(names_of(f.tensors) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(f.metadata.at("heed_module") == "Sequential");
  CHECK(values(f.at("2.bias")) == values(std::dynamic_pointer_cast<nn::Linear>((*a)[2])->bias));
  CHECK(values((*a)(x)) != values((*b)(x)));
  b->load(path);
  CHECK(values((*a)(x)) == values((*b)(x)));
  // A checkpoint of another architecture is refused, and the model is left as it was.
  auto wide = mlp(4, 6, 2);
  const auto before = snapshot(*wide);
  CHECK_THROWS_WITH_AS(wide->load(path), doctest::Contains("0.weight"), Error);
  CHECK(snapshot(*wide) == before);
  CHECK_THROWS_AS(b->load((dir.path / "absent.safetensors").string()), Error);
}
