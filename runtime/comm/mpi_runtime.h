// MPI's lifetime in a detnn process (files ending in _mpi.cpp only; cmake/DetnnMpi.cmake).
// detnn starts MPI once, the first time a launched run needs it, and finalizes it when the
// process exits. MPI_Finalize waits for every rank of the job, which is what makes a failure's
// message reach every rank's output before mpirun stops the job on the first nonzero exit. After a
// failure (note_mpi_failure) a rank that never gets there (stuck, or killed) cannot hold the
// others: a watchdog ends the process kMpiFinalizeSeconds into MPI_Finalize, and mpirun then stops
// the stuck one. A healthy run's finalize waits as long as it takes (rank 0 may still be writing
// the run directory). A program that initialized MPI itself keeps it and finalizes it.
#pragma once

#include <mutex>

namespace detnn {

constexpr double kMpiFinalizeSeconds = 10.0;

// MPI_Init_thread (MPI_THREAD_SERIALIZED at least) unless MPI runs already; idempotent.
// Throws Error(comm) when MPI cannot start or was finalized.
void start_mpi();
// The group failed: bound this process's MPI_Finalize (above). Never throws.
void note_mpi_failure() noexcept;
// Every MPI call detnn makes holds this lock (MPI_THREAD_SERIALIZED: one call at a time).
std::mutex& mpi_lock();
// Throws Error(comm) "<what> failed: <MPI's error string>" unless rc is MPI_SUCCESS.
void check_mpi(int rc, const char* what);

}  // namespace detnn
