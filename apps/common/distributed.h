// Data-parallel training for the apps: the same command under `mpirun -np N` trains on N
// processes, with no change to its flags. Rank 0 speaks for the job: on the other ranks stdout
// and stderr are silenced, except for errors (report_error).
#pragma once
#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include "distributed/process_group.h"

namespace heed::apps {

// Joins the job the launcher started (a one-process group when there is none), sets the
// threads per process (`threads` > 0: that many; 0: the machine's cores shared among the job's
// processes on it) and silences stdout and stderr on ranks other than 0.
std::shared_ptr<dist::ProcessGroup> join_training_job(int64_t threads);

// Each element summed over the job's processes (the values themselves for one process): an
// epoch's training loss and counts from every rank's part of the batches.
std::vector<double> sum_over_job(dist::ProcessGroup& job, std::vector<double> values);

// Ranks other than 0 reseed the default generator from (seed, rank), so that their dropout masks
// differ from rank 0's; rank 0 keeps the stream a one-process run draws.
void own_random_stream(const dist::ProcessGroup& job, uint64_t seed);

// For main()'s catch block: prints "<app>: error: ..." (with the rank in a job of several
// processes, on the terminal even where silenced) and returns 1; in a job of several processes
// it ends every process of the job instead of returning, so none waits for it until a timeout.
int report_error(const char* app, const std::exception& e);

}  // namespace heed::apps
