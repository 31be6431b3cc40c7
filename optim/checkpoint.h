// Training checkpoints: everything a run needs to continue exactly where it stopped, in one
// safetensors file — the model's state dict, the optimizer's and schedulers' states, early
// stopping, the random generator's (seed, offset), and the epoch and step counters.
//
//   optim::CheckpointParts parts{.model = &model, .optimizer = &opt, .scheduler = &sched};
//   optim::save_checkpoint(run_dir + "/last.safetensors", parts, {.epoch = e, .step = s});
//   ...
//   optim::Progress p = optim::load_checkpoint(run_dir + "/last.safetensors", parts);
//
// Resuming on the CPU with the same thread count continues bit-identically. The write is
// atomic (temporary file, fsync, rename): a crash or kill mid-save leaves the previous file
// intact. Loading validates the whole file before changing anything, and if one part refuses
// its state the parts already loaded are put back, so a failed load changes nothing.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "nn/module.h"
#include "optim/early_stopping.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace heed::optim {

// The parts a checkpoint holds; null parts are skipped (saving) or must be absent (loading).
struct CheckpointParts {
  nn::Module* model = nullptr;
  Optimizer* optimizer = nullptr;
  LRScheduler* scheduler = nullptr;
  ReduceLROnPlateau* plateau = nullptr;
  EarlyStopping* early_stopping = nullptr;
};

struct Progress {
  int64_t epoch = 0;
  int64_t step = 0;
  std::map<std::string, std::string> extra = {};  // anything else the caller wants back
};

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const Progress& progress);
// Restores every part and the default generator; returns the saved progress.
Progress load_checkpoint(const std::string& path, const CheckpointParts& parts);

}  // namespace heed::optim
