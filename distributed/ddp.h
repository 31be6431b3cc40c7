// DistributedDataParallel: the same model on every process, each process on its own part of
// the batch, gradients averaged so that every process takes the same optimizer step.
//
//   auto world = dist::init();
//   dist::DistributedDataParallel ddp(*model);        // parameters broadcast from rank 0
//   for (Batch& batch : loader) {                      // loader with .shard = {rank, size}
//     Tensor loss = ...;
//     ddp.set_samples(batch.size);                     // optional: exact weighting of uneven parts
//     ddp.backward(loss);                              // backward + all-reduce, overlapped
//     optimizer.step();
//     optimizer.zero_grad();
//   }
//
// Gradients are packed into buckets (parameters in reverse registration order, about the
// order backward produces them). A bucket's all-reduce starts as soon as backward has finished
// every gradient in it, so communication overlaps the rest of backward; buckets start in the
// same order on every rank. The average is weighted by set_samples (default 1 per rank):
// sum_r(w_r g_r) / sum_r(w_r), so ranks with uneven batches still give the full batch's mean
// gradient. A parameter no rank produced a gradient for keeps an undefined .grad.
//
// A model on a GPU works the same: the buckets live on the parameters' device, and the group
// moves them (dist::make_nccl_group: GPU to GPU through NCCL; the MPI group: through host copies).
#pragma once
#include <memory>

#include "distributed/process_group.h"
#include "nn/module.h"

namespace heed::dist {

// Copies root's parameters and buffers into the same module on every process of the group
// (e.g. the best checkpoint, loaded on rank 0 only, before a sharded evaluation).
void broadcast_state(nn::Module& module, ProcessGroup& group, int root = 0);

struct DdpOptions {
  int64_t bucket_bytes = int64_t(1) << 20;  // a bucket closes once it holds this many bytes
  bool overlap = true;  // start all-reduces during backward (false: all of them after it)
};

// Time spent in the last synchronised step.
struct DdpStats {
  double finish_seconds = 0;  // waiting for all-reduces after backward returned (exposed communication)
  int64_t buckets = 0;
  int64_t buckets_started_in_backward = 0;
  int64_t bytes = 0;  // reduced per step
};

class DistributedDataParallel {
 public:
  explicit DistributedDataParallel(nn::Module& module, std::shared_ptr<ProcessGroup> group = world(),
                                   DdpOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  // loss.backward(), then waits for the all-reduces and leaves the averaged gradients in .grad.
  // Inside no_sync() it is a plain backward: gradients accumulate locally until the next one.
  void backward(const Tensor& loss);
  // For a backward run by other means: completes the reduction backward started.
  void finish();
  // This rank's weight in the next step's average (usually its number of samples).
  void set_samples(double weight);

  // While the guard lives, backward accumulates gradients locally without communicating
  // (gradient accumulation); the first synchronised backward after it reduces the sum.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool previous_;
  };
  NoSync no_sync() { return NoSync(*this); }

  const DdpStats& stats() const;
  ProcessGroup& group() const;
  int64_t num_buckets() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // hooks on the parameters hold it weakly
};

}  // namespace heed::dist
