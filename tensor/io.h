// Exchanging tensors with the rest of the world:
//   .npy          one array, NumPy's format (numpy.save / numpy.load)
//   .safetensors  named tensors + string metadata (Hugging Face's format), heed's checkpoints
// Writes are atomic (temporary file, fsync, rename): a crash never leaves a half-written file
// under the final name. Reads validate everything and throw heed::Error naming the file and
// the problem; no malformed file can crash the reader or make it allocate absurd amounts.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace heed {

void save_npy(const std::string& path, const Tensor& t);
Tensor load_npy(const std::string& path);

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order
  std::map<std::string, std::string> metadata;
  // The tensor named `name`; throws heed::Error listing what the file holds when it is absent.
  const Tensor& at(const std::string& name) const;
  bool contains(const std::string& name) const;
};

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace heed
