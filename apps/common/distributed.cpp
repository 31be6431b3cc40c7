#include "apps/common/distributed.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "tensor/threads.h"

namespace heed::apps {

namespace {
std::shared_ptr<dist::ProcessGroup> g_job;  // set once join_training_job ran
int g_stderr = 2;                           // the terminal's stderr, kept on silenced ranks
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
    g_stderr = dup(2);
    if (int null = open("/dev/null", O_WRONLY); null >= 0 && g_stderr >= 0) {
      dup2(null, 1);
      dup2(null, 2);
      close(null);
      dist::set_error_fd(g_stderr);
    } else {
      g_stderr = 2;
    }
  }
  return g_job;
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
