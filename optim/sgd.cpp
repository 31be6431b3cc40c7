// SGD with momentum, dampening, Nesterov and weight decay (formulas in sgd.h).
#include "optim/sgd.h"

#include "autograd/node.h"
#include "optim/inplace.h"
#include "tensor/ops.h"

namespace heed::optim {
namespace {

std::map<std::string, double> to_map(const SGDOptions& o) {
  return {{"lr", o.lr},
          {"momentum", o.momentum},
          {"dampening", o.dampening},
          {"weight_decay", o.weight_decay},
          {"nesterov", o.nesterov ? 1.0 : 0.0}};
}

SGDOptions from_map(const ParamGroup& g) {
  return {g.option("lr"), g.option("momentum"), g.option("dampening"), g.option("weight_decay"),
          g.option("nesterov") != 0};
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : Optimizer("SGD"), defaults_(options) {
  add_group(std::move(params), to_map(options));
}

void SGD::add_param_group(std::vector<Tensor> params, SGDOptions options) {
  add_group(std::move(params), to_map(options));
}

SGDOptions SGD::options(size_t group) const {
  HEED_CHECK(group < param_groups().size(), "SGD: no parameter group {} (there are {})", group, param_groups().size());
  return from_map(param_groups()[group]);
}

void SGD::check_options(const std::map<std::string, double>& o) const {
  const double lr = o.at("lr"), momentum = o.at("momentum"), dampening = o.at("dampening");
  HEED_CHECK(lr >= 0, "SGD: invalid learning rate {} (must be >= 0)", lr);
  HEED_CHECK(momentum >= 0, "SGD: invalid momentum {} (must be >= 0)", momentum);
  HEED_CHECK(o.at("weight_decay") >= 0, "SGD: invalid weight_decay {} (must be >= 0)", o.at("weight_decay"));
  HEED_CHECK(o.at("nesterov") == 0 || (momentum > 0 && dampening == 0),
             "SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum {} and dampening {}", momentum,
             dampening);
}

void SGD::step() {
  NoGradGuard no_grad;
  for (const ParamGroup& group : param_groups()) {
    const SGDOptions o = from_map(group);
    for (const Tensor& param : group.params) {
      Tensor d_p = grad_of(param);
      if (!d_p.defined()) continue;
      ParamState& state = state_of(param);
      state.step += 1;
      if (o.weight_decay != 0) d_p = detail::added(d_p, param, o.weight_decay);
      if (o.momentum != 0) {
        auto it = state.buffers.find("momentum_buffer");
        if (it == state.buffers.end()) {
          it = state.buffers.emplace("momentum_buffer", raw::clone(d_p)).first;
        } else {
          detail::mul_(it->second, o.momentum);
          detail::add_(it->second, d_p, 1 - o.dampening);
        }
        const Tensor& buf = it->second;
        d_p = o.nesterov ? detail::added(d_p, buf, o.momentum) : buf;
      }
      detail::add_(param, d_p, -o.lr);
    }
  }
}

}  // namespace heed::optim
