#include "tensor/functors.h"

namespace heed {

const char* op_name(UnaryOp op) {
  switch (op) {
#define HEED_CASE(name, flag) case UnaryOp::name: return #name;
    HEED_UNARY_OPS(HEED_CASE)
#undef HEED_CASE
  }
  return "?";
}
const char* op_name(BinaryOp op) {
  switch (op) {
#define HEED_CASE(name, flag) case BinaryOp::name: return #name;
    HEED_BINARY_OPS(HEED_CASE)
#undef HEED_CASE
  }
  return "?";
}
bool works_on_integers(UnaryOp op) {
  switch (op) {
#define HEED_CASE(name, flag) case UnaryOp::name: return flag;
    HEED_UNARY_OPS(HEED_CASE)
#undef HEED_CASE
  }
  return false;
}
bool result_is_bool(BinaryOp op) {
  switch (op) {
#define HEED_CASE(name, flag) case BinaryOp::name: return flag;
    HEED_BINARY_OPS(HEED_CASE)
#undef HEED_CASE
  }
  return false;
}

}  // namespace heed
