// Op registry rows for the sequence ops (see registry.h); empty until those ops land.
#include "autograd/registry.h"

namespace heed {
std::vector<OpInfo> sequence_op_rows() { return {}; }
}  // namespace heed
