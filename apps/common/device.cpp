#include "apps/common/device.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "cuda/emulator.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

#ifdef HEED_APPS_WITH_NCCL
#include "distributed/nccl.h"
#endif

namespace heed::apps {

bool cuda_is_emulated() {
  static const bool emulated = [] {
    const char* v = std::getenv("HEED_CUDA_EMULATOR");
    return v && !std::string(v).empty() && std::string(v) != "0";
  }();
  return emulated;
}

Device select_device(const std::string& name, const dist::ProcessGroup& job) {
  if (name == "cpu") return Device::cpu();
  std::smatch m;
  HEED_CHECK(std::regex_match(name, m, std::regex("cuda(:([0-9]{1,3}))?")),
             "--device: expected cpu, cuda or cuda:N, got '{}'", name);
  const Device device = Device::cuda(m[2].matched ? std::stoi(m[2].str()) : job.size() > 1 ? job.local_rank() : 0);
  const bool emulated = cuda_is_emulated();
  if (emulated) {  // as many emulated GPUs as processes on this machine, one each
    static const bool registered = (cuda::use_host_emulator(std::max(1, job.local_size())), true);
    (void)registered;
  }
  try {
    zeros({1}, {DType::Float32, device});  // fails here, clearly, when the device is not usable
  } catch (const Error& e) {
    HEED_FAIL("--device {}: {}", name, e.what());
  }
  if (emulated && job.rank() == 0)
    fmt::print(stderr, "{}: the host emulator (HEED_CUDA_EMULATOR is set): the GPU's code path on the CPU, slow\n",
               device);
  return device;
}

std::shared_ptr<dist::ProcessGroup> gradient_group(const std::shared_ptr<dist::ProcessGroup>& job, Device device) {
#ifdef HEED_APPS_WITH_NCCL
  if (device.is_cuda() && job->size() > 1 && !cuda_is_emulated()) return dist::make_nccl_group(job);
#else
  (void)device;
#endif
  return job;
}

}  // namespace heed::apps
