// The fused Adam step (Backend::adam_step) against the composed one it replaces: the same bits.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "optim/inplace.h"
#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace heed;

TEST_CASE("adam step: the fused kernel gives the composed step's bits") {
  for (DType dt : {DType::Float32, DType::Float64})
    for (bool decoupled : {false, true})
      for (bool amsgrad : {false, true})
        for (double wd : {0.0, 0.1, 1.0}) {
          INFO(dtype_name(dt), " decoupled ", decoupled, " amsgrad ", amsgrad, " weight decay ", wd);
          manual_seed(3);
          Tensor p = randn({7, 5}, {dt}), m = randn({7, 5}, {dt}) * 0.1, v = rand({7, 5}, {dt}) * 0.01,
                 vmax = rand({7, 5}, {dt}) * 0.02;
          Tensor g = randn({5, 7}, {dt}).t();  // a transposed gradient: the kernel walks strides
          std::vector<Tensor> fused{raw::clone(p), raw::clone(m), raw::clone(v), raw::clone(vmax)};
          std::vector<Tensor> composed{raw::clone(p), raw::clone(m), raw::clone(v), raw::clone(vmax)};
          for (int step = 1; step <= 3; ++step) {
            const fn::AdamUpdate u{.decoupled = decoupled,
                                   .amsgrad = amsgrad,
                                   .weight_decay = wd,
                                   .lr = 1e-2,
                                   .beta1 = 0.9,
                                   .beta2 = 0.999,
                                   .eps = 1e-8,
                                   .step_size = 1e-2 / (1 - std::pow(0.9, step)),
                                   .bias_correction2_sqrt = std::sqrt(1 - std::pow(0.999, step))};
            backend_for(Device::cpu())
                .adam_step(u, fused[0], g, fused[1], fused[2], amsgrad ? fused[3] : Tensor());
            optim::detail::adam_update_composed(u, composed[0], g, composed[1], composed[2],
                                                amsgrad ? composed[3] : Tensor());
          }
          for (size_t i = 0; i < fused.size(); ++i) {
            CHECK(fused[i].to_vector<double>() == composed[i].to_vector<double>());
          }
          CHECK(fused[0].to_vector<double>() != p.to_vector<double>());  // the step did move the parameter
        }
}
