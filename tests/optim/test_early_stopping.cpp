// EarlyStopping: best value and step, patience, min_delta, both modes, NaN, keeping a copy of
// the best state (restore-best), the improvement callback, and its state dict.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autograd/node.h"
#include "optim/optim.h"
#include "tests/optim/optim_test_helpers.h"

namespace {

using namespace heed;
using optim_test::identical;

// Feeds metrics until should_stop(); returns how many were consumed.
int run(optim::EarlyStopping& stopper, const std::vector<double>& metrics) {
  int used = 0;
  for (double m : metrics) {
    if (stopper.should_stop()) break;
    stopper.step(m);
    ++used;
  }
  return used;
}

}  // namespace

TEST_CASE("early stopping: mode min, patience counts steps without improvement") {
  optim::EarlyStopping stopper({.mode = optim::Mode::Min, .patience = 3});
  CHECK_FALSE(stopper.has_best());
  CHECK(stopper.best() == INFINITY);
  //                                      0    1    2    3    4    5    6    7    8
  int used = run(stopper, std::vector<double>{1.0, 0.8, 0.9, 0.7, 0.7, 0.75, 0.71, 0.1, 0.0});
  CHECK(used == 7);  // 0.7 at step 3, then three steps that are not lower (4, 5, 6)
  CHECK(stopper.should_stop());
  CHECK(stopper.has_best());
  CHECK(stopper.best() == 0.7);
  CHECK(stopper.best_step() == 3);
  CHECK(stopper.num_steps() == 7);
  CHECK(stopper.num_bad_steps() == 3);
}

TEST_CASE("early stopping: mode max with min_delta and NaN never improves") {
  optim::EarlyStopping stopper({.mode = optim::Mode::Max, .patience = 2, .min_delta = 0.05});
  CHECK(stopper.step(0.5));
  CHECK_FALSE(stopper.step(0.54));  // not more than min_delta better
  CHECK(stopper.step(0.56));
  CHECK(stopper.best() == 0.56);
  CHECK_FALSE(stopper.step(std::nan("")));
  CHECK_FALSE(stopper.should_stop());
  CHECK_FALSE(stopper.step(0.6));
  CHECK(stopper.should_stop());
  CHECK(stopper.best_step() == 2);

  optim::EarlyStopping no_patience({.patience = 0});
  CHECK(no_patience.should_stop());  // patience 0: stop at once
}

TEST_CASE("early stopping: keeps a deep copy of the best state and calls back on each improvement") {
  nn::NamedTensors state = {{"w", tensor({1.0, 2.0})}, {"b", tensor({0.5})}};
  optim::EarlyStopping stopper({.patience = 2});
  std::vector<std::pair<int64_t, double>> calls;
  stopper.on_improvement([&](int64_t step, double metric) { calls.emplace_back(step, metric); });

  CHECK(stopper.step(3.0, state));
  {
    NoGradGuard no_grad;
    state[0].second.copy_(tensor({9.0, 9.0}));  // training moves on
  }
  CHECK(stopper.step(2.0, state));  // a new best: copied again
  Tensor best_w = tensor({9.0, 9.0});
  {
    NoGradGuard no_grad;
    state[0].second.copy_(tensor({-1.0, -1.0}));
  }
  CHECK_FALSE(stopper.step(2.5, state));  // not better: not copied
  REQUIRE(stopper.best_state().size() == 2);
  CHECK(stopper.best_state()[0].first == "w");
  CHECK(identical(stopper.best_state()[0].second, best_w));
  CHECK_FALSE(stopper.best_state()[0].second.is_same(state[0].second));
  CHECK(calls == std::vector<std::pair<int64_t, double>>{{0, 3.0}, {1, 2.0}});
}

TEST_CASE("early stopping: state dict round trip, including the best state") {
  optim::EarlyStopping stopper({.mode = optim::Mode::Max, .patience = 4, .min_delta = 0.01});
  stopper.step(0.3, {{"w", tensor({1.0})}});
  stopper.step(0.5, {{"w", tensor({2.0})}});
  stopper.step(0.4, {{"w", tensor({3.0})}});
  optim::StateDict s = stopper.state_dict();

  optim::EarlyStopping restored;
  restored.load_state_dict(s);
  CHECK(restored.best() == 0.5);
  CHECK(restored.best_step() == 1);
  CHECK(restored.num_steps() == 3);
  CHECK(restored.num_bad_steps() == 1);
  REQUIRE(restored.best_state().size() == 1);
  CHECK(identical(restored.best_state()[0].second, tensor({2.0})));
  // Both continue alike: mode, patience and min_delta came with the state.
  for (double m : {0.505, 0.45, 0.3}) CHECK(restored.step(m) == stopper.step(m));
  CHECK(restored.should_stop() == stopper.should_stop());
  CHECK(restored.should_stop());

  optim::StateDict broken = s;
  broken.set_int("best_step", 7);
  CHECK_HEED_ERROR(restored.load_state_dict(broken), "EarlyStopping.load_state_dict", "best_step 7");
  CHECK_HEED_ERROR(optim::EarlyStopping({.patience = -2}), "EarlyStopping", "patience", "-2");
  CHECK_HEED_ERROR(optim::EarlyStopping({.min_delta = -0.1}), "EarlyStopping", "min_delta", "-0.1");
}
