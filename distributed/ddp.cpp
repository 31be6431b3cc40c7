#include "distributed/ddp.h"

#include <chrono>
#include <cmath>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "optim/inplace.h"
#include "tensor/error.h"

namespace heed::dist {

namespace {

// One bucket's buffer: [gradients..., weight, one "had a gradient" flag per parameter].
struct Bucket {
  std::vector<size_t> params;    // indices into State::params
  std::vector<int64_t> offsets;  // of each parameter in the buffer
  int64_t numel = 0;             // gradient elements
  DType dtype = DType::Float32;
  Device device = Device::cpu();
  Tensor buffer;
  std::vector<char> marked;  // per parameter: its gradient is in the buffer
  size_t ready = 0;
  std::unique_ptr<Work> work;
};

}  // namespace

struct DistributedDataParallel::State {
  std::shared_ptr<ProcessGroup> group;
  DdpOptions options;
  std::vector<Tensor> params;
  std::vector<std::pair<size_t, size_t>> where;  // param -> (bucket, position in bucket)
  std::vector<Bucket> buckets;
  size_t next_to_start = 0;  // buckets start in index order on every rank
  bool sync = true;
  bool in_step = false;  // some gradient of this step has been packed
  double weight = 1.0;
  int64_t started_in_backward = 0;
  DdpStats stats;

  void pack(size_t p) {
    auto [b, k] = where[p];
    Bucket& bucket = buckets[b];
    if (!bucket.buffer.defined()) {
      bucket.buffer = zeros({bucket.numel + 1 + int64_t(bucket.params.size())}, {bucket.dtype, bucket.device});
      bucket.marked.assign(bucket.params.size(), 0);
    }
    HEED_CHECK(!bucket.marked[k],
               "DistributedDataParallel: a second backward before the first one's gradients were reduced; use "
               "ddp.backward(loss) (it finishes the reduction), call ddp.finish() after each backward, or "
               "accumulate inside ddp.no_sync()");
    bucket.marked[k] = 1;
    ++bucket.ready;
    in_step = true;
    const Tensor& param = params[p];
    Tensor grad = param.grad();
    if (grad.defined()) {
      NoGradGuard no_grad;
      bucket.buffer.narrow(0, bucket.offsets[k], param.numel()).copy_(grad.reshape({param.numel()}));
      optim::detail::fill_(bucket.buffer.narrow(0, bucket.numel + 1 + int64_t(k), 1), 1.0);
    }
  }

  void start_ready_buckets(bool in_backward) {
    while (next_to_start < buckets.size() && buckets[next_to_start].ready == buckets[next_to_start].params.size()) {
      Bucket& bucket = buckets[next_to_start++];
      if (weight != 1.0) optim::detail::mul_(bucket.buffer.narrow(0, 0, bucket.numel), weight);
      optim::detail::fill_(bucket.buffer.narrow(0, bucket.numel, 1), weight);
      bucket.work = group->all_reduce_async(bucket.buffer);
      if (in_backward) ++started_in_backward;
    }
    for (size_t b = 0; b < next_to_start; ++b)
      if (buckets[b].work) buckets[b].work->poll();  // MPI moves data only when called
  }

  void on_gradient_ready(size_t p) {
    if (!sync) return;
    pack(p);
    if (options.overlap) start_ready_buckets(true);
  }

  void finish() {
    if (!sync) return;
    const auto started = std::chrono::steady_clock::now();
    stats.buckets_started_in_backward = started_in_backward;
    // Parameters this backward did not reach: whatever .grad they hold (or nothing).
    for (size_t p = 0; p < params.size(); ++p) {
      auto [b, k] = where[p];
      if (!buckets[b].buffer.defined() || !buckets[b].marked[k]) pack(p);
    }
    start_ready_buckets(false);
    NoGradGuard no_grad;
    for (Bucket& bucket : buckets) {
      bucket.work->wait();
      const double total_weight = bucket.buffer.narrow(0, bucket.numel, 1).item<double>();
      HEED_CHECK(total_weight > 0, "DistributedDataParallel: the ranks' sample weights sum to {}", total_weight);
      Tensor grads = bucket.buffer.narrow(0, 0, bucket.numel);
      optim::detail::div_(grads, total_weight);
      const std::vector<double> had_gradient =
          bucket.buffer.narrow(0, bucket.numel + 1, int64_t(bucket.params.size())).to_vector<double>();
      for (size_t k = 0; k < bucket.params.size(); ++k) {
        Tensor& param = params[bucket.params[k]];
        if (had_gradient[k] == 0) {
          param.set_grad(Tensor());
          continue;
        }
        param.set_grad(grads.narrow(0, bucket.offsets[k], param.numel()).view(param.shape()));
      }
    }
    stats.finish_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    stats.buckets = int64_t(buckets.size());
    reset();
  }

  void reset() {
    for (Bucket& bucket : buckets) {
      bucket.buffer = Tensor();  // the .grad views keep the old buffer alive
      bucket.work.reset();
      bucket.ready = 0;
    }
    next_to_start = 0;
    in_step = false;
    weight = 1.0;
    started_in_backward = 0;
  }
};

void broadcast_state(nn::Module& module, ProcessGroup& group, int root) {
  NoGradGuard no_grad;
  auto from_root = [&](Tensor t) {
    Tensor buffer = t.is_contiguous() ? t : t.contiguous();
    group.broadcast(buffer, root);
    if (!buffer.is_same(t)) t.copy_(buffer);
  };
  for (Tensor t : module.parameters()) from_root(t);
  for (const auto& named : module.named_buffers()) from_root(named.second);
}

DistributedDataParallel::DistributedDataParallel(nn::Module& module, std::shared_ptr<ProcessGroup> group,
                                                 DdpOptions options)
    : state_(std::make_shared<State>()) {
  HEED_CHECK(group != nullptr, "DistributedDataParallel: the process group is null");
  HEED_CHECK(options.bucket_bytes > 0, "DistributedDataParallel: bucket_bytes must be positive, got {}",
             options.bucket_bytes);
  State& s = *state_;
  s.group = std::move(group);
  s.options = options;
  broadcast_state(module, *s.group, 0);  // every rank starts from rank 0's parameters and buffers
  for (const Tensor& p : module.parameters())
    if (p.requires_grad()) s.params.push_back(p);
  HEED_CHECK(!s.params.empty(), "DistributedDataParallel: the module has no parameter that requires grad");
  // Buckets over the parameters in reverse order, one dtype and device each.
  s.where.resize(s.params.size());
  for (size_t i = s.params.size(); i-- > 0;) {
    const Tensor& p = s.params[i];
    if (s.buckets.empty() || s.buckets.back().dtype != p.dtype() || s.buckets.back().device != p.device() ||
        s.buckets.back().numel * int64_t(dtype_size(p.dtype())) >= options.bucket_bytes) {
      s.buckets.emplace_back();
      s.buckets.back().dtype = p.dtype();
      s.buckets.back().device = p.device();
    }
    Bucket& bucket = s.buckets.back();
    s.where[i] = {s.buckets.size() - 1, bucket.params.size()};
    bucket.params.push_back(i);
    bucket.offsets.push_back(bucket.numel);
    bucket.numel += p.numel();
  }
  for (const Bucket& bucket : s.buckets) s.stats.bytes += bucket.numel * int64_t(dtype_size(bucket.dtype));
  std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.params.size(); ++i)
    s.params[i].register_post_accumulate_grad_hook([weak, i](const Tensor&) {
      if (auto state = weak.lock()) state->on_gradient_ready(i);
    });
}

DistributedDataParallel::~DistributedDataParallel() {
  // Never leave MPI writing into buffers about to be freed.
  for (Bucket& bucket : state_->buckets)
    if (bucket.work) bucket.work->wait();
}

void DistributedDataParallel::backward(const Tensor& loss) {
  loss.backward();
  finish();
}

void DistributedDataParallel::finish() { state_->finish(); }

void DistributedDataParallel::set_samples(double weight) {
  HEED_CHECK(weight > 0 && std::isfinite(weight), "DistributedDataParallel: set_samples needs a positive weight, got {}",
             weight);
  HEED_CHECK(!state_->in_step,
             "DistributedDataParallel: set_samples must come before backward (some gradients are already packed)");
  state_->weight = weight;
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp), previous_(ddp.state_->sync) {
  HEED_CHECK(!ddp.state_->in_step, "DistributedDataParallel: no_sync in the middle of a synchronised step");
  ddp.state_->sync = false;
}
DistributedDataParallel::NoSync::~NoSync() { ddp_.state_->sync = previous_; }

const DdpStats& DistributedDataParallel::stats() const { return state_->stats; }
ProcessGroup& DistributedDataParallel::group() const { return *state_->group; }
int64_t DistributedDataParallel::num_buckets() const { return int64_t(state_->buckets.size()); }

}  // namespace heed::dist
