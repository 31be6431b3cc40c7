#include "distributed/nccl.h"

#include <cuda_runtime.h>
#include <fmt/format.h>
#include <nccl.h>

#include <chrono>
#include <cstdlib>
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
  cudaEvent_t queued = nullptr;  // recorded on the default stream before each collective
  int device = 0;

  // NCCL's stream does not wait for the default stream by itself (it is non-blocking, so that
  // an all-reduce overlaps the kernels queued after it): wait for the work queued before.
  void after_queued_work() {
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    check_cuda(cudaEventRecord(queued, cudaStreamLegacy), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(stream, queued, 0), "cudaStreamWaitEvent");
  }

  // Polls `query` (cudaSuccess once done) for at most the group's timeout; past it, or on an
  // asynchronous NCCL error, NCCL is aborted and the job ends.
  template <typename Query>
  void wait(Query query, const char* what) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    while (true) {
      cudaError_t err = query();
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
  void wait_stream(const char* what) {
    wait([&] { return cudaStreamQuery(stream); }, what);
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
  check_cuda(cudaEventCreateWithFlags(&s.queued, cudaEventDisableTiming), "cudaEventCreate");
}

NcclCommunicator::~NcclCommunicator() {
  if (impl_->stream) cudaStreamSynchronize(impl_->stream), cudaStreamDestroy(impl_->stream);
  if (impl_->queued) cudaEventDestroy(impl_->queued);
  if (impl_->comm) ncclCommDestroy(impl_->comm);
}

int NcclCommunicator::device() const { return impl_->device; }

void NcclCommunicator::all_reduce(void* buffer, int64_t count, DType dtype, ReduceOp op) {
  HEED_CHECK(count >= 0, "nccl all_reduce: negative count {}", count);
  HEED_CHECK(op == ReduceOp::Sum || is_floating(dtype), "nccl all_reduce: the mean of a {} buffer; use Sum", dtype);
  impl_->after_queued_work();
  check_nccl(ncclAllReduce(buffer, buffer, size_t(count), nccl_type(dtype), op == ReduceOp::Sum ? ncclSum : ncclAvg,
                           impl_->comm, impl_->stream),
             "ncclAllReduce");
  impl_->wait_stream("all_reduce");
}

void NcclCommunicator::broadcast(void* buffer, int64_t count, DType dtype, int root) {
  HEED_CHECK(root >= 0 && root < impl_->group->size(), "nccl broadcast: root {} is not a rank of this {}-process group",
             root, impl_->group->size());
  impl_->after_queued_work();
  check_nccl(ncclBroadcast(buffer, buffer, size_t(count), nccl_type(dtype), root, impl_->comm, impl_->stream),
             "ncclBroadcast");
  impl_->wait_stream("broadcast");
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

std::unique_ptr<Work> NcclCommunicator::all_reduce_async(void* buffer, int64_t count, DType dtype) {
  HEED_CHECK(count >= 0, "nccl all_reduce: negative count {}", count);
  // Done when its event, recorded on NCCL's stream after the all-reduce, has passed.
  class NcclWork : public Work {
   public:
    explicit NcclWork(Impl& impl) : impl_(impl) {
      check_cuda(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate");
    }
    ~NcclWork() override {
      if (impl_.comm) wait();  // never leave NCCL writing into memory about to be freed
      cudaEventDestroy(done_);
    }
    bool poll() override { return cudaEventQuery(done_) == cudaSuccess; }
    void wait() override {
      impl_.wait([&] { return cudaEventQuery(done_); }, "all_reduce");
    }
    Impl& impl_;
    cudaEvent_t done_ = nullptr;
  };
  auto work = std::make_unique<NcclWork>(*impl_);
  impl_->after_queued_work();
  check_nccl(ncclAllReduce(buffer, buffer, size_t(count), nccl_type(dtype), ncclSum, impl_->comm, impl_->stream),
             "ncclAllReduce");
  check_cuda(cudaEventRecord(work->done_, impl_->stream), "cudaEventRecord");
  return work;
}

void NcclCommunicator::all_gather(const void* in, void* out, int64_t count, DType dtype) {
  HEED_CHECK(count >= 0, "nccl all_gather: negative count {}", count);
  impl_->after_queued_work();
  check_nccl(ncclAllGather(in, out, size_t(count), nccl_type(dtype), impl_->comm, impl_->stream), "ncclAllGather");
  impl_->wait_stream("all_gather");
}

namespace {

// Keeps the tensor an asynchronous all-reduce writes into alive until it is done.
class TensorWork : public Work {
 public:
  TensorWork(std::unique_ptr<Work> inner, Tensor t) : inner_(std::move(inner)), keep_(std::move(t)) {}
  bool poll() override { return inner_->poll(); }
  void wait() override { inner_->wait(); }

 private:
  std::unique_ptr<Work> inner_;
  Tensor keep_;
};

class NcclGroup : public ProcessGroup {
 public:
  explicit NcclGroup(std::shared_ptr<ProcessGroup> base) : base_(std::move(base)), nccl_(base_) {
    timeout_ = base_->timeout();
  }
  int rank() const override { return base_->rank(); }
  int size() const override { return base_->size(); }
  std::string backend() const override { return "nccl"; }
  int local_size() const override { return base_->local_size(); }
  int local_rank() const override { return base_->local_rank(); }
  void barrier() override { base_->barrier(); }

  void broadcast(Tensor& t, int root) override {
    if (!on_gpu("broadcast", t)) return base_->broadcast(t, root);
    nccl_.broadcast(t.raw_data(), t.numel(), t.dtype(), root);
  }
  void all_reduce(Tensor& t, ReduceOp op) override {
    if (!on_gpu("all_reduce", t)) return base_->all_reduce(t, op);
    nccl_.all_reduce(t.raw_data(), t.numel(), t.dtype(), op);
  }
  std::unique_ptr<Work> all_reduce_async(Tensor& t) override {
    if (!on_gpu("all_reduce", t)) return base_->all_reduce_async(t);
    return std::make_unique<TensorWork>(nccl_.all_reduce_async(t.raw_data(), t.numel(), t.dtype()), t);
  }
  Tensor all_gather(const Tensor& t) override {
    if (!on_gpu("all_gather", t)) return base_->all_gather(t);
    Shape shape = t.shape();
    shape.insert(shape.begin(), size());
    Tensor out = empty(shape, {t.dtype(), t.device()});
    nccl_.all_gather(t.raw_data(), out.raw_data(), t.numel(), t.dtype());
    return out;
  }
  void broadcast_bytes(std::string& bytes, int root) override { base_->broadcast_bytes(bytes, root); }
  [[noreturn]] void abort(const std::string& message, int code) override {
    base_->abort(message, code);
    std::_Exit(code);  // not reached: base_->abort ends the process
  }

 private:
  // Whether `t` goes through NCCL: a contiguous tensor on this rank's GPU.
  bool on_gpu(const char* op, const Tensor& t) const {
    if (!t.defined() || !t.device().is_cuda()) return false;
    HEED_CHECK(t.is_contiguous(), "{}: the tensor (shape {}) is not contiguous; call .contiguous() first", op,
               t.shape());
    HEED_CHECK(t.device().index == nccl_.device(),
               "{}: the tensor is on {}, but this rank's GPU is cuda:{} (one GPU per rank: put the model on "
               "Device::cuda(group->local_rank()))",
               op, t.device(), nccl_.device());
    return true;
  }
  std::shared_ptr<ProcessGroup> base_;
  NcclCommunicator nccl_;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_nccl_group(std::shared_ptr<ProcessGroup> base) {
  HEED_CHECK(base != nullptr, "make_nccl_group: the base process group is null");
  return std::make_shared<NcclGroup>(std::move(base));
}

}  // namespace heed::dist
