#include "distributed/nccl.h"

#include <cuda_runtime.h>
#include <fmt/format.h>
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "tensor/error.h"

namespace heed::dist {

namespace {

void check_cuda(cudaError_t err, const char* what) {
  HEED_CHECK(err == cudaSuccess, "nccl: {} failed: {}", what, cudaGetErrorString(err));
}
void check_nccl(ncclResult_t r, const char* what) {
  HEED_CHECK(r == ncclSuccess, "nccl: {} failed: {}", what, ncclGetErrorString(r));
}

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int64: return ncclInt64;
    case DType::UInt8: return ncclUint8;
  }
  HEED_FAIL("nccl: unsupported dtype {}", t);
}

}  // namespace

std::string nccl_unavailable_reason() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return fmt::format("no usable CUDA device: {}", cudaGetErrorString(err));
  }
  return n == 0 ? "no CUDA device found" : "";
}

struct NcclCommunicator::Impl {
  std::shared_ptr<ProcessGroup> group;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;

  // Waits for the stream, at most the group's timeout; past it NCCL is aborted and the job ends.
  void wait(const char* what) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    while (true) {
      cudaError_t err = cudaStreamQuery(stream);
      if (err == cudaSuccess) return;
      if (err != cudaErrorNotReady) check_cuda(err, what);
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm, &async);
      if (async != ncclSuccess && async != ncclInProgress) {
        ncclCommAbort(comm);
        comm = nullptr;
        group->abort(fmt::format("heed: rank {}: nccl {} failed: {}", group->rank(), what, ncclGetErrorString(async)));
      }
      if (clock::now() - start > group->timeout()) {
        ncclCommAbort(comm);
        comm = nullptr;
        group->abort(fmt::format("heed: rank {}: nccl {} timed out after {:.0f} s waiting for the other ranks",
                                 group->rank(), what, group->timeout().count()));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
};

NcclCommunicator::NcclCommunicator(std::shared_ptr<ProcessGroup> group) : impl_(std::make_unique<Impl>()) {
  HEED_CHECK(group != nullptr, "nccl: the process group is null");
  const std::string reason = nccl_unavailable_reason();
  HEED_CHECK(reason.empty(), "nccl: {}", reason);
  Impl& s = *impl_;
  s.group = std::move(group);
  int devices = 0;
  check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
  HEED_CHECK(s.group->local_size() <= devices,
             "nccl: {} ranks on this machine but {} GPU(s); NCCL needs one GPU per rank", s.group->local_size(), devices);
  s.device = s.group->local_rank();
  check_cuda(cudaSetDevice(s.device), "cudaSetDevice");
  ncclUniqueId id;
  std::string bytes;
  if (s.group->rank() == 0) {
    check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bytes.assign(reinterpret_cast<const char*>(&id), sizeof id);
  }
  s.group->broadcast_bytes(bytes, 0);  // MPI's only part: the id
  HEED_CHECK(bytes.size() == sizeof id, "nccl: the unique id arrived with {} bytes, not {}", bytes.size(), sizeof id);
  std::memcpy(&id, bytes.data(), sizeof id);
  check_nccl(ncclCommInitRank(&s.comm, s.group->size(), id, s.group->rank()), "ncclCommInitRank");
  check_cuda(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreate");
}

NcclCommunicator::~NcclCommunicator() {
  if (impl_->stream) cudaStreamSynchronize(impl_->stream), cudaStreamDestroy(impl_->stream);
  if (impl_->comm) ncclCommDestroy(impl_->comm);
}

int NcclCommunicator::device() const { return impl_->device; }

void NcclCommunicator::all_reduce(void* buffer, int64_t count, DType dtype, ReduceOp op) {
  HEED_CHECK(count >= 0, "nccl all_reduce: negative count {}", count);
  HEED_CHECK(op == ReduceOp::Sum || is_floating(dtype), "nccl all_reduce: the mean of a {} buffer; use Sum", dtype);
  check_nccl(ncclAllReduce(buffer, buffer, size_t(count), nccl_type(dtype), op == ReduceOp::Sum ? ncclSum : ncclAvg,
                           impl_->comm, impl_->stream),
             "ncclAllReduce");
  impl_->wait("all_reduce");
}

void NcclCommunicator::broadcast(void* buffer, int64_t count, DType dtype, int root) {
  HEED_CHECK(root >= 0 && root < impl_->group->size(), "nccl broadcast: root {} is not a rank of this {}-process group",
             root, impl_->group->size());
  check_nccl(ncclBroadcast(buffer, buffer, size_t(count), nccl_type(dtype), root, impl_->comm, impl_->stream),
             "ncclBroadcast");
  impl_->wait("broadcast");
}

void NcclCommunicator::all_reduce_host(Tensor& t, ReduceOp op) {
  HEED_CHECK(t.defined() && t.device().is_cpu() && t.is_contiguous(),
             "nccl all_reduce_host: needs a defined, contiguous CPU tensor");
  const size_t bytes = size_t(t.numel()) * dtype_size(t.dtype());
  void* device_buffer = nullptr;
  check_cuda(cudaMalloc(&device_buffer, bytes == 0 ? 1 : bytes), "cudaMalloc");
  try {
    check_cuda(cudaMemcpy(device_buffer, t.raw_data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the GPU");
    all_reduce(device_buffer, t.numel(), t.dtype(), op);
    check_cuda(cudaMemcpy(t.raw_data(), device_buffer, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy from the GPU");
  } catch (...) {
    cudaFree(device_buffer);
    throw;
  }
  cudaFree(device_buffer);
}

}  // namespace heed::dist
