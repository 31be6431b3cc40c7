// The device an app computes on (its --device option) and the group its gradients are averaged
// over. HEED_CUDA_EMULATOR=1 in the environment makes the cuda device the host emulator
// (cuda/emulator.h): the GPU's code path, run slowly on the CPU, to check an app without a GPU.
#pragma once
#include <memory>
#include <string>

#include "distributed/process_group.h"
#include "tensor/device.h"

namespace heed::apps {

// The help text of --device.
inline constexpr const char* kDeviceHelp = "cpu, cuda or cuda:N (under mpirun, cuda: each process's own GPU)";

// "cpu", "cuda" or "cuda:N", checked usable (a clear error when not: no GPU, heed built without
// CUDA). In a job of several processes "cuda" is the GPU of the process's rank on its machine.
Device select_device(const std::string& name, const dist::ProcessGroup& job);

// Whether the cuda device is the host emulator (HEED_CUDA_EMULATOR=1).
bool cuda_is_emulated();

// The group DistributedDataParallel averages gradients over: NCCL between the GPUs when the
// model is on a real GPU, the job has several processes and heed was built with NCCL; else the
// job itself (MPI, tensors off the CPU through host copies).
std::shared_ptr<dist::ProcessGroup> gradient_group(const std::shared_ptr<dist::ProcessGroup>& job, Device device);

}  // namespace heed::apps
