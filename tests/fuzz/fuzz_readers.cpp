// libFuzzer target for the file readers (.safetensors, .npy, IDX plain or gzipped, and EDF/BDF
// recordings through heed::eeg::read_recording, whose checks guard EDFlib). Any input
// must end in a tensor or a heed::Error: never a crash, a hang, or an absurd allocation
// (ASan's allocation limit catches those). Build and run with scripts/fuzz.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "datasets/eeg_io.h"
#include "datasets/idx.h"
#include "tensor/io.h"

namespace {
// The bytes as a file the readers can open, without touching the disk.
struct MemoryFile {
  int fd;
  explicit MemoryFile(const uint8_t* data, size_t size) : fd(memfd_create("heed-fuzz", 0)) {
    if (fd >= 0 && size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) {
      close(fd);
      fd = -1;
    }
  }
  ~MemoryFile() {
    if (fd >= 0) close(fd);
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryFile file(data, size);
  if (file.fd < 0) return 0;
  try {
    heed::SafetensorsFile f = heed::load_safetensors(file.path());
    for (auto& [name, t] : f.tensors) (void)t.numel();
  } catch (const heed::Error&) {
  }
  try {
    (void)heed::load_npy(file.path()).numel();
  } catch (const heed::Error&) {
  }
  try {
    (void)heed::data::read_idx(file.path()).to_tensor().numel();
  } catch (const heed::Error&) {
  }
  try {
    (void)heed::eeg::read_recording(file.path()).num_samples();
  } catch (const heed::Error&) {
  }
  return 0;
}
