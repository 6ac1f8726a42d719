// NcclComm's collectives (runtime/comm/nccl_comm.h): the deterministic all-reduce on device
// memory — by recursive halving (grouped send/receive per level, detnn's left + right), or by the
// all-to-all (grouped send/receive to the slice owners, detnn's rank-order sum, all-gather) — NCCL's
// own all-reduce beside it, and the host-memory collectives staged through device scratch. One
// rank goes the whole way too (its sum is a copy through NCCL), so that a machine with one GPU
// runs every step.
#include <algorithm>

#include "runtime/comm/nccl_comm.h"
#include "runtime/comm/rank_sum_cuda.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"

namespace detnn {

namespace {

// Rank q owns elements [q * chunk, q * chunk + slice_length(count, chunk, q)); empty when count < P.
int64_t slice_length(int64_t count, int64_t chunk, int q) { return std::clamp<int64_t>(count - q * chunk, 0, chunk); }

// Rounds of the all-to-all per NCCL group (2 operations each): well under NCCL's limit on the
// operations of one group, whatever P.
constexpr int kRoundsPerGroup = 512;

void check_data(const void* data, int64_t count, const char* what) {
  DETNN_CHECK(count >= 0 && (data != nullptr || count == 0), invalid_argument, what, ": ", count, " elements at ",
              data);
}

}  // namespace

void NcclComm::check_device_pointer(const void* data, int64_t count, const char* what) const {
  if (count == 0) return;
  cudaPointerAttributes a{};
  DETNN_CUDA_CHECK(cudaPointerGetAttributes(&a, data));
  DETNN_CHECK((a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged) && a.device == device_,
              invalid_argument, what, ": ", data, " is not device memory of cuda:", device_, " (rank ", rank_,
              "'s device)");
}

// --- device memory ---

void NcclComm::all_reduce_pairwise_device(float* data, int64_t count, uintptr_t stream) {
  collective("all_reduce_pairwise_device", [&] {
    check_data(data, count, "all_reduce_pairwise_device");
    check_device_pointer(data, count, "all_reduce_pairwise_device");
    pairwise_on_stream(data, count, reinterpret_cast<cudaStream_t>(stream));
  });
}

void NcclComm::all_reduce_unordered_device(float* data, int64_t count, uintptr_t stream) {
  collective("all_reduce_unordered_device", [&] {
    check_data(data, count, "all_reduce_unordered_device");
    check_device_pointer(data, count, "all_reduce_unordered_device");
    if (count == 0) return;
    const auto s = reinterpret_cast<cudaStream_t>(stream);
    enqueued("ncclAllReduce",
             ncclAllReduce(data, data, static_cast<size_t>(count), ncclFloat, ncclSum, comm_, s));
    wait_stream(s);
  });
}

void NcclComm::pairwise_on_stream(float* data, int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  after_queued_buckets(stream);
  enqueue_pairwise(data, count, stream, true);
  wait_stream(stream);
}

void* NcclComm::scratch(Scratch& s, size_t bytes, bool may_grow) {
  DETNN_CHECK(may_grow || bytes <= s.bytes, internal, what_, ": a gradient bucket needs ", bytes,
              " bytes of scratch but reserve_buckets left ", s.bytes);
  return ensure(s, bytes);
}

void NcclComm::enqueue_pairwise(float* data, int64_t count, cudaStream_t stream, bool may_grow) {
  if (all_reduce_algorithm() == AllReduceAlgorithm::all_to_all) enqueue_all_to_all(data, count, stream, may_grow);
  else enqueue_recursive_halving(data, count, stream, may_grow);
}

void NcclComm::enqueue_recursive_halving(float* data, int64_t count, cudaStream_t stream, bool may_grow) {
  if (size_ == 1) return;
  const HalvingSchedule& schedule = schedules_.get(size_, rank_, count);
  // Received partials land at their element index. The rows scratch holds P padded slices of
  // ceil(count / P) floats, which is at least count: reserve_buckets sized it for both patterns.
  const int64_t chunk = (count + size_ - 1) / size_, row_stride = (chunk + 3) / 4 * 4;
  auto* received = static_cast<float*>(
      scratch(rows_, static_cast<size_t>(std::max<int64_t>(count, size_ * row_stride)) * sizeof(float), may_grow));
  for (const HalvingLevel& level : schedule.levels) {
    grouped_transfers(data, level.sends, received, level.receives, stream);
    for (const RangeTransfer& t : level.receives) {
      float* mine = data + t.range.begin;
      const float* theirs = received + t.range.begin;
      if (level.mine_is_left) add_left_right_cuda(mine, theirs, mine, t.range.size(), stream);
      else add_left_right_cuda(theirs, mine, mine, t.range.size(), stream);
    }
  }
  // The all-gather: each level backwards, every rank sending the reduced ranges it received and
  // receiving the ones it sent (disjoint ranges of the data: in place).
  for (auto level = schedule.levels.rbegin(); level != schedule.levels.rend(); ++level)
    grouped_transfers(data, level->receives, data, level->sends, stream);
}

void NcclComm::in_group(const std::function<void(const NoteCall&)>& issue) {
  ncclResult_t error = ncclSuccess;
  const char* failed = "";
  const NoteCall note = [&](const char* call, ncclResult_t res) {
    if (res != ncclSuccess && res != ncclInProgress && error == ncclSuccess) {
      error = res;
      failed = call;
    }
  };
  const ncclResult_t start = ncclGroupStart();
  if (start != ncclSuccess) fail_nccl_call("ncclGroupStart", start);
  // The open group is this thread's NCCL state: it is closed before anything propagates.
  try {
    issue(note);
  } catch (...) {
    (void)ncclGroupEnd();
    throw;
  }
  const ncclResult_t end = ncclGroupEnd();
  if (error != ncclSuccess) fail_nccl_call(failed, error);
  enqueued("ncclGroupEnd", end);
}

void NcclComm::grouped_transfers(const float* data, const std::vector<RangeTransfer>& sends, float* into,
                                 const std::vector<RangeTransfer>& receives, cudaStream_t stream) {
  if (sends.empty() && receives.empty()) return;
  in_group([&](const NoteCall& note) {
    for (const RangeTransfer& t : sends)
      note("ncclSend",
           ncclSend(data + t.range.begin, static_cast<size_t>(t.range.size()), ncclFloat, t.peer, comm_, stream));
    for (const RangeTransfer& t : receives)
      note("ncclRecv",
           ncclRecv(into + t.range.begin, static_cast<size_t>(t.range.size()), ncclFloat, t.peer, comm_, stream));
  });
}

void NcclComm::enqueue_all_to_all(float* data, int64_t count, cudaStream_t stream, bool may_grow) {
  const int p = size_, r = rank_;
  const int64_t chunk = (count + p - 1) / p;
  const int64_t mine = slice_length(count, chunk, r);
  // Rows padded to whole 16-byte lines, so that the rank sum reads every row by float4.
  const int64_t row_stride = (chunk + 3) / 4 * 4;
  auto* rows = static_cast<float*>(scratch(rows_, static_cast<size_t>(p) * row_stride * sizeof(float), may_grow));
  // The gather is in place when the P slices tile the data exactly (sendbuff = recvbuff +
  // rank * chunk, NCCL's in-place all-gather); otherwise through P padded slices.
  const bool in_place = count == p * chunk;
  float* gathered =
      in_place ? data
               : static_cast<float*>(scratch(gather_, static_cast<size_t>(p) * chunk * sizeof(float), may_grow));

  // 1. Reduce-scatter: this rank's own slice into its row, every other slice to its owner.
  if (mine > 0)
    DETNN_CUDA_CHECK(cudaMemcpyAsync(rows + r * row_stride, data + r * chunk, mine * sizeof(float),
                                     cudaMemcpyDeviceToDevice, stream));
  send_slices_to_owners(data, count, chunk, rows, row_stride, stream);
  // 2. The rank-order sum of slice r. In place, it overwrites data's slice r, which nobody reads
  // any more: the sends above took the other slices, row r holds this rank's own copy.
  if (mine > 0) rank_sum_cuda(rows, p, row_stride, mine, gathered + r * chunk, stream);
  // 3. All-gather the P reduced slices (padding included: it is never copied back).
  enqueued("ncclAllGather", ncclAllGather(gathered + r * chunk, gathered, static_cast<size_t>(chunk), ncclFloat,
                                          comm_, stream));
  if (!in_place)
    DETNN_CUDA_CHECK(cudaMemcpyAsync(data, gathered, count * sizeof(float), cudaMemcpyDeviceToDevice, stream));
}

// --- gradient buckets ---

void NcclComm::reserve_buckets(int64_t largest_count) {
  collective("reserve_buckets", [&] {
    DETNN_CHECK(largest_count >= 0, invalid_argument, "reserve_buckets: ", largest_count, " elements");
    if (largest_count <= reserved_bucket_ && all_reduce_algorithm() == reserved_algorithm_) return;
    // A new reservation (the first step, or a larger bucket): every rank must agree.
    agree_on(largest_count);
    // Nothing is queued on the bucket stream here (finish_buckets drained it), so the scratch may
    // move. The sizes are those enqueue_pairwise asks for a bucket of largest_count elements:
    // the rows (halving's received partials too), and the all-to-all's padded gather.
    const int64_t p = size_, chunk = (largest_count + p - 1) / p, row_stride = (chunk + 3) / 4 * 4;
    ensure(rows_, static_cast<size_t>(std::max(p * row_stride, largest_count)) * sizeof(float));
    if (all_reduce_algorithm() == AllReduceAlgorithm::all_to_all)
      ensure(gather_, static_cast<size_t>(p) * chunk * sizeof(float));
    reserved_bucket_ = std::max(reserved_bucket_, largest_count);
    reserved_algorithm_ = all_reduce_algorithm();
  });
}

void NcclComm::all_reduce_pairwise_device_async(float* data, int64_t count, uintptr_t stream) {
  collective("all_reduce_pairwise_device_async", [&] {
    check_data(data, count, "all_reduce_pairwise_device_async");
    check_device_pointer(data, count, "all_reduce_pairwise_device_async");
    if (count == 0) return;
    DETNN_CHECK(count <= reserved_bucket_, invalid_argument, "all_reduce_pairwise_device_async: a bucket of ", count,
                " elements, larger than reserve_buckets's ", reserved_bucket_);
    // At most kQueuedBuckets in flight: the oldest must end before another is queued.
    if (queued_.size() >= kQueuedBuckets) {
      wait_event(queued_.front());
      spare_events_.push_back(queued_.front());
      queued_.erase(queued_.begin());
    }
    // The bucket's gradient is final once the caller's work so far is done: the communication
    // stream waits for that, not the host.
    DETNN_CUDA_CHECK(cudaEventRecord(ready_, reinterpret_cast<cudaStream_t>(stream)));
    DETNN_CUDA_CHECK(cudaStreamWaitEvent(buckets_.get(), ready_, 0));
    enqueue_pairwise(data, count, buckets_.get(), false);
    if (spare_events_.empty()) {
      cudaEvent_t e = nullptr;
      DETNN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      spare_events_.push_back(e);
    }
    DETNN_CUDA_CHECK(cudaEventRecord(spare_events_.back(), buckets_.get()));
    queued_.push_back(spare_events_.back());
    spare_events_.pop_back();
  });
}

void NcclComm::finish_buckets(uintptr_t stream) {
  collective("finish_buckets", [&] {
    // Bounded: a peer that never sends leaves the bucket stream pending, and the wait fails the
    // group like every collective's.
    wait_stream(buckets_.get());
    spare_events_.insert(spare_events_.end(), queued_.begin(), queued_.end());
    queued_.clear();
    DETNN_CUDA_CHECK(cudaEventRecord(ready_, buckets_.get()));
    DETNN_CUDA_CHECK(cudaStreamWaitEvent(reinterpret_cast<cudaStream_t>(stream), ready_, 0));
  });
}

void NcclComm::after_queued_buckets(cudaStream_t stream) {
  if (queued_.empty()) return;
  DETNN_CUDA_CHECK(cudaEventRecord(ready_, buckets_.get()));
  DETNN_CUDA_CHECK(cudaStreamWaitEvent(stream, ready_, 0));
}

void NcclComm::agree_on(int64_t count) {
  if (size_ == 1) return;
  const int64_t pattern = static_cast<int64_t>(all_reduce_algorithm());
  int64_t values[4] = {count, -count, pattern, -pattern};
  auto* staged = static_cast<int64_t*>(ensure(staging_, sizeof values));
  const cudaStream_t s = internal_.get();
  DETNN_CUDA_CHECK(cudaMemcpyAsync(staged, values, sizeof values, cudaMemcpyHostToDevice, s));
  enqueued("ncclAllReduce", ncclAllReduce(staged, staged, 4, ncclInt64, ncclMax, comm_, s));
  wait_stream(s);
  DETNN_CUDA_CHECK(cudaMemcpyAsync(values, staged, sizeof values, cudaMemcpyDeviceToHost, s));
  DETNN_CUDA_CHECK(cudaStreamSynchronize(s));
  if (values[0] != count || -values[1] != count)
    fail_comm(std::string(what_) + ": the ranks passed " + std::to_string(-values[1]) + " to " +
              std::to_string(values[0]) + " elements (every rank must pass the same); this rank passed " +
              std::to_string(count));
  if (values[2] != pattern || -values[3] != pattern)
    fail_comm(std::string(what_) + ": the ranks use different all-reduce patterns (DETNN_ALL_REDUCE must be the same "
                                   "on every rank); this rank uses " +
              all_reduce_algorithm_name(all_reduce_algorithm()));
}

void NcclComm::send_slices_to_owners(const float* data, int64_t count, int64_t chunk, float* rows,
                                     int64_t row_stride, cudaStream_t stream) {
  const int p = size_, r = rank_;
  const int64_t mine = slice_length(count, chunk, r);
  // Round d pairs rank r with rank r+d (it sends slice r+d there) and rank r-d (it receives that
  // rank's copy of slice r into row r-d). A peer takes part in the same round from its side, so
  // every batch of rounds is matched by the same batch on every rank. Sizes are functions of
  // (count, P) alone: both sides skip an empty slice alike.
  for (int first = 1; first < p; first += kRoundsPerGroup) {
    const int last = std::min(p, first + kRoundsPerGroup);
    in_group([&](const NoteCall& note) {
      for (int d = first; d < last; ++d) {
        const int to = (r + d) % p, from = (r - d + p) % p;
        const int64_t theirs = slice_length(count, chunk, to);
        if (theirs > 0)
          note("ncclSend", ncclSend(data + to * chunk, static_cast<size_t>(theirs), ncclFloat, to, comm_, stream));
        if (mine > 0)
          note("ncclRecv",
               ncclRecv(rows + from * row_stride, static_cast<size_t>(mine), ncclFloat, from, comm_, stream));
      }
    });
  }
}

// --- host memory, staged through device scratch on the internal stream ---

void NcclComm::all_reduce_pairwise(float* data, int64_t count) {
  collective("all_reduce_pairwise", [&] {
    check_data(data, count, "all_reduce_pairwise");
    if (count == 0) return;
    const size_t bytes = static_cast<size_t>(count) * sizeof(float);
    auto* staged = static_cast<float*>(ensure(staging_, bytes));
    const cudaStream_t s = internal_.get();
    DETNN_CUDA_CHECK(cudaMemcpyAsync(staged, data, bytes, cudaMemcpyHostToDevice, s));
    pairwise_on_stream(staged, count, s);
    // The stream is idle but for this copy: the synchronize cannot wait on a peer.
    DETNN_CUDA_CHECK(cudaMemcpyAsync(data, staged, bytes, cudaMemcpyDeviceToHost, s));
    DETNN_CUDA_CHECK(cudaStreamSynchronize(s));
  });
}

void NcclComm::all_reduce_sum(int64_t* data, int64_t count) {
  collective("all_reduce_sum", [&] {
    check_data(data, count, "all_reduce_sum");
    if (count == 0) return;
    const size_t bytes = static_cast<size_t>(count) * sizeof(int64_t);
    auto* staged = static_cast<int64_t*>(ensure(staging_, bytes));
    const cudaStream_t s = internal_.get();
    DETNN_CUDA_CHECK(cudaMemcpyAsync(staged, data, bytes, cudaMemcpyHostToDevice, s));
    enqueued("ncclAllReduce", ncclAllReduce(staged, staged, static_cast<size_t>(count), ncclInt64, ncclSum, comm_, s));
    wait_stream(s);
    DETNN_CUDA_CHECK(cudaMemcpyAsync(data, staged, bytes, cudaMemcpyDeviceToHost, s));
    DETNN_CUDA_CHECK(cudaStreamSynchronize(s));
  });
}

void NcclComm::broadcast(void* data, int64_t bytes) {
  collective("broadcast", [&] {
    DETNN_CHECK(bytes >= 0 && (data != nullptr || bytes == 0), invalid_argument, "broadcast: ", bytes,
                " bytes at ", data);
    if (bytes == 0) return;
    void* staged = ensure(staging_, static_cast<size_t>(bytes));
    const cudaStream_t s = internal_.get();
    if (rank_ == 0) DETNN_CUDA_CHECK(cudaMemcpyAsync(staged, data, bytes, cudaMemcpyHostToDevice, s));
    enqueued("ncclBroadcast", ncclBroadcast(staged, staged, static_cast<size_t>(bytes), ncclUint8, 0, comm_, s));
    wait_stream(s);
    if (rank_ != 0) {
      DETNN_CUDA_CHECK(cudaMemcpyAsync(data, staged, bytes, cudaMemcpyDeviceToHost, s));
      DETNN_CUDA_CHECK(cudaStreamSynchronize(s));
    }
  });
}

void NcclComm::barrier() {
  collective("barrier", [&] {
    // An all-reduce of one integer completes only once every rank has contributed.
    void* flag = ensure(staging_, sizeof(int32_t));
    const cudaStream_t s = internal_.get();
    DETNN_CUDA_CHECK(cudaMemsetAsync(flag, 0, sizeof(int32_t), s));
    enqueued("ncclAllReduce", ncclAllReduce(flag, flag, 1, ncclInt32, ncclSum, comm_, s));
    wait_stream(s);
  });
}

}  // namespace detnn
