// StateDict: the saved state of an optimizer, an LR scheduler or early stopping, as named tensors
// plus string metadata: exactly what a safetensors file holds, so a training checkpoint can store
// several of them side by side under prefixes:
//
//   optim::StateDict ckpt = optim::merged({optim::prefixed("optimizer.", opt.state_dict()),
//                                          optim::prefixed("scheduler.", sched.state_dict())});
//   optim::save_state(path, ckpt);
//   ...
//   optim::StateDict loaded = optim::load_state(path);
//   opt.load_state_dict(optim::unprefixed("optimizer.", loaded));
//
// Numbers are written in the shortest form that reads back to the same double (fmt's "{}"), so
// save and load are bit-exact. Readers name the caller and the key in every error.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/module.h"
#include "tensor/tensor.h"

namespace heed::optim {

struct StateDict {
  nn::NamedTensors tensors;
  std::map<std::string, std::string> metadata;

  void set_text(const std::string& key, const std::string& value) { metadata[key] = value; }
  void set_number(const std::string& key, double value);
  void set_int(const std::string& key, int64_t value);
  void set_numbers(const std::string& key, const std::vector<double>& values);  // comma-separated
  void set_ints(const std::string& key, const std::vector<int64_t>& values);

  // `who` names the reader in errors, e.g. "StepLR.load_state_dict".
  bool has(const std::string& key) const { return metadata.count(key) != 0; }
  const std::string& text(const std::string& key, const std::string& who) const;
  double number(const std::string& key, const std::string& who) const;
  int64_t integer(const std::string& key, const std::string& who) const;
  std::vector<double> numbers(const std::string& key, const std::string& who) const;
  std::vector<int64_t> ints(const std::string& key, const std::string& who) const;
};

// The same state with `prefix` in front of every tensor name and metadata key.
StateDict prefixed(const std::string& prefix, const StateDict& state);
// The entries whose names start with `prefix`, with the prefix removed.
StateDict unprefixed(const std::string& prefix, const StateDict& state);
// All entries of all parts; a name that appears twice is an error.
StateDict merged(const std::vector<StateDict>& parts);

// A safetensors file (written atomically), and back.
void save_state(const std::string& path, const StateDict& state);
StateDict load_state(const std::string& path);

}  // namespace heed::optim
