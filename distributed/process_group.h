// Process groups: the processes of one data-parallel job and the collectives between them.
//
//   auto world = dist::init();           // under `mpirun -np 4`: MPI, rank 0..3; else one process
//   dist::all_reduce(grad, dist::ReduceOp::Mean);
//   if (world->rank() == 0) save(...);
//
// Processes talk through MPI (OpenMPI here), never through sockets of heed's own. Every
// collective waits at most `timeout` for the other processes; past it the job ends with an
// error naming the collective (a rank that died or skipped the call), never a silent hang.
// Tensors are contiguous, and the same shape, dtype and device kind on every rank. The MPI group
// moves a tensor that is not on the CPU through a host copy; nccl_group (distributed/nccl.h)
// moves GPU tensors from GPU to GPU.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace heed::dist {

enum class ReduceOp { Sum, Mean };

// A collective started without waiting (all_reduce_async); wait() blocks until it is done.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool poll() = 0;  // true once complete; drives the transfer forward
  virtual void wait() = 0;  // throws (or ends the job, see below) past the group's timeout
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "local", "mpi" or "nccl"
  // Processes of this job on this machine, and this one's index among them (thread defaults).
  virtual int local_size() const = 0;
  virtual int local_rank() const = 0;

  virtual void barrier() = 0;
  virtual void broadcast(Tensor& t, int root) = 0;          // in place: root's values everywhere
  virtual void all_reduce(Tensor& t, ReduceOp op) = 0;      // in place
  virtual std::unique_ptr<Work> all_reduce_async(Tensor& t) = 0;  // sum, in place when done
  virtual Tensor all_gather(const Tensor& t) = 0;           // [size, ...t.shape], rank order
  virtual void broadcast_bytes(std::string& bytes, int root) = 0;
  // Ends every process of the job at once with `message` (after an error on one rank: the
  // others would otherwise wait in their next collective until the timeout).
  [[noreturn]] virtual void abort(const std::string& message, int code = 1) = 0;
  std::chrono::duration<double> timeout() const { return timeout_; }
  void set_timeout(std::chrono::duration<double> t) { timeout_ = t; }

 protected:
  std::chrono::duration<double> timeout_{300.0};
};

struct InitOptions {
  // How long a collective waits for the other ranks; the environment's HEED_DIST_TIMEOUT
  // (seconds) overrides it.
  double timeout_seconds = 300.0;
};

// The world group, from the environment: MPI when the process was started by mpirun (or
// srun), a one-process group otherwise. Starting MPI happens once; later calls return the same
// group. Under mpirun in a build without MPI it throws, rather than run N copies that each
// believe they are alone.
std::shared_ptr<ProcessGroup> init(InitOptions options = {});
// The group init() made (calling init() first if nobody has).
std::shared_ptr<ProcessGroup> world();
bool built_with_mpi();
// The launcher's world size from the environment (1 when not started by a launcher).
int launcher_world_size();

// Conveniences on world().
inline int rank() { return world()->rank(); }
inline int world_size() { return world()->size(); }
inline bool is_main_process() { return world()->rank() == 0; }
inline void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum) { world()->all_reduce(t, op); }
inline void broadcast(Tensor& t, int root = 0) { world()->broadcast(t, root); }
inline void barrier() { world()->barrier(); }

// Where abort() and the timeout write their message: standard error (fd 2) unless set here, as
// apps that silence a rank's standard error do, to keep its errors on the terminal.
void set_error_fd(int fd);

// The one-process group: every collective is the identity.
std::shared_ptr<ProcessGroup> make_local_group();

}  // namespace heed::dist
