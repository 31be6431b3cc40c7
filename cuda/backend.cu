// The CUDA launcher: the kernel bodies of cuda/kernels.h run one GPU thread per index, memory
// from a caching allocator over cudaMalloc per device, GEMMs of floats through cuBLAS, rfft
// through cuFFT. Registered as the cuda device's backend when heed_cuda is linked (the anchor
// below).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "cuda/device_backend.h"
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace heed::cuda {
namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) HEED_FAIL("cuda: {}: {}", what, cudaGetErrorString(err));
}
void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) HEED_FAIL("cuda: {}: cuBLAS status {}", what, static_cast<int>(status));
}
void check(cufftResult status, const char* what) {
  if (status != CUFFT_SUCCESS) HEED_FAIL("cuda: {}: cuFFT status {}", what, static_cast<int>(status));
}

template <class Body>
__global__ void run_body(Body body, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) body(i);
}

// A block body's view of its CUDA thread block.
template <class Shared>
struct CudaBlock {
  int64_t block;
  int thread;
  Shared& shared;
  __host__ __device__ void sync() const {
#ifdef __CUDA_ARCH__
    __syncthreads();
#endif
  }
};

template <class Body>
__global__ void run_block_body(Body body) {
  __shared__ typename Body::Shared shared;
  CudaBlock<typename Body::Shared> ctx{static_cast<int64_t>(blockIdx.x), static_cast<int>(threadIdx.x), shared};
  body(ctx);
}

// One thread per index, on the current device's default stream (kernels run in call order).
struct CudaExec {
  template <class Body>
  static void launch_blocks(int64_t blocks, const Body& body) {
    if (blocks <= 0) return;
    HEED_CHECK(blocks < (int64_t{1} << 31), "cuda: {} thread blocks is more than one launch takes", blocks);
    run_block_body<<<static_cast<unsigned>(blocks), Body::kThreads>>>(body);
    check(cudaGetLastError(), "kernel launch");
  }
  template <class Body>
  static void launch(int64_t n, const Body& body) {
    if (n <= 0) return;
    constexpr int kThreads = 256;
    const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t{1} << 20);
    run_body<<<static_cast<unsigned>(blocks), kThreads>>>(body, n);
    check(cudaGetLastError(), "kernel launch");
  }
};

void* device_malloc(size_t nbytes, int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, nbytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it, the caller retries or reports
    return nullptr;
  }
  check(err, "cudaMalloc");
  return p;
}
void device_free(void* p, int device) {
  // Errors are ignored: at exit the runtime may already be gone.
  if (cudaSetDevice(device) == cudaSuccess) cudaFree(p);
}

int as_int(int64_t v, const char* what) {
  HEED_CHECK(v <= INT_MAX, "matmul on cuda: {} = {} exceeds cuBLAS's 32-bit sizes", what, v);
  return static_cast<int>(v);
}

class CudaLauncher final : public kernels::KernelLauncher<CudaExec> {
 public:
  const char* name() const override { return "cuda"; }
  int device_count() const override { return cuda::device_count(); }
  std::string unavailable_reason() const override { return cuda::unavailable_reason(); }

  void* allocate(size_t nbytes, int device) override { return memory(device).allocate(nbytes); }
  void deallocate(void* p, size_t nbytes, int device) override { memory(device).deallocate(p, nbytes); }
  void empty_cache(int device) override {
    check(cudaDeviceSynchronize(), "synchronize before empty_cache");
    memory(device).empty_cache();
  }
  MemoryStats memory_stats(int device) const override { return memory(device).stats(); }
  void reset_peak_memory(int device) override { memory(device).reset_peak(); }
  void copy_from_host(void* dst, const void* src, size_t nbytes) override {
    if (nbytes) check(cudaMemcpy(dst, src, nbytes, cudaMemcpyHostToDevice), "copy to the device");
  }
  void copy_to_host(void* dst, const void* src, size_t nbytes) override {
    if (nbytes) check(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToHost), "copy to the host");
  }
  void set_device(int device) override { check(cudaSetDevice(device), "cudaSetDevice"); }

  // Batched real-to-complex cuFFT (R2C or D2Z): rows of n in, rows of n/2 + 1 complex out, the
  // layout of RfftArgs; plans are kept per device, size, batch and dtype.
  void rfft(const kernels::RfftArgs& a) override {
    if (a.rows == 0) return;
    const int n = as_int(a.n, "rfft length"), rows = as_int(a.rows, "rfft rows");
    const bool single = a.dtype == DType::Float32;
    const cufftHandle plan = fft_plan(n, rows, single);
    if (single)
      check(cufftExecR2C(plan, reinterpret_cast<cufftReal*>(a.x), reinterpret_cast<cufftComplex*>(a.out)),
            "cufftExecR2C");
    else
      check(cufftExecD2Z(plan, reinterpret_cast<cufftDoubleReal*>(a.x), reinterpret_cast<cufftDoubleComplex*>(a.out)),
            "cufftExecD2Z");
  }

  void gemm(const kernels::GemmArgs& a) override {
    if (a.dtype != DType::Float32 && a.dtype != DType::Float64) return reference_gemm(a);
    cublasHandle_t h = handle();
    const cublasOperation_t ta = a.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = a.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int m = as_int(a.m, "m"), n = as_int(a.n, "n"), k = as_int(a.k, "k"), batch = as_int(a.batch, "batch");
    const int lda = as_int(a.lda, "lda"), ldb = as_int(a.ldb, "ldb"), ldc = as_int(a.ldc, "ldc");
    if (a.dtype == DType::Float32) {
      check(cublasSetMathMode(h, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "math mode");
      const float one = 1, zero = 0;
      check(cublasSgemmStridedBatched(h, ta, tb, m, n, k, &one, reinterpret_cast<const float*>(a.a), lda, a.stride_a,
                                      reinterpret_cast<const float*>(a.b), ldb, a.stride_b, &zero,
                                      reinterpret_cast<float*>(a.c), ldc, a.stride_c, batch),
            "cublasSgemmStridedBatched");
    } else {
      const double one = 1, zero = 0;
      check(cublasDgemmStridedBatched(h, ta, tb, m, n, k, &one, reinterpret_cast<const double*>(a.a), lda,
                                      a.stride_a, reinterpret_cast<const double*>(a.b), ldb, a.stride_b, &zero,
                                      reinterpret_cast<double*>(a.c), ldc, a.stride_c, batch),
            "cublasDgemmStridedBatched");
    }
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<CachingAllocator>> memory_;  // per device, made on first use
  std::vector<cublasHandle_t> handles_;
  std::map<std::tuple<int, int, int, bool>, cufftHandle> fft_plans_;  // (device, n, rows, float32)

  CachingAllocator& memory(int device) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (memory_.size() <= static_cast<size_t>(device)) memory_.resize(device + 1);
    auto& m = memory_[device];
    if (!m)
      m = std::make_unique<CachingAllocator>(fmt::format("cuda:{}", device),
                                             CachingAllocator::System{device_malloc, device_free}, device, SIZE_MAX);
    return *m;
  }
  cufftHandle fft_plan(int n, int rows, bool single) {
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, added] = fft_plans_.try_emplace({device, n, rows, single}, cufftHandle{});
    if (added) {
      const cufftResult made = cufftPlan1d(&it->second, n, single ? CUFFT_R2C : CUFFT_D2Z, rows);
      if (made != CUFFT_SUCCESS) fft_plans_.erase(it);
      check(made, "cufftPlan1d");
    }
    return it->second;
  }
  // cuBLAS handle of the current device, created on first use.
  cublasHandle_t handle() {
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    std::lock_guard<std::mutex> lock(mutex_);
    if (handles_.size() <= static_cast<size_t>(device)) handles_.resize(device + 1, nullptr);
    if (!handles_[device]) check(cublasCreate(&handles_[device]), "cublasCreate");
    return handles_[device];
  }
};

std::atomic<bool> tf32{false};

}  // namespace

bool allow_tf32() { return tf32.load(); }
void set_allow_tf32(bool on) { tf32.store(on); }

}  // namespace heed::cuda

// Referenced by heed_cuda's link options (cuda/CMakeLists.txt), so that every program linking
// heed_cuda keeps this object and, with it, the registration below.
extern "C" {
int heed_cuda_backend_anchor = 0;
}

namespace {
const bool registered = [] {
  // The launcher touches no GPU until a tensor is put on one.
  heed::cuda::register_device_backend(*new heed::cuda::CudaLauncher);
  return true;
}();
}  // namespace
