#include "runtime/comm/mpi_runtime.h"

// The C interface only: OpenMPI's and MPICH's deprecated C++ bindings need a library detnn does
// not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "runtime/error.h"

namespace detnn {

namespace {

std::atomic<bool> failed{false};

void finalize_at_exit() {
  std::lock_guard<std::mutex> lock(mpi_lock());
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  // After a failure, bounded: a rank that never reaches MPI_Finalize must not keep this one.
  if (failed.load()) std::thread([] {
    std::this_thread::sleep_for(std::chrono::duration<double>(kMpiFinalizeSeconds));
    ::_exit(1);
  }).detach();
  MPI_Finalize();
}

}  // namespace

void note_mpi_failure() noexcept { failed.store(true); }

std::mutex& mpi_lock() {
  static std::mutex lock;
  return lock;
}

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(rc, text, &length);
  DETNN_THROW(comm, what, " failed: ", text);
}

void start_mpi() {
  std::lock_guard<std::mutex> lock(mpi_lock());
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  DETNN_CHECK(!finalized, comm, "MPI was finalized already in this process");
  if (initialized) return;
  int provided = 0;
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  std::atexit(finalize_at_exit);
  // Failures come back as codes, which detnn turns into errors naming the call.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  DETNN_CHECK(provided >= MPI_THREAD_SERIALIZED, comm,
              "MPI provides no MPI_THREAD_SERIALIZED (detnn calls MPI from one thread at a time)");
}

}  // namespace detnn
