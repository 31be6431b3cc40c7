// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_, from
// tests/fixtures/optim_clip.safetensors (scripts/make_optim_fixtures.py): two gradients (3,4) and
// (5,) plus a parameter without one; per case the returned total norm and the clipped gradients.
#include <doctest/doctest.h>

#include <functional>
#include <map>

#include "optim/optim.h"
#include "tests/optim/optim_test_helpers.h"

namespace {

using namespace heed;
using optim_test::fixture;
using optim_test::identical;

const SafetensorsFile& clip_file() { return fixture("optim_clip.safetensors"); }

// Returns the total norm; NaN for value clipping (no norm).
using Clip = std::function<double(const std::vector<Tensor>&)>;

const std::map<std::string, Clip>& clip_table() {
  static const std::map<std::string, Clip> table = {
      {"norm2_clipped", [](const std::vector<Tensor>& ps) { return optim::clip_grad_norm_(ps, 1.0); }},
      {"norm2_unclipped", [](const std::vector<Tensor>& ps) { return optim::clip_grad_norm_(ps, 100.0); }},
      {"norm_inf", [](const std::vector<Tensor>& ps) { return optim::clip_grad_norm_(ps, 0.5, optim::kInfNorm); }},
      {"norm1", [](const std::vector<Tensor>& ps) { return optim::clip_grad_norm_(ps, 2.0, 1.0); }},
      {"norm3", [](const std::vector<Tensor>& ps) { return optim::clip_grad_norm_(ps, 1.5, 3.0); }},
      {"value",
       [](const std::vector<Tensor>& ps) {
         optim::clip_grad_value_(ps, 0.7);
         return std::nan("");
       }},
  };
  return table;
}

struct Params {
  Tensor p0, p1, unused;
};

Params params_with_grads() {
  const SafetensorsFile& f = clip_file();
  Params p{zeros({3, 4}, {DType::Float64}).requires_grad_(), zeros({5}, {DType::Float64}).requires_grad_(),
           zeros({2}, {DType::Float64}).requires_grad_()};
  p.p0.set_grad(f.at("clip.grad0").clone());
  p.p1.set_grad(f.at("clip.grad1").clone());
  return p;
}

}  // namespace

TEST_CASE("clip: norms and clipped gradients match torch.nn.utils") {
  const SafetensorsFile& f = clip_file();
  for (const std::string& name : optim_test::fixture_cases(f, "clip")) {
    auto it = clip_table().find(name);
    if (it == clip_table().end()) continue;  // reported below
    SUBCASE(name.c_str()) {
      Params p = params_with_grads();
      Tensor grad0 = p.p0.grad();  // clipping happens in place: this handle sees it
      double total = it->second({p.p0, p.p1, p.unused});
      if (f.contains(name + ".total")) CHECK(total == doctest::Approx(f.at(name + ".total").item()).epsilon(1e-14));
      CHECK_CLOSE(p.p0.grad(), f.at(name + ".grad0"), 1e-15, 1e-13);
      CHECK_CLOSE(p.p1.grad(), f.at(name + ".grad1"), 1e-15, 1e-13);
      CHECK(p.p0.grad().is_same(grad0));
      CHECK_FALSE(p.unused.grad().defined());
    }
  }
}

TEST_CASE("clip: every fixture case is in the table, and back") {
  std::vector<std::string> names = optim_test::fixture_cases(clip_file(), "clip");
  CHECK(names.size() == clip_table().size());
  for (const std::string& c : names)
    CHECK_MESSAGE(clip_table().count(c) == 1, "fixture case '", c, "' has no heed call");
  for (const auto& [c, fn] : clip_table())
    CHECK_MESSAGE(clip_file().contains(c + ".grad0"), "'", c, "' is not in the fixture");
  // The unclipped case really leaves the gradients alone, and the clipped one really clips.
  CHECK(identical(clip_file().at("norm2_unclipped.grad0"), clip_file().at("clip.grad0")));
  CHECK_FALSE(identical(clip_file().at("norm2_clipped.grad0"), clip_file().at("clip.grad0")));
}

TEST_CASE("clip: no gradients gives a zero norm and a float32 norm and errors name the function and value") {
  Tensor a = zeros({3}).requires_grad_();
  CHECK(optim::clip_grad_norm_({a}, 1.0) == 0.0);

  a.set_grad(tensor({3.0, -4.0, 0.0}));
  CHECK(optim::clip_grad_norm_({a}, 1.0) == doctest::Approx(5.0));
  CHECK_CLOSE(a.grad(), tensor({0.6, -0.8, 0.0}), 1e-6, 1e-5);
  CHECK(a.grad().dtype() == DType::Float32);

  CHECK_HEED_ERROR(optim::clip_grad_norm_({a}, -1.0), "clip_grad_norm_", "max_norm", "-1");
  CHECK_HEED_ERROR(optim::clip_grad_norm_({a}, 1.0, 0.0), "clip_grad_norm_", "norm_type", "0");
  CHECK_HEED_ERROR(optim::clip_grad_value_({a}, -0.5), "clip_grad_value_", "-0.5");

  a.set_grad(tensor({1.0, INFINITY, 0.0}));
  CHECK_HEED_ERROR(optim::clip_grad_norm_({a}, 1.0, 2.0, /*error_if_nonfinite=*/true), "clip_grad_norm_", "inf");
  CHECK(a.grad().to_vector<double>()[1] == INFINITY);  // the refused call changed nothing
}
