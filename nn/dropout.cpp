// nn::Dropout (see dropout.h).
#include "nn/dropout.h"

namespace heed::nn {

Dropout::Dropout(double p_) : Module("Dropout"), p(p_) {
  HEED_CHECK(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got {}", p);
}

}  // namespace heed::nn
