// NcclComm: one rank per GPU over NCCL (DESIGN §6). NCCL only moves bytes; every float sum is
// detnn's own kernel in the pairwise rank order, so the bits equal LocalComm's (runtime/comm/comm.h,
// runtime/comm/rank_sum.h) whatever the topology or the algorithms NCCL picks.
//
// The deterministic all-reduce of `count` floats on P ranks (all_reduce_pairwise_device), ordered
// on the caller's stream, by one of two message patterns (runtime/comm/all_reduce_algorithm.h;
// set_all_reduce_algorithm or DETNN_ALL_REDUCE), the same bits either way:
//
// Recursive halving (the default; runtime/comm/halving_schedule.h): ceil(log2 P) levels, each one
// NCCL group of sends and receives between partners at distance 1, 2, 4, … into a scratch buffer
// indexed like the data, then add_left_right_cuda (runtime/comm/rank_sum_cuda.h) adds what
// arrived to this rank's partial, left operand first; then the all-gather runs the levels
// backwards, sends and receives swapped, straight between the data buffers. 2·log2 P groups.
//
// All-to-all: slice s of the elements is [s*chunk, min((s+1)*chunk, count)),
// chunk = ceil(count / P), and rank r owns slice r.
//   1. reduce-scatter: rank r copies its own slice r into row r of a [P, chunk] device scratch and,
//      in grouped ncclSend/ncclRecv (an all-to-all), sends its slice q to rank q and receives rank
//      q's copy of slice r into row q, for every q != r;
//   2. runtime/comm/rank_sum_cuda.h combines the P rows in rank order into the reduced slice r;
//   3. ncclAllGather of the P reduced slices (in place on the data when P divides count, else
//      through a padded [P, chunk] buffer and a copy back).
// Each rank sends and receives (P-1)/P of the data in step 1 and again in step 3: the bytes of a
// ring all-reduce, but P-1 messages per rank, and across nodes nearly all of them on the
// inter-node links (docs/scaling.md). Empty slices (count < P) are skipped on both sides, which
// agree on every size. One rank runs the same steps (its sum is a copy through NCCL), so one GPU
// tests the whole path; recursive halving has no level at P = 1.
//
// Communicators are non-blocking (ncclConfig_t::blocking = 0) so that every wait is a bounded
// polling loop: the collective's stream (an event), NCCL's asynchronous error, the group's
// FailureChannel and the deadline (timeout_seconds). On another rank's failure, an NCCL error or
// the deadline, the rank aborts its NCCL communicator (freeing its kernels that wait for a dead
// peer), posts the failure and throws Error(comm) — the contract of runtime/comm/comm.h. After
// that every collective throws the group's failure. Like every Comm, the collectives must be
// called by all ranks in the same order with the same sizes; NCCL cannot tell a mismatch, so one
// shows as a timeout (or as wrong sizes moved), not as a message naming both calls.
//
// Any thread may call; the communicator sets its device for the scope of every call and restores
// the caller's. Collectives on one communicator run one at a time (a lock). A collective returns
// only once every rank has joined it, so the ranks of one process need a thread each. CUDA builds only: in a
// CPU build this header declares only NcclUniqueId.
#pragma once

#include <array>

namespace detnn {

// ncclUniqueId's bytes: rank 0 makes one (NcclComm::new_unique_id) and the launcher hands it to
// every rank through its own channel (an environment variable, a file, a store).
using NcclUniqueId = std::array<char, 128>;

}  // namespace detnn

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/comm/comm.h"
#include "runtime/comm/failure_channel.h"
#include "runtime/comm/halving_schedule.h"
#include "runtime/stream.h"

namespace detnn {

class NcclComm final : public Comm {
 public:
  static constexpr double kDefaultTimeoutSeconds = 300.0;

  // One process driving the GPUs `devices` (distinct CUDA ordinals): rank r on devices[r]. All the
  // communicators share `failures`. Throws Error(invalid_argument) for bad devices, Error(nccl)
  // when NCCL fails and Error(comm) when initialization outlives the timeout.
  static std::vector<std::unique_ptr<NcclComm>> create_local(const std::vector<int>& devices,
                                                             std::shared_ptr<FailureChannel> failures,
                                                             double timeout_seconds = kDefaultTimeoutSeconds);
  // One process per GPU (mpirun, torchrun): rank 0 makes the id, every rank joins with it.
  static NcclUniqueId new_unique_id();
  static std::unique_ptr<NcclComm> join(const NcclUniqueId& id, int rank, int size, int device,
                                        std::shared_ptr<FailureChannel> failures,
                                        double timeout_seconds = kDefaultTimeoutSeconds);

  // Finalizes the NCCL communicator with a bounded wait (aborts it if that fails); never hangs.
  ~NcclComm() override;
  // Starts the finalize without waiting for it. NCCL's finalize is an intra-node collective: it
  // ends once every rank has started its own, so a process driving several ranks starts each
  // one's before it destroys any (NcclGroup's destructor). Never throws.
  void start_finalize() noexcept;
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int device() const { return device_; }
  double timeout_seconds() const { return timeout_seconds_; }

  // Host memory, staged through device scratch on this communicator's own stream.
  void all_reduce_pairwise(float* data, int64_t count) override;
  void all_reduce_sum(int64_t* data, int64_t count) override;  // ncclInt64 sum: exact
  void broadcast(void* data, int64_t bytes) override;
  void barrier() override;
  // Posts "rank r failed: message" to the group's FailureChannel. NCCL forbids ncclCommAbort while
  // another thread is inside an NCCL call on the communicator, so it aborts the NCCL communicator
  // here only when no collective is running; a running one sees the failure within a millisecond
  // and aborts it itself, as every other rank's does.
  void abort(const std::string& message) noexcept override;

  bool takes_device_memory() const override { return true; }
  // `count` floats of this rank's device memory, in place, ordered on `stream` (a cudaStream_t of
  // this device; 0 is the legacy default stream): the deterministic all-reduce above. Returns when
  // the result is in `data`.
  void all_reduce_pairwise_device(float* data, int64_t count, uintptr_t stream) override;
  // ncclAllReduce's sum: NCCL's own order, which depends on P, the topology and the algorithm it
  // picks — for determinism "off" and for the benchmark beside the deterministic one.
  void all_reduce_unordered_device(float* data, int64_t count, uintptr_t stream) override;

  // Gradient buckets (runtime/comm/comm.h): each bucket's deterministic all-reduce is enqueued on
  // this communicator's communication stream after an event recorded on the caller's `stream`
  // (no host wait), so it overlaps the caller's later work; finish_buckets makes `stream` wait
  // for the communication stream and waits, bounded like every collective, for it to drain.
  // reserve_buckets sizes the scratch for the largest bucket while nothing is queued: a bucket
  // never reallocates memory that queued buckets use.
  void reserve_buckets(int64_t largest_count) override;
  void all_reduce_pairwise_device_async(float* data, int64_t count, uintptr_t stream) override;
  void finish_buckets(uintptr_t stream) override;

 private:
  using Clock = std::chrono::steady_clock;
  // Device memory that only grows; freed by the destructor.
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };

  NcclComm(ncclComm_t comm, int rank, int size, int device, std::shared_ptr<FailureChannel> failures,
           double timeout_seconds);

  // --- one collective (nccl_comm_cuda.cpp) ---
  // Runs `body` as collective `what`: under the lock, on this device, with one deadline for all
  // its waits. A group failure posted before it starts is thrown at once; an exception of this
  // rank's own (CUDA, NCCL, arguments) posts "rank r failed: ..." and aborts the NCCL communicator
  // before it propagates, so that the other ranks stop too.
  void collective(const char* what, const std::function<void()>& body);
  // After an NCCL call: returns once NCCL has enqueued the work on its stream (ncclInProgress is
  // polled until the communicator is ready again; nothing may be launched on the stream before).
  void enqueued(const char* call, ncclResult_t result);
  // Returns when the work enqueued on `stream` so far has completed.
  void wait_stream(cudaStream_t stream);
  // Returns when `event` has completed (bounded like every wait).
  void wait_event(cudaEvent_t event);
  // A synchronous collective on `stream` while buckets are queued comes after them: they share
  // the scratch.
  void after_queued_buckets(cudaStream_t stream);
  // Fails the group unless every rank passed the same `count` and uses the same all-reduce
  // pattern: ranks that disagree would exchange messages of different sizes.
  void agree_on(int64_t count);
  // The bounded polling loop of every wait: returns when done(state) is true, state being the
  // communicator's asynchronous state; fails on an NCCL error, the group's failure or the deadline.
  void poll_until(const std::function<bool(ncclResult_t state)>& done);
  [[noreturn]] void fail_nccl_call(const char* call, ncclResult_t result);
  [[noreturn]] void fail_comm(const std::string& message);  // this rank's timeout or async error
  [[noreturn]] void stop_for(const std::string& failure);   // another rank's (or an earlier) failure
  void post_and_abort_locked(const std::string& message) noexcept;
  void abort_nccl_locked() noexcept;
  void start_finalize_locked() noexcept;
  std::string group_failure();
  void* ensure(Scratch& scratch, size_t bytes);

  // --- the algorithms (nccl_all_reduce_cuda.cpp) ---
  void pairwise_on_stream(float* data, int64_t count, cudaStream_t stream);
  // The three steps of the deterministic all-reduce, enqueued on `stream` without waiting. With
  // may_grow false (buckets) the scratch must already be large enough.
  void enqueue_pairwise(float* data, int64_t count, cudaStream_t stream, bool may_grow);
  void enqueue_all_to_all(float* data, int64_t count, cudaStream_t stream, bool may_grow);
  void enqueue_recursive_halving(float* data, int64_t count, cudaStream_t stream, bool may_grow);
  // One NCCL group: `issue` makes the calls, reporting each result to the NoteCall it is given
  // (it must not throw while the group is open); the first failed call throws after ncclGroupEnd.
  using NoteCall = std::function<void(const char* call, ncclResult_t result)>;
  void in_group(const std::function<void(const NoteCall&)>& issue);
  // One NCCL group: data + range of every send to its peer, every receive from its peer into
  // into + range.begin.
  void grouped_transfers(const float* data, const std::vector<RangeTransfer>& sends, float* into,
                         const std::vector<RangeTransfer>& receives, cudaStream_t stream);
  void* scratch(Scratch& s, size_t bytes, bool may_grow);
  void send_slices_to_owners(const float* data, int64_t count, int64_t chunk, float* rows, int64_t row_stride,
                             cudaStream_t stream);
  void check_device_pointer(const void* data, int64_t count, const char* what) const;

  ncclComm_t comm_;  // null once aborted or destroyed
  const int rank_, size_, device_;
  const std::shared_ptr<FailureChannel> failures_;
  const double timeout_seconds_;
  std::mutex mutex_;         // one collective at a time; held for its whole length
  const char* what_ = "";    // the running collective (messages)
  Clock::time_point deadline_;
  std::string local_failure_;  // this rank's own record of the failure that stopped it
  CudaStream internal_;        // the host-memory collectives' stream
  CudaStream buckets_;         // the gradient buckets' communication stream
  cudaEvent_t done_ = nullptr;
  cudaEvent_t ready_ = nullptr;  // orders a bucket after the caller's work (and back)
  // The buckets queued since the last finish_buckets, one event each (their end on the bucket
  // stream), and spare events: at most kQueuedBuckets are queued at once, so that a stalled peer
  // never fills CUDA's launch queue (a launch blocked there is outside every bounded wait).
  static constexpr size_t kQueuedBuckets = 16;
  std::vector<cudaEvent_t> queued_, spare_events_;
  int64_t reserved_bucket_ = 0;  // the largest bucket the scratch holds
  AllReduceAlgorithm reserved_algorithm_ = AllReduceAlgorithm::recursive_halving;  // ... by this pattern
  Scratch rows_, gather_, staging_;
  HalvingSchedules schedules_;     // recursive halving's, by count (the buckets repeat every step)
  std::vector<void*> retired_;     // outgrown scratch blocks, freed by the destructor (see ensure)
  bool finalize_started_ = false;  // ncclCommFinalize has been called
};

}  // namespace detnn
#endif
