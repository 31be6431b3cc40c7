// Op registry rows for the conv ops (see registry.h); empty until those ops land.
#include "autograd/registry.h"

namespace heed {
std::vector<OpInfo> conv_op_rows() { return {}; }
}  // namespace heed
