#include "apps/common/distributed.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "datasets/dataset.h"
#include "tensor/random.h"
#include "tensor/threads.h"

namespace heed::apps {

namespace {
std::shared_ptr<dist::ProcessGroup> g_job;  // set once join_training_job ran
}  // namespace

std::shared_ptr<dist::ProcessGroup> join_training_job(int64_t threads) {
  if (g_job) return g_job;
  g_job = dist::init();
  if (threads > 0) set_num_threads(int(threads));
  else if (g_job->local_size() > 1)
    set_num_threads(std::max(1, int(std::thread::hardware_concurrency()) / g_job->local_size()));
  if (g_job->rank() != 0) {
    std::fflush(stdout);
    std::fflush(stderr);
    const int terminal = dup(2);  // errors still go there
    if (int null = open("/dev/null", O_WRONLY); null >= 0 && terminal >= 0) {
      dup2(null, 1);
      dup2(null, 2);
      close(null);
      dist::set_error_fd(terminal);
    }
  }
  return g_job;
}

std::vector<double> sum_over_job(dist::ProcessGroup& job, std::vector<double> values) {
  if (job.size() == 1) return values;
  Tensor t = from_vector(values, {int64_t(values.size())}, {DType::Float64});
  job.all_reduce(t, dist::ReduceOp::Sum);
  return t.to_vector<double>();
}

void own_random_stream(const dist::ProcessGroup& job, uint64_t seed) {
  if (job.rank() > 0) manual_seed(data::SplitMix64(seed + uint64_t(job.rank())).next());
}

int report_error(const char* app, const std::exception& e) {
  if (!g_job || g_job->size() == 1) {
    fmt::print(stderr, "{}: error: {}\n", app, e.what());
    return 1;
  }
  g_job->abort(fmt::format("{}: rank {} of {}: error: {}", app, g_job->rank(), g_job->size(), e.what()), 1);
  return 1;  // not reached: abort ends the process
}

}  // namespace heed::apps
