// NcclComm (runtime/comm/nccl_comm.h): creation, destruction, abort, and the bounded waits and
// failure handling every collective goes through. The collectives are in nccl_all_reduce_cuda.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "runtime/comm/nccl_comm.h"
#include "runtime/comm/rank_sum_cuda.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace detnn {

namespace {

ncclConfig_t nonblocking_config() {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // every NCCL call returns at once, so that every wait is ours and bounded
  return config;
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

// "ncclSend: invalid usage (...) (NCCL's last error)"
std::string nccl_error_text(ncclResult_t result) {
  std::string text = ncclGetErrorString(result);
  const char* last = ncclGetLastError(nullptr);
  if (last != nullptr && last[0] != '\0') text += std::string(" (") + last + ")";
  return text;
}

// Lets NCCL's and the other ranks' threads run while a wait polls: a few yields for the short
// collectives (a loss, a count), then short sleeps; the failure is still seen within a millisecond.
void pause(int64_t spins) {
  if (spins < 64) {
    std::this_thread::yield();
  } else if (spins < 4096) {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// How often a wait asks the FailureChannel: for launched ranks each poll is a round trip to rank
// 0's store, and every rank of the job polls while it waits.
constexpr std::chrono::milliseconds kFailurePollInterval{1};

std::chrono::steady_clock::time_point deadline_after(double seconds) {
  // Clamped so that a huge timeout cannot overflow the clock's nanoseconds.
  const double s = std::min(seconds, 1e9);
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

void check_creation(const std::shared_ptr<FailureChannel>& failures, double timeout_seconds, int ranks,
                    const char* what) {
  DETNN_CHECK(failures != nullptr, invalid_argument, what, ": no FailureChannel");
  DETNN_CHECK(std::isfinite(timeout_seconds) && timeout_seconds > 0, invalid_argument, what,
              ": the timeout must be a positive number of seconds, got ", timeout_seconds);
  DETNN_CHECK(ranks >= 1 && ranks <= kRankSumMaxRanks, invalid_argument, what, ": ranks must be in [1, ",
              kRankSumMaxRanks, "], got ", ranks);
}

void check_device(int device, int rank, const char* what) {
  const int visible = cuda_device_count();
  DETNN_CHECK(device >= 0 && device < visible, invalid_argument, what, ": rank ", rank, "'s device cuda:", device,
              " does not exist (", visible, " CUDA device(s) visible)");
}

void abort_all(const std::vector<ncclComm_t>& comms) noexcept {
  for (ncclComm_t c : comms)
    if (c != nullptr) (void)ncclCommAbort(c);
}

// Polls the communicators until NCCL has initialized every one. Throws Error(nccl) on an NCCL
// error, Error(comm) on the group's failure or the deadline; the caller aborts the communicators.
void wait_for_init(const std::vector<ncclComm_t>& comms, FailureChannel& failures, double timeout_seconds,
                   const char* what) {
  const auto deadline = deadline_after(timeout_seconds);
  auto next_failure_poll = std::chrono::steady_clock::now();
  for (ncclComm_t c : comms) {
    for (int64_t spins = 0;; ++spins) {
      ncclResult_t state = ncclInProgress;
      const ncclResult_t got = ncclCommGetAsyncError(c, &state);
      if (got != ncclSuccess) DETNN_THROW(nccl, what, ": ncclCommGetAsyncError: ", nccl_error_text(got));
      if (state == ncclSuccess) break;
      if (state != ncclInProgress)
        DETNN_THROW(nccl, what, ": NCCL communicator initialization failed: ", nccl_error_text(state));
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_failure_poll) {  // at most once a millisecond (see poll_until)
        const std::string failure = failures.poll();
        if (!failure.empty()) throw Error(ErrorCode::comm, failure);
        next_failure_poll = now + kFailurePollInterval;
      }
      if (now >= deadline)
        DETNN_THROW(comm, what, ": NCCL communicator initialization timed out after ", seconds_text(timeout_seconds),
                    " s");
      pause(spins);
    }
  }
}

}  // namespace

// --- creation and destruction ---

NcclComm::NcclComm(ncclComm_t comm, int rank, int size, int device, std::shared_ptr<FailureChannel> failures,
                   double timeout_seconds)
    : comm_(comm),
      rank_(rank),
      size_(size),
      device_(device),
      failures_(std::move(failures)),
      timeout_seconds_(timeout_seconds),
      internal_(device),
      buckets_(device) {
  CudaDeviceGuard guard(device_);
  DETNN_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  DETNN_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
}

std::vector<std::unique_ptr<NcclComm>> NcclComm::create_local(const std::vector<int>& devices,
                                                              std::shared_ptr<FailureChannel> failures,
                                                              double timeout_seconds) {
  const int n = static_cast<int>(devices.size());
  check_creation(failures, timeout_seconds, n, "NcclComm::create_local");
  for (int r = 0; r < n; ++r) {
    check_device(devices[r], r, "NcclComm::create_local");
    for (int q = 0; q < r; ++q)
      DETNN_CHECK(devices[q] != devices[r], invalid_argument, "NcclComm::create_local: ranks ", q, " and ", r,
                  " are both on cuda:", devices[r],
                  " (NCCL takes one rank per GPU; LocalComm ranks can share one GPU)");
  }
  ncclUniqueId id;
  DETNN_NCCL_CHECK(ncclGetUniqueId(&id));
  int previous = 0;
  DETNN_CUDA_CHECK(cudaGetDevice(&previous));

  // One group of ncclCommInitRankConfig calls, each made on its rank's device. Nothing may throw
  // between ncclGroupStart and ncclGroupEnd: the open group is this thread's NCCL state.
  std::vector<ncclComm_t> comms(n, nullptr);
  std::vector<ncclConfig_t> configs(n, nonblocking_config());
  std::string error;
  DETNN_NCCL_CHECK(ncclGroupStart());
  for (int r = 0; r < n && error.empty(); ++r) {
    const cudaError_t set = cudaSetDevice(devices[r]);
    if (set != cudaSuccess) {
      error = "cudaSetDevice(" + std::to_string(devices[r]) + "): " + cudaGetErrorString(set);
      break;
    }
    const ncclResult_t res = ncclCommInitRankConfig(&comms[r], n, id, r, &configs[r]);
    if (res != ncclSuccess && res != ncclInProgress)
      error = "ncclCommInitRankConfig (rank " + std::to_string(r) + "): " + nccl_error_text(res);
  }
  const ncclResult_t end = ncclGroupEnd();
  (void)cudaSetDevice(previous);
  if (error.empty() && end != ncclSuccess && end != ncclInProgress) error = "ncclGroupEnd: " + nccl_error_text(end);
  if (!error.empty()) {
    abort_all(comms);
    DETNN_THROW(nccl, "NcclComm::create_local: ", error);
  }
  try {
    wait_for_init(comms, *failures, timeout_seconds, "NcclComm::create_local");
  } catch (...) {
    abort_all(comms);
    throw;
  }

  std::vector<std::unique_ptr<NcclComm>> out;
  out.reserve(n);  // emplace_back cannot throw after `new` succeeded
  for (int r = 0; r < n; ++r) {
    try {
      out.emplace_back(new NcclComm(comms[r], r, n, devices[r], failures, timeout_seconds));
    } catch (...) {
      // comms[r..n) are not owned yet; the built ones finalize in out's destructor.
      abort_all(std::vector<ncclComm_t>(comms.begin() + r, comms.end()));
      throw;
    }
  }
  return out;
}

NcclUniqueId NcclComm::new_unique_id() {
  static_assert(sizeof(ncclUniqueId) == std::tuple_size_v<NcclUniqueId>, "NcclUniqueId must hold an ncclUniqueId");
  ncclUniqueId id;
  DETNN_NCCL_CHECK(ncclGetUniqueId(&id));
  NcclUniqueId out;
  std::memcpy(out.data(), id.internal, out.size());
  return out;
}

std::unique_ptr<NcclComm> NcclComm::join(const NcclUniqueId& id, int rank, int size, int device,
                                         std::shared_ptr<FailureChannel> failures, double timeout_seconds) {
  check_creation(failures, timeout_seconds, size, "NcclComm::join");
  DETNN_CHECK(rank >= 0 && rank < size, invalid_argument, "NcclComm::join: rank ", rank, " is not in [0, ", size, ")");
  check_device(device, rank, "NcclComm::join");
  ncclUniqueId raw;
  std::memcpy(raw.internal, id.data(), id.size());
  ncclComm_t comm = nullptr;
  try {
    CudaDeviceGuard guard(device);
    ncclConfig_t config = nonblocking_config();
    const ncclResult_t res = ncclCommInitRankConfig(&comm, size, raw, rank, &config);
    if (res != ncclSuccess && res != ncclInProgress)
      DETNN_THROW(nccl, "NcclComm::join: ncclCommInitRankConfig: ", nccl_error_text(res));
    wait_for_init({comm}, *failures, timeout_seconds, "NcclComm::join");
    return std::unique_ptr<NcclComm>(new NcclComm(comm, rank, size, device, failures, timeout_seconds));
  } catch (const std::exception& e) {
    if (comm != nullptr) (void)ncclCommAbort(comm);
    // The other processes wait for this rank in their own initialization: stop them too.
    const auto* error = dynamic_cast<const Error*>(&e);
    if (error == nullptr || error->code() != ErrorCode::comm)
      failures->post("rank " + std::to_string(rank) + " failed: " + e.what());
    throw;
  }
}

void NcclComm::start_finalize() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  int previous = -1;
  const bool switched =
      cudaGetDevice(&previous) == cudaSuccess && previous != device_ && cudaSetDevice(device_) == cudaSuccess;
  start_finalize_locked();
  if (switched) (void)cudaSetDevice(previous);
}

void NcclComm::start_finalize_locked() noexcept {
  if (comm_ == nullptr || finalize_started_) return;
  finalize_started_ = true;
  // Non-blocking communicator: returns at once (ncclInProgress); the destructor polls.
  const ncclResult_t started = ncclCommFinalize(comm_);
  if (started != ncclSuccess && started != ncclInProgress) abort_nccl_locked();
}

NcclComm::~NcclComm() {
  std::lock_guard<std::mutex> lock(mutex_);
  int previous = -1;
  const bool switched =
      cudaGetDevice(&previous) == cudaSuccess && previous != device_ && cudaSetDevice(device_) == cudaSuccess;
  start_finalize_locked();
  if (comm_ != nullptr) {
    // Finalize is an intra-node collective (NCCL waits for every rank's finalize), so a process
    // driving several ranks starts them all before it waits for one (NcclGroup's destructor);
    // every collective has completed or been aborted, so it ends quickly; the deadline is a
    // guard, then abort.
    const auto deadline = deadline_after(timeout_seconds_);
    ncclResult_t state = ncclInProgress;
    for (int64_t spins = 0; ncclCommGetAsyncError(comm_, &state) == ncclSuccess && state == ncclInProgress &&
                            std::chrono::steady_clock::now() < deadline;
         ++spins)
      pause(spins);
    if (state == ncclSuccess) {
      (void)ncclCommDestroy(comm_);
    } else {
      (void)ncclCommAbort(comm_);
    }
    comm_ = nullptr;
  }
  if (done_ != nullptr) (void)cudaEventDestroy(done_);
  if (ready_ != nullptr) (void)cudaEventDestroy(ready_);
  for (cudaEvent_t e : queued_) (void)cudaEventDestroy(e);
  for (cudaEvent_t e : spare_events_) (void)cudaEventDestroy(e);
  // cudaFree waits for the device: work still queued after an aborted collective ends first.
  for (Scratch* s : {&rows_, &gather_, &staging_})
    if (s->ptr != nullptr) (void)cudaFree(s->ptr);
  for (void* p : retired_) (void)cudaFree(p);
  if (switched) (void)cudaSetDevice(previous);
}

// --- abort and failures ---

void NcclComm::abort(const std::string& message) noexcept {
  std::string posted;
  try {
    posted = "rank " + std::to_string(rank_) + " failed: " + message;
  } catch (...) {
    // Out of memory for the message: post() records "a rank failed".
  }
  failures_->post(posted);
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // a collective is running: its wait aborts NCCL (header)
  try {
    if (local_failure_.empty()) local_failure_ = posted.empty() ? "a rank failed" : posted;
  } catch (...) {
  }
  abort_nccl_locked();
}

void NcclComm::abort_nccl_locked() noexcept {
  if (comm_ == nullptr) return;
  // Frees this rank's NCCL kernels that wait for a peer, and (other processes) tells the peers
  // through NCCL's own connections.
  (void)ncclCommAbort(comm_);
  comm_ = nullptr;
}

void NcclComm::post_and_abort_locked(const std::string& message) noexcept {
  try {
    const std::string mine = "rank " + std::to_string(rank_) + " failed: " + message;
    failures_->post(mine);
    if (local_failure_.empty()) local_failure_ = mine;
  } catch (...) {
    failures_->post("");
  }
  abort_nccl_locked();
}

std::string NcclComm::group_failure() {
  std::string failure = failures_->poll();
  return failure.empty() ? local_failure_ : failure;
}

void NcclComm::stop_for(const std::string& failure) {
  if (local_failure_.empty()) local_failure_ = failure;
  abort_nccl_locked();
  throw Error(ErrorCode::comm, failure);
}

void NcclComm::fail_comm(const std::string& message) {
  post_and_abort_locked(message);
  throw Error(ErrorCode::comm, group_failure());  // the group's first failure, maybe another rank's
}

void NcclComm::fail_nccl_call(const char* call, ncclResult_t result) {
  const std::string message = std::string(what_) + ": " + call + " failed: " + nccl_error_text(result);
  post_and_abort_locked(message);
  throw Error(ErrorCode::nccl, message);  // this rank's own error, as the failing rank sees it
}

// --- one collective and its waits ---

void NcclComm::collective(const char* what, const std::function<void()>& body) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string failure = group_failure();
  if (!failure.empty()) stop_for(failure);
  if (comm_ == nullptr) stop_for("rank " + std::to_string(rank_) + " failed: its NCCL communicator was aborted");
  what_ = what;
  deadline_ = deadline_after(timeout_seconds_);
  try {
    CudaDeviceGuard device(device_);
    body();
  } catch (const std::exception& e) {
    // This rank's own error (the failure paths above have already posted theirs): the others
    // wait for it in NCCL, so the group fails with it.
    if (comm_ != nullptr) post_and_abort_locked(e.what());
    throw;
  }
}

void NcclComm::poll_until(const std::function<bool(ncclResult_t state)>& done) {
  auto next_failure_poll = Clock::now();
  for (int64_t spins = 0;; ++spins) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t got = ncclCommGetAsyncError(comm_, &state);
    if (got != ncclSuccess) fail_nccl_call("ncclCommGetAsyncError", got);
    if (state != ncclSuccess && state != ncclInProgress)
      fail_comm(std::string(what_) + ": NCCL error: " + nccl_error_text(state));
    if (done(state)) return;
    // The failure channel may be a round trip to rank 0's store (launched ranks): at most once a
    // millisecond, as its contract asks (failure_channel.h).
    if (const auto now = Clock::now(); now >= next_failure_poll) {
      const std::string failure = failures_->poll();
      if (!failure.empty()) stop_for(failure);
      next_failure_poll = now + kFailurePollInterval;
    }
    if (Clock::now() >= deadline_)
      fail_comm(std::string(what_) + " timed out after " + seconds_text(timeout_seconds_) +
                " s waiting for the other ranks");
    pause(spins);
  }
}

void NcclComm::enqueued(const char* call, ncclResult_t result) {
  if (result == ncclSuccess) return;
  if (result != ncclInProgress) fail_nccl_call(call, result);
  poll_until([](ncclResult_t state) { return state == ncclSuccess; });
}

void NcclComm::wait_stream(cudaStream_t stream) {
  DETNN_CUDA_CHECK(cudaEventRecord(done_, stream));
  wait_event(done_);
}

void NcclComm::wait_event(cudaEvent_t event) {
  poll_until([event](ncclResult_t) {
    const cudaError_t e = cudaEventQuery(event);
    if (e == cudaErrorNotReady) {
      (void)cudaGetLastError();  // not an error: keep it from the next launch check
      return false;
    }
    DETNN_CUDA_CHECK(e);
    return true;
  });
}

void* NcclComm::ensure(Scratch& scratch, size_t bytes) {
  if (bytes <= scratch.bytes) return scratch.ptr;
  // The outgrown block is kept until the destructor, not freed here: in a process that drives
  // several GPUs, cudaFree may wait for the peer GPUs, whose NCCL kernels can be waiting for this
  // rank's next launch — a deadlock no deadline of ours would end (NVIDIA/nccl#744). Scratch grows
  // rarely (whole MiB, only above every earlier size), so the kept blocks stay few.
  if (scratch.ptr != nullptr) {
    retired_.push_back(scratch.ptr);
    scratch = {};
  }
  constexpr size_t kGranule = size_t{1} << 20;  // whole MiB: fewer regrowths for nearby sizes
  const size_t rounded = (bytes + kGranule - 1) / kGranule * kGranule;
  DETNN_CUDA_CHECK(cudaMalloc(&scratch.ptr, rounded));
  scratch.bytes = rounded;
  return scratch.ptr;
}

}  // namespace detnn
