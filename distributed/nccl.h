// NCCL between the GPUs of a job: one GPU per rank (the rank's index on its machine picks the
// device), MPI only to hand NCCL's unique id from rank 0 to the others. Built as heed_nccl when
// CUDA, MPI and NCCL are all found (NCCL ships in /usr/local/cuda).
//
// heed's tensors do not live on the GPU yet (the CUDA backend issue), so this works on device
// buffers; all_reduce_host stages a CPU tensor through the GPU, for tests and for checking a
// cluster's GPUs talk to each other (scripts/gpu-check).
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace heed::dist
