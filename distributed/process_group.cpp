#include "distributed/process_group.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "optim/inplace.h"
#include "tensor/backend.h"
#include "tensor/error.h"
#include "tensor/ops.h"

#ifdef HEED_WITH_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (OpenMPI would pull in its C++ bindings)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace heed::dist {

namespace {

int g_error_fd = 2;

// Writes an abort message straight to the error descriptor (stderr may be silenced).
void print_error(const std::string& message) {
  if (message.empty()) return;
  std::fflush(stdout);
  std::fflush(stderr);
  const std::string line = message + "\n";
  if (::write(g_error_fd, line.data(), line.size()) < 0) {
    // the job ends right after this either way
  }
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return end && *end == '\0' && x > 0 ? int(x) : fallback;
}

void check_collective_tensor(const char* op, const Tensor& t) {
  HEED_CHECK(t.defined(), "{}: the tensor is undefined", op);
  HEED_CHECK(t.is_contiguous(), "{}: the tensor (shape {}) is not contiguous; call .contiguous() first", op,
             t.shape());
}

void check_reduce(const Tensor& t, ReduceOp op) {
  check_collective_tensor("all_reduce", t);
  HEED_CHECK(op == ReduceOp::Sum || is_floating(t.dtype()), "all_reduce: the mean of a {} tensor; use Sum", t.dtype());
}

class LocalWork : public Work {
 public:
  bool poll() override { return true; }
  void wait() override {}
};

class LocalGroup : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  int local_size() const override { return 1; }
  int local_rank() const override { return 0; }
  void barrier() override {}
  void broadcast(Tensor& t, int root) override {
    check_collective_tensor("broadcast", t);
    HEED_CHECK(root == 0, "broadcast: root {} is not a rank of a 1-process group", root);
  }
  void all_reduce(Tensor& t, ReduceOp op) override { check_reduce(t, op); }
  std::unique_ptr<Work> all_reduce_async(Tensor& t) override {
    check_collective_tensor("all_reduce", t);
    return std::make_unique<LocalWork>();
  }
  Tensor all_gather(const Tensor& t) override {
    check_collective_tensor("all_gather", t);
    return t.detach().unsqueeze(0).contiguous();
  }
  void broadcast_bytes(std::string&, int root) override {
    HEED_CHECK(root == 0, "broadcast_bytes: root {} is not a rank of a 1-process group", root);
  }
  [[noreturn]] void abort(const std::string& message, int code) override {
    print_error(message);
    std::_Exit(code);
  }
};

#ifdef HEED_WITH_MPI

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::UInt8: return MPI_UINT8_T;
  }
  HEED_FAIL("collective: unsupported dtype {}", t);
}

// MPI_Finalize at exit, once, if MPI was started here.
struct MpiFinalizer {
  ~MpiFinalizer() {
    int started = 0, finished = 0;
    MPI_Initialized(&started);
    MPI_Finalized(&finished);
    if (started && !finished) MPI_Finalize();
  }
};

// A tensor off the CPU goes through MPI as a host copy; the result is copied back.
Tensor host_copy(const Tensor& t) { return raw::to_device(t, Device::cpu()); }
// Straight into the (contiguous) device tensor's memory: one copy, no temporary on the device.
void copy_back(const Tensor& target, const Tensor& host) {
  backend_for(target.device())
      .copy_from_host(target.raw_data(), host.raw_data(), size_t(target.numel()) * dtype_size(target.dtype()));
}

// An all-reduce of a host copy: done once the copy is reduced and back in the device tensor.
class StagedWork : public Work {
 public:
  StagedWork(std::unique_ptr<Work> inner, Tensor host, Tensor target)
      : inner_(std::move(inner)), host_(std::move(host)), target_(std::move(target)) {}
  bool poll() override {
    if (!inner_) return true;
    if (!inner_->poll()) return false;
    land();
    return true;
  }
  void wait() override {
    if (!inner_) return;
    inner_->wait();
    land();
  }

 private:
  void land() {
    inner_.reset();
    copy_back(target_, host_);
  }
  std::unique_ptr<Work> inner_;
  Tensor host_, target_;
};

class MpiGroup;

// Waits for `request`, driving MPI's progress; past the timeout the whole job ends.
void wait_for(MpiGroup& group, MPI_Request& request, const char* what);

class MpiWork : public Work {
 public:
  MpiWork(MpiGroup& group, const char* what) : group_(group), what_(what) {}
  ~MpiWork() override {
    if (request_ != MPI_REQUEST_NULL) wait();  // never leave MPI writing into freed memory
  }
  bool poll() override {
    if (request_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
    return done != 0;
  }
  void wait() override { wait_for(group_, request_, what_); }
  MPI_Request request_ = MPI_REQUEST_NULL;
  Tensor keep_;  // the buffer MPI writes into, alive until done

 private:
  MpiGroup& group_;
  const char* what_;
};

class MpiGroup : public ProcessGroup {
 public:
  explicit MpiGroup(double timeout_seconds) {
    int started = 0;
    MPI_Initialized(&started);
    if (!started) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      static MpiFinalizer finalizer;
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    timeout_ = std::chrono::duration<double>(timeout_seconds);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  int local_size() const override { return local_size_; }
  int local_rank() const override { return local_rank_; }

  void barrier() override {
    MPI_Request r;
    check(MPI_Ibarrier(comm_, &r), "barrier");
    wait_for(*this, r, "barrier");
  }
  void broadcast(Tensor& t, int root) override {
    check_collective_tensor("broadcast", t);
    check_root("broadcast", root);
    if (!t.device().is_cpu()) {
      Tensor host = host_copy(t);
      broadcast(host, root);
      return copy_back(t, host);
    }
    MPI_Request r;
    check(MPI_Ibcast(t.raw_data(), int_count(t), mpi_type(t.dtype()), root, comm_, &r), "broadcast");
    wait_for(*this, r, "broadcast");
  }
  void all_reduce(Tensor& t, ReduceOp op) override {
    check_reduce(t, op);
    auto work = all_reduce_async(t);
    work->wait();
    if (op == ReduceOp::Mean) optim::detail::div_(t, double(size_));
  }
  std::unique_ptr<Work> all_reduce_async(Tensor& t) override {
    check_collective_tensor("all_reduce", t);
    if (!t.device().is_cpu()) {
      Tensor host = host_copy(t);
      auto inner = all_reduce_async(host);
      return std::make_unique<StagedWork>(std::move(inner), host, t);
    }
    auto work = std::make_unique<MpiWork>(*this, "all_reduce");
    work->keep_ = t;
    check(MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), int_count(t), mpi_type(t.dtype()), MPI_SUM, comm_,
                         &work->request_),
          "all_reduce");
    return work;
  }
  Tensor all_gather(const Tensor& t) override {
    check_collective_tensor("all_gather", t);
    if (!t.device().is_cpu()) return all_gather(host_copy(t)).to(t.device());
    Shape shape = t.shape();
    shape.insert(shape.begin(), size_);
    Tensor out = empty(shape, {t.dtype()});
    MPI_Request r;
    check(MPI_Iallgather(t.raw_data(), int_count(t), mpi_type(t.dtype()), out.raw_data(), int_count(t),
                         mpi_type(t.dtype()), comm_, &r),
          "all_gather");
    wait_for(*this, r, "all_gather");
    return out;
  }
  void broadcast_bytes(std::string& bytes, int root) override {
    check_root("broadcast_bytes", root);
    int64_t n = int64_t(bytes.size());
    MPI_Request r;
    check(MPI_Ibcast(&n, 1, MPI_INT64_T, root, comm_, &r), "broadcast_bytes");
    wait_for(*this, r, "broadcast_bytes");
    HEED_CHECK(n >= 0 && n < (int64_t(1) << 31), "broadcast_bytes: {} bytes is more than one message holds", n);
    bytes.resize(size_t(n));
    check(MPI_Ibcast(bytes.data(), int(n), MPI_BYTE, root, comm_, &r), "broadcast_bytes");
    wait_for(*this, r, "broadcast_bytes");
  }
  [[noreturn]] void abort(const std::string& message, int code) override {
    print_error(message);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    abort(fmt::format("heed: rank {}: {} failed in MPI: {}", rank_, what, std::string(text, size_t(len))), 1);
  }
  void check_root(const char* op, int root) const {
    HEED_CHECK(root >= 0 && root < size_, "{}: root {} is not a rank of this {}-process group", op, root, size_);
  }
  static int int_count(const Tensor& t) {
    HEED_CHECK(t.numel() < (int64_t(1) << 31), "collective: {} elements is more than one MPI call takes",
               t.numel());
    return int(t.numel());
  }
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

void wait_for(MpiGroup& group, MPI_Request& request, const char* what) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (int spins = 0;; ++spins) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    const auto waited = clock::now() - start;
    if (waited > group.timeout())
      group.abort(fmt::format("heed: rank {}: {} timed out after {:.0f} s waiting for the other ranks: one of them "
                              "died or did not make the same call (HEED_DIST_TIMEOUT sets the limit)",
                              group.rank(), what, group.timeout().count()),
                  1);
    // Spin briefly for low latency, then let the other processes of the machine have the core.
    if (waited > std::chrono::milliseconds(2)) std::this_thread::sleep_for(std::chrono::microseconds(50));
    else std::this_thread::yield();
  }
}

#endif  // HEED_WITH_MPI

std::mutex g_mutex;
std::shared_ptr<ProcessGroup> g_world;

}  // namespace

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (int n = env_int(name, 0); n > 0) return n;
  return 1;
}

bool built_with_mpi() {
#ifdef HEED_WITH_MPI
  return true;
#else
  return false;
#endif
}

void set_error_fd(int fd) { g_error_fd = fd; }

std::shared_ptr<ProcessGroup> make_local_group() { return std::make_shared<LocalGroup>(); }

std::shared_ptr<ProcessGroup> init(InitOptions options) {
  std::lock_guard lock(g_mutex);
  if (g_world) return g_world;
  if (const char* v = std::getenv("HEED_DIST_TIMEOUT"); v && *v) {
    char* end = nullptr;
    double s = std::strtod(v, &end);
    HEED_CHECK(end && *end == '\0' && s > 0, "HEED_DIST_TIMEOUT: '{}' is not a positive number of seconds", v);
    options.timeout_seconds = s;
  }
  HEED_CHECK(options.timeout_seconds > 0, "dist::init: the timeout must be positive, got {}", options.timeout_seconds);
  const int launched = launcher_world_size();
#ifdef HEED_WITH_MPI
  if (launched > 1) g_world = std::make_shared<MpiGroup>(options.timeout_seconds);
#else
  HEED_CHECK(launched == 1,
             "started by a launcher as one of {} processes, but this heed was built without MPI: install "
             "libopenmpi-dev and rebuild (cmake finds it), or run a single process",
             launched);
#endif
  if (!g_world) g_world = make_local_group();
  g_world->set_timeout(std::chrono::duration<double>(options.timeout_seconds));
  return g_world;
}

std::shared_ptr<ProcessGroup> world() {
  {
    std::lock_guard lock(g_mutex);
    if (g_world) return g_world;
  }
  return init();
}

}  // namespace heed::dist
