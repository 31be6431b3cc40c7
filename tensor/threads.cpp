#include "tensor/threads.h"

#include <cblas.h>
#include <omp.h>

#include "tensor/error.h"

namespace heed {
void set_num_threads(int n) {
  HEED_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got {}", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(1);  // GEMMs are split across heed's OpenMP threads instead
}
int get_num_threads() { return omp_get_max_threads(); }
}  // namespace heed
