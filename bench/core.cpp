// Core speed checks, printed as JSON lines (median ms of 10 runs after 3 warm-ups):
//   gemm      heed matmul of two 1024×1024 float32 matrices, beside raw cblas_sgemm
//   overhead  1000 chained additions of a scalar to a 16-element tensor that requires grad,
//             then backward of the sum (../shared/WORKLOADS.md)
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "tensor/random.h"
#include "tensor/threads.h"

using namespace heed;

namespace {
double median_ms(const std::function<void()>& fn, int warmup = 3, int runs = 10) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 2);
  manual_seed(0);
  const int n = 1024;
  Tensor a = randn({n, n}), b = randn({n, n});
  std::vector<float> c(static_cast<size_t>(n) * n);
  const double flop = 2.0 * n * n * n;
  double raw = median_ms([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data_ptr<float>(), n, b.data_ptr<float>(), n,
                0.f, c.data(), n);
  });
  double heed_ms = median_ms([&] { (void)matmul(a, b); });
  std::printf("{\"workload\": \"gemm\", \"heed_ms\": %.3f, \"openblas_ms\": %.3f, \"heed_gflops\": %.1f, "
              "\"openblas_gflops\": %.1f, \"fraction_of_openblas\": %.3f}\n",
              heed_ms, raw, flop / heed_ms / 1e6, flop / raw / 1e6, raw / heed_ms);
  double overhead = median_ms([] {
    Tensor x = zeros({16}).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 1000; ++i) y = y + 1.0;
    sum(y).backward();
  });
  std::printf("{\"workload\": \"overhead\", \"heed_ms\": %.3f, \"us_per_op\": %.3f}\n", overhead, overhead);
  return 0;
}
