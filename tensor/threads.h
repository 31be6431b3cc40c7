// Thread count for CPU work: one setting for both OpenMP loops and OpenBLAS.
#pragma once

namespace heed {
void set_num_threads(int n);
int get_num_threads();
}  // namespace heed
