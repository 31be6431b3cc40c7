// Adam, AdamW and their AMSGrad variants (formulas in adam.h).
#include "optim/adam.h"

#include <cmath>

#include "autograd/node.h"
#include "optim/inplace.h"
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace heed::optim {
namespace {

template <typename Options>
std::map<std::string, double> to_map(const Options& o) {
  return {{"lr", o.lr},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"amsgrad", o.amsgrad ? 1.0 : 0.0}};
}

template <typename Options>
Options from_map(const ParamGroup& g) {
  return {g.option("lr"),  g.option("beta1"),        g.option("beta2"),
          g.option("eps"), g.option("weight_decay"), g.option("amsgrad") != 0};
}

}  // namespace

namespace detail {

void AdamFamily::check_options(const std::map<std::string, double>& o) const {
  const std::string& who = name();
  HEED_CHECK(o.at("lr") >= 0, "{}: invalid learning rate {} (must be >= 0)", who, o.at("lr"));
  HEED_CHECK(o.at("eps") >= 0, "{}: invalid eps {} (must be >= 0)", who, o.at("eps"));
  HEED_CHECK(o.at("beta1") >= 0 && o.at("beta1") < 1, "{}: invalid beta1 {} (must be in [0, 1))", who, o.at("beta1"));
  HEED_CHECK(o.at("beta2") >= 0 && o.at("beta2") < 1, "{}: invalid beta2 {} (must be in [0, 1))", who, o.at("beta2"));
  HEED_CHECK(o.at("weight_decay") >= 0, "{}: invalid weight_decay {} (must be >= 0)", who, o.at("weight_decay"));
}

void adam_update_composed(const fn::AdamUpdate& u, const Tensor& param, Tensor grad, const Tensor& exp_avg,
                          const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
  if (u.decoupled) {
    detail::mul_(param, 1 - u.lr * u.weight_decay);
  } else if (u.weight_decay != 0) {
    grad = detail::added(grad, param, u.weight_decay);
  }
  // Decay the first and second moment running averages.
  detail::mul_(exp_avg, u.beta1);
  detail::add_(exp_avg, grad, 1 - u.beta1);
  detail::mul_(exp_avg_sq, u.beta2);
  detail::addcmul_(exp_avg_sq, grad, grad, 1 - u.beta2);
  Tensor second_moment = exp_avg_sq;
  if (u.amsgrad) {
    second_moment = max_exp_avg_sq;
    detail::maximum_(second_moment, exp_avg_sq);
  }
  Tensor denom = detail::sqrt(second_moment);
  detail::div_(denom, u.bias_correction2_sqrt);
  detail::add_(denom, u.eps);
  detail::addcdiv_(param, exp_avg, denom, -u.step_size);
}

void AdamFamily::step() {
  NoGradGuard no_grad;
  for (const ParamGroup& group : param_groups()) {
    const AdamOptions o = from_map<AdamOptions>(group);
    for (const Tensor& param : group.params) {
      Tensor grad = grad_of(param);
      if (!grad.defined()) continue;
      ParamState& state = state_of(param);
      if (state.step == 0) {
        state.buffers["exp_avg"] = zeros_like(param);
        state.buffers["exp_avg_sq"] = zeros_like(param);
      }
      if (o.amsgrad && !state.buffers.count("max_exp_avg_sq")) state.buffers["max_exp_avg_sq"] = zeros_like(param);
      state.step += 1;
      const double step = static_cast<double>(state.step);
      const double bias_correction1 = 1 - std::pow(o.beta1, step);
      const double bias_correction2 = 1 - std::pow(o.beta2, step);
      const fn::AdamUpdate u{.decoupled = decoupled_weight_decay_,
                             .amsgrad = o.amsgrad,
                             .weight_decay = o.weight_decay,
                             .lr = o.lr,
                             .beta1 = o.beta1,
                             .beta2 = o.beta2,
                             .eps = o.eps,
                             .step_size = o.lr / bias_correction1,
                             .bias_correction2_sqrt = std::sqrt(bias_correction2)};
      const Tensor max_exp_avg_sq = o.amsgrad ? state.buffers.at("max_exp_avg_sq") : Tensor();
      // One pass where the backend has the fused kernel (same bits as the composed ops).
      Backend& be = backend_for(param.device());
      if (be.has_fused(FusedKernel::AdamStep) && grad.dtype() == param.dtype() && grad.device() == param.device() &&
          grad.shape() == param.shape())
        be.adam_step(u, param, grad, state.buffers.at("exp_avg"), state.buffers.at("exp_avg_sq"), max_exp_avg_sq);
      else
        adam_update_composed(u, param, grad, state.buffers.at("exp_avg"), state.buffers.at("exp_avg_sq"),
                             max_exp_avg_sq);
    }
  }
}

}  // namespace detail

Adam::Adam(std::vector<Tensor> params, AdamOptions options) : AdamFamily("Adam", false), defaults_(options) {
  add_group(std::move(params), to_map(options));
}
void Adam::add_param_group(std::vector<Tensor> params, AdamOptions options) {
  add_group(std::move(params), to_map(options));
}
AdamOptions Adam::options(size_t group) const {
  HEED_CHECK(group < param_groups().size(), "Adam: no parameter group {} (there are {})", group, param_groups().size());
  return from_map<AdamOptions>(param_groups()[group]);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options) : AdamFamily("AdamW", true), defaults_(options) {
  add_group(std::move(params), to_map(options));
}
void AdamW::add_param_group(std::vector<Tensor> params, AdamWOptions options) {
  add_group(std::move(params), to_map(options));
}
AdamWOptions AdamW::options(size_t group) const {
  HEED_CHECK(group < param_groups().size(), "AdamW: no parameter group {} (there are {})", group,
             param_groups().size());
  return from_map<AdamWOptions>(param_groups()[group]);
}

}  // namespace heed::optim
