// Activation modules (see activation.h); most are defined inline there.
#include "nn/activation.h"

namespace heed::nn {

GELU::GELU(std::string approx) : Module("GELU"), approximate(std::move(approx)) {
  HEED_CHECK(approximate == "none" || approximate == "tanh",
             "GELU: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
}

}  // namespace heed::nn
