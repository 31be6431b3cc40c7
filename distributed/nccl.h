// NCCL between the GPUs of a job: one GPU per rank (the rank's index on its machine picks the
// device), MPI only to hand NCCL's unique id from rank 0 to the others. Built as heed_nccl when
// CUDA, MPI and NCCL are all found (NCCL ships in /usr/local/cuda).
//
// make_nccl_group is what a training program uses: a process group whose collectives on CUDA
// tensors go GPU to GPU, for DistributedDataParallel over a model on the GPU:
//
//   auto world = dist::init();                                   // MPI, under mpirun
//   model.to(Device::cuda(world->local_rank()));                 // one GPU per rank
//   auto group = dist::make_nccl_group(world);
//   dist::DistributedDataParallel ddp(model, group);
//
// NcclCommunicator is the layer below, on raw device buffers; all_reduce_host stages a CPU
// tensor through the GPU (scripts/gpu-check uses it to check that a machine's GPUs talk).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "distributed/process_group.h"

namespace heed::dist {

// Whether this build has NCCL and this machine a usable GPU ("" when so, else why not).
std::string nccl_unavailable_reason();

class NcclCommunicator {
 public:
  // Collective over `group`: every rank must construct it. Throws without a GPU.
  explicit NcclCommunicator(std::shared_ptr<ProcessGroup> group);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int device() const;
  // In place on device memory; waits for completion, at most the group's timeout.
  void all_reduce(void* device_buffer, int64_t count, DType dtype, ReduceOp op);
  void broadcast(void* device_buffer, int64_t count, DType dtype, int root);
  // A contiguous CPU tensor: copied to the GPU, all-reduced there, copied back.
  void all_reduce_host(Tensor& t, ReduceOp op);
  // Started without waiting, after the work already queued on the tensor's GPU; the Work
  // waits at most the group's timeout.
  std::unique_ptr<Work> all_reduce_async(void* device_buffer, int64_t count, DType dtype);
  void all_gather(const void* device_in, void* device_out, int64_t count, DType dtype);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A group whose collectives on CUDA tensors run through NCCL on this rank's GPU (the tensors
// must be on Device::cuda(base->local_rank())); everything else (CPU tensors, barrier, bytes)
// goes through `base`. Collective: every rank of `base` must call it. Throws without a GPU.
std::shared_ptr<ProcessGroup> make_nccl_group(std::shared_ptr<ProcessGroup> base);

}  // namespace heed::dist
