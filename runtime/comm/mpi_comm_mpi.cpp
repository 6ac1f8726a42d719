// MpiComm and its group (runtime/comm/mpi_comm.h).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <deque>
#include <set>
#include <cstdio>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "runtime/comm/failure_channel.h"
#include "runtime/comm/float_messenger.h"
#include "runtime/comm/launched_group.h"
#include "runtime/comm/mpi_comm.h"
#include "runtime/comm/mpi_runtime.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace detnn {

namespace {

constexpr int kDataTag = 1, kFailureTag = 2, kQueryTag = 3, kAnswerTag = 4;

int as_int(int64_t n, const char* what) {
  DETNN_CHECK(n >= 0 && n <= INT_MAX, invalid_argument, what, ": ", n, " elements; MPI counts stop at ", INT_MAX);
  return static_cast<int>(n);
}

bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

// A duplicate of MPI_COMM_WORLD whose failures come back as codes (detnn turns them into errors
// naming the call), so that detnn's messages never match a program's own; freed unless MPI is
// finalized already.
class OwnCommunicator {
 public:
  OwnCommunicator() {
    std::lock_guard<std::mutex> lock(mpi_lock());
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  }
  ~OwnCommunicator() {
    std::lock_guard<std::mutex> lock(mpi_lock());
    if (!mpi_finalized()) MPI_Comm_free(&comm_);
  }
  OwnCommunicator(const OwnCommunicator&) = delete;
  OwnCommunicator& operator=(const OwnCommunicator&) = delete;
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// The group's first failure over a communicator of its own: post sends the message to every
// rank; poll receives one when it has arrived. Shared by MpiComm and, for CUDA ranks, NcclComm.
class MpiFailureChannel final : public FailureChannel {
 public:
  MpiFailureChannel(int rank, int size) : rank_(rank), size_(size) {}
  ~MpiFailureChannel() override {
    std::lock_guard<std::mutex> lock(mpi_lock());
    if (mpi_finalized()) return;
    // Messages to ranks that stopped before reading them stay unmatched: MPI drops them.
    for (MPI_Request& r : sends_) MPI_Request_free(&r);
  }

  // Records `message` as the group's failure (unless it has one) and sends it to every rank.
  void post(const std::string& message) noexcept override {
    try {
      std::lock_guard<std::mutex> lock(mpi_lock());
      note_mpi_failure();
      receive_locked();
      // A failure that came from another rank was sent to every rank by that rank.
      if (!failure_.empty()) return;
      failure_ = message.empty() ? "a rank failed" : message;
      // Short enough for MPI's eager protocol: the send completes without the receiver, so the
      // requests freed by the destructor never read a buffer that is gone.
      text_ = failure_.substr(0, 1024);
      for (int q = 0; q < size_; ++q) {
        if (q == rank_) continue;
        sends_.emplace_back();
        MPI_Isend(text_.data(), static_cast<int>(text_.size()), MPI_CHAR, q, kFailureTag, comm_.get(), &sends_.back());
      }
    } catch (...) {
      // Out of memory: this rank still stops; the others time out.
    }
  }

  std::string poll() override {
    std::lock_guard<std::mutex> lock(mpi_lock());
    receive_locked();
    return failure_;
  }

  // Who is where, when a collective times out: a waiting rank answers every query with the
  // number of the collective it waits in (answer_queries, from its polling loop); a rank that
  // timed out asks every rank (ranks_elsewhere) and names those that do not answer with its own
  // number within `grace_seconds` — still computing, stuck, or in another collective.
  void answer_queries(uint64_t collective) {
    std::lock_guard<std::mutex> lock(mpi_lock());
    for (;;) {
      int arrived = 0;
      MPI_Status status;
      if (MPI_Iprobe(MPI_ANY_SOURCE, kQueryTag, comm_.get(), &arrived, &status) != MPI_SUCCESS || !arrived) return;
      uint64_t theirs = 0;
      MPI_Recv(&theirs, 1, MPI_UINT64_T, status.MPI_SOURCE, kQueryTag, comm_.get(), MPI_STATUS_IGNORE);
      send_locked(status.MPI_SOURCE, kAnswerTag, collective);
    }
  }

  std::vector<int> ranks_elsewhere(uint64_t collective, double grace_seconds) {
    {
      std::lock_guard<std::mutex> lock(mpi_lock());
      for (int q = 0; q < size_; ++q)
        if (q != rank_) send_locked(q, kQueryTag, collective);
    }
    std::vector<char> here(static_cast<size_t>(size_), 0);
    here[rank_] = 1;
    int answered = 1;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                            std::chrono::duration<double>(grace_seconds));
    while (answered < size_ && std::chrono::steady_clock::now() < end && poll().empty()) {
      answer_queries(collective);  // the other ranks that timed out are asking too
      std::lock_guard<std::mutex> lock(mpi_lock());
      int arrived = 0;
      MPI_Status status;
      if (MPI_Iprobe(MPI_ANY_SOURCE, kAnswerTag, comm_.get(), &arrived, &status) != MPI_SUCCESS || !arrived) continue;
      uint64_t theirs = 0;
      MPI_Recv(&theirs, 1, MPI_UINT64_T, status.MPI_SOURCE, kAnswerTag, comm_.get(), MPI_STATUS_IGNORE);
      if (theirs == collective && !here[status.MPI_SOURCE]) {
        here[status.MPI_SOURCE] = 1;
        ++answered;
      }
    }
    std::vector<int> elsewhere;
    for (int q = 0; q < size_; ++q)
      if (!here[q]) elsewhere.push_back(q);
    return elsewhere;
  }

 private:
  // A small message whose buffer lives as long as the channel.
  void send_locked(int to, int tag, uint64_t value) {
    numbers_.push_back(value);
    sends_.emplace_back();
    MPI_Isend(&numbers_.back(), 1, MPI_UINT64_T, to, tag, comm_.get(), &sends_.back());
  }

  void receive_locked() {
    if (!failure_.empty()) return;
    int arrived = 0;
    MPI_Status status;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kFailureTag, comm_.get(), &arrived, &status) != MPI_SUCCESS || !arrived) return;
    int length = 0;
    MPI_Get_count(&status, MPI_CHAR, &length);
    std::string text(static_cast<size_t>(std::max(length, 0)), '\0');
    MPI_Recv(text.data(), length, MPI_CHAR, status.MPI_SOURCE, kFailureTag, comm_.get(), MPI_STATUS_IGNORE);
    failure_ = text.empty() ? "rank " + std::to_string(status.MPI_SOURCE) + " failed" : text;
    note_mpi_failure();
  }

  const int rank_, size_;
  OwnCommunicator comm_;
  std::string failure_, text_;
  std::vector<MPI_Request> sends_;
  std::deque<uint64_t> numbers_;  // the buffers of the queries and answers in flight (stable addresses)
};

class MpiComm final : public Comm, private FloatMessenger {
 public:
  MpiComm(int rank, int size, double timeout_seconds, std::shared_ptr<MpiFailureChannel> failures)
      : rank_(rank), size_(size), timeout_seconds_(timeout_seconds), failures_(std::move(failures)) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_pairwise(float* data, int64_t count) override {
    DETNN_CHECK(count >= 0 && (data != nullptr || count == 0), invalid_argument, "all_reduce_pairwise: ", count,
                " elements at ", static_cast<void*>(data));
    if (size_ == 1) return;
    begin("all_reduce_pairwise");
    agree_on_count(count);
    all_reduce_pairwise_by(all_reduce_algorithm(), *this, data, count, scratch_);
  }

  void all_reduce_sum(int64_t* data, int64_t count) override {
    DETNN_CHECK(count >= 0 && (data != nullptr || count == 0), invalid_argument, "all_reduce_sum: ", count,
                " elements at ", static_cast<void*>(data));
    if (size_ == 1) return;
    begin("all_reduce_sum");
    agree_on_count(count);
    const int n = as_int(count, what_);
    MPI_Request r;
    issue("MPI_Iallreduce", [&] { return MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_INT64_T, MPI_SUM, data_.get(), &r); });
    wait({r});
  }

  void broadcast(void* data, int64_t bytes) override {
    DETNN_CHECK(bytes >= 0 && (data != nullptr || bytes == 0), invalid_argument, "broadcast: ", bytes, " bytes at ",
                data);
    if (size_ == 1) return;
    begin("broadcast");
    agree_on_count(bytes);
    for (int64_t at = 0; at < bytes; at += INT_MAX) {
      const int n = static_cast<int>(std::min<int64_t>(INT_MAX, bytes - at));
      MPI_Request r;
      issue("MPI_Ibcast", [&] { return MPI_Ibcast(static_cast<char*>(data) + at, n, MPI_BYTE, 0, data_.get(), &r); });
      wait({r});
    }
  }

  void barrier() override {
    if (size_ == 1) return;
    begin("barrier");
    MPI_Request r;
    issue("MPI_Ibarrier", [&] { return MPI_Ibarrier(data_.get(), &r); });
    wait({r});
  }

  void abort(const std::string& message) noexcept override {
    try {
      post_failure("rank " + std::to_string(rank_) + " failed: " + message);
    } catch (...) {
      post_failure("a rank failed");  // out of memory for the message: the group must still stop
    }
  }

  // In place: block r of `blocks` (`block` bytes each) becomes rank r's, bounded like every wait.
  void all_gather_bytes(char* blocks, int block) {
    begin("joining the MPI group");
    MPI_Request r;
    issue("MPI_Iallgather",
          [&] { return MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, blocks, block, MPI_CHAR, data_.get(), &r); });
    wait({r});
  }

  std::string failure() { return failures_->poll(); }

 private:
  // --- FloatMessenger over MPI ---
  void exchange(const std::vector<Message>& sends, const std::vector<Message>& receives) override {
    std::vector<MPI_Request> requests(receives.size() + sends.size(), MPI_REQUEST_NULL);
    size_t next = 0;
    for (const Message& m : receives) {
      const int n = as_int(m.count, what_);
      MPI_Request* r = &requests[next++];
      issue("MPI_Irecv", [&] { return MPI_Irecv(m.data, n, MPI_FLOAT, m.peer, kDataTag, data_.get(), r); }, &requests);
    }
    for (const Message& m : sends) {
      const int n = as_int(m.count, what_);
      MPI_Request* r = &requests[next++];
      issue("MPI_Isend", [&] { return MPI_Isend(m.data, n, MPI_FLOAT, m.peer, kDataTag, data_.get(), r); }, &requests);
    }
    wait(std::move(requests));
  }

  void all_gather(float* data, const std::vector<ElementRange>& owned) override {
    std::vector<int> counts(size_), displacements(size_);
    for (int q = 0; q < size_; ++q) {
      counts[q] = as_int(owned[q].size(), what_);
      displacements[q] = as_int(owned[q].empty() ? 0 : owned[q].begin, what_);
    }
    MPI_Request r;
    issue("MPI_Iallgatherv", [&] {
      return MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displacements.data(), MPI_FLOAT,
                             data_.get(), &r);
    });
    wait({r});
  }

  // --- one collective ---
  // A collective starts by throwing the group's failure, if it has one.
  void begin(const char* what) {
    what_ = what;
    ++collective_;
    const std::string f = failure();
    if (!f.empty()) throw Error(ErrorCode::comm, f);
  }

  // Every rank passed the same count, or the group fails naming the spread: the schedules are
  // functions of the count, and mismatched ones would wait for messages nobody sends.
  // The all-reduce pattern too: ranks with different DETNN_ALL_REDUCE would exchange messages
  // of different sizes. Once per collective, count and pattern: a training step repeats the same
  // calls every step, and the check is one more latency-bound collective.
  void agree_on_count(int64_t count) {
    const int64_t pattern = static_cast<int64_t>(all_reduce_algorithm());
    const std::tuple<std::string, int64_t, int64_t> call{what_, count, pattern};
    if (agreed_.count(call) != 0) return;
    int64_t bounds[4] = {count, -count, pattern, -pattern};
    MPI_Request r;
    issue("MPI_Iallreduce", [&] { return MPI_Iallreduce(MPI_IN_PLACE, bounds, 4, MPI_INT64_T, MPI_MAX, data_.get(), &r); });
    wait({r});
    std::string why;
    if (bounds[0] != count || -bounds[1] != count)
      why = "the ranks passed " + std::to_string(-bounds[1]) + " to " + std::to_string(bounds[0]) +
            " elements (every rank must pass the same count); this rank passed " + std::to_string(count);
    else if (bounds[2] != pattern || -bounds[3] != pattern)
      why = std::string("the ranks use different all-reduce patterns (DETNN_ALL_REDUCE must be the same on every "
                        "rank); this rank uses ") +
            all_reduce_algorithm_name(all_reduce_algorithm());
    if (why.empty()) {
      if (agreed_.size() >= kMaxAgreedCalls) agreed_.clear();
      agreed_.insert(call);
      return;
    }
    const std::string message = "rank " + std::to_string(rank_) + " failed: " + what_ + ": " + why;
    post_failure(message);
    throw Error(ErrorCode::comm, message);
  }

  // An MPI call under the lock; a failing one fails the group (after abandoning `pending`, the
  // requests started before it).
  template <class Call>
  void issue(const char* mpi_call, const Call& call, std::vector<MPI_Request>* pending = nullptr) {
    int rc;
    {
      std::lock_guard<std::mutex> lock(mpi_lock());
      rc = call();
    }
    if (rc == MPI_SUCCESS) return;
    if (pending != nullptr) abandon(*pending);
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    {
      std::lock_guard<std::mutex> lock(mpi_lock());
      MPI_Error_string(rc, text, &length);
    }
    const std::string message =
        "rank " + std::to_string(rank_) + " failed: " + what_ + ": " + mpi_call + " failed: " + text;
    post_failure(message);
    throw Error(ErrorCode::comm, message);
  }

  // Polls `requests` to completion, watching for another rank's failure and the deadline, and
  // answering the other ranks' "where are you" after a timeout of theirs.
  void wait(std::vector<MPI_Request> requests) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(timeout_seconds_));
    for (int polls = 0;; ++polls) {
      int rc = MPI_SUCCESS;
      {
        std::lock_guard<std::mutex> lock(mpi_lock());
        int done = 0;
        rc = MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
        if (rc == MPI_SUCCESS && done) return;
      }
      failures_->answer_queries(collective_);
      std::string failed = failures_->poll();
      if (failed.empty() && rc != MPI_SUCCESS)
        failed = "rank " + std::to_string(rank_) + " failed: " + what_ + ": MPI_Testall failed";
      if (failed.empty() && std::chrono::steady_clock::now() > deadline) failed = timeout_message();
      if (!failed.empty()) {
        abandon(requests);
        post_failure(failed);
        throw Error(ErrorCode::comm, failed);
      }
      // The first millisecond or so yields (a round trip inside a machine takes microseconds),
      // then sleeps so that a rank waiting for a slow peer leaves the cores to the compute.
      if (polls < 1000) std::this_thread::yield();
      else std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  // Names the ranks that are not waiting in this collective (MpiFailureChannel::ranks_elsewhere):
  // a rank this one waits for may itself be waiting for the one that never came.
  std::string timeout_message() {
    const std::vector<int> elsewhere = failures_->ranks_elsewhere(collective_, std::min(1.0, timeout_seconds_));
    if (const std::string f = failures_->poll(); !f.empty()) return f;  // another rank's, meanwhile
    std::string missing;
    for (const int q : elsewhere) missing += (missing.empty() ? "" : ", ") + std::to_string(q);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout_seconds_);
    return "rank " + std::to_string(rank_) + " failed: " + what_ + " timed out after " + seconds +
           " s waiting for rank(s) " + (missing.empty() ? "that answered late" : missing);
  }

  // Requests that will never complete: receives are cancelled, sends left to MPI.
  void abandon(std::vector<MPI_Request>& requests) noexcept {
    std::lock_guard<std::mutex> lock(mpi_lock());
    for (MPI_Request& r : requests) {
      if (r == MPI_REQUEST_NULL) continue;
      MPI_Cancel(&r);
      MPI_Request_free(&r);
    }
  }

  void post_failure(const std::string& message) noexcept { failures_->post(message); }

  const int rank_, size_;
  const double timeout_seconds_;
  const std::shared_ptr<MpiFailureChannel> failures_;
  OwnCommunicator data_;
  uint64_t collective_ = 0;  // the collectives begun: the same number on every rank in the same one
  const char* what_ = "";
  AllReduceScratch scratch_;
  // The (collective, count, pattern) every rank has agreed on (agree_on_count); identical on every
  // rank, since each entry is added by all of them at once.
  static constexpr size_t kMaxAgreedCalls = 256;
  std::set<std::tuple<std::string, int64_t, int64_t>> agreed_;
};

class MpiGroup final : public CommGroup {
 public:
  MpiGroup(const LaunchEnvironment& env, bool cuda, double timeout_seconds) {
    try {
      join(env, cuda, timeout_seconds);
    } catch (...) {
      // The other ranks may wait in a collective of the join this rank never enters: its
      // MPI_Finalize must be bounded, and its exit then ends the job.
      note_mpi_failure();
      throw;
    }
  }

  int size() const override { return mpi_->size(); }
  int first_local_rank() const override { return first_; }
  int local_ranks() const override { return 1; }
  Comm& comm(int rank) override {
    DETNN_CHECK(rank == first_, invalid_argument, "this process drives rank ", first_, " of the MPI job, not rank ",
                rank);
    return nccl_ ? *nccl_ : static_cast<Comm&>(*mpi_);
  }
  std::string device_of(int rank) const override { return rank >= 0 && rank < size() ? devices_[rank] : ""; }
  std::vector<std::string> hosts() const override { return hosts_; }
  void abort(int rank, const std::string& message) noexcept override {
    if (nccl_) nccl_->abort(message);
    else mpi_->abort(message);
  }
  std::string failure() const override { return failures_->poll(); }

 private:
  void join(const LaunchEnvironment& env, bool cuda, double timeout_seconds) {
    start_mpi();
    int rank = 0, size = 0;
    {
      std::lock_guard<std::mutex> lock(mpi_lock());
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
    DETNN_CHECK(rank == env.rank && size == env.world_size, comm, "MPI numbers this process rank ", rank, " of ", size,
                " but the launch environment (", env.launcher, ") says rank ", env.rank, " of ", env.world_size);
    first_ = rank;
    failures_ = std::make_shared<MpiFailureChannel>(rank, size);
    mpi_ = std::make_unique<MpiComm>(rank, size, timeout_seconds, failures_);
    int gpu = -1;
    if (cuda) {
      // GPU LOCAL_RANK, modulo the GPUs visible when the launcher shows each process fewer.
      const int visible = cuda_device_count();
      DETNN_CHECK(visible > 0, unsupported, "launched rank ", rank, ": no CUDA device is visible to this process");
      gpu = env.local_rank % visible;
    }
    exchange_placements(cuda, gpu);
    if (cuda) {
      // NCCL's id from rank 0, by a bounded MPI broadcast; then NCCL moves the bytes, and failures
      // travel on the MPI channel.
      NcclUniqueId id{};
      if (rank == 0) id = new_nccl_unique_id();
      mpi_->broadcast(id.data(), static_cast<int64_t>(id.size()));
      nccl_ = join_nccl_with_id(id, rank, size, gpu, failures_, timeout_seconds);
    }
  }

  // Every rank's host and device, for the run manifest and the one-rank-per-GPU check: one
  // fixed-size all-gather of "host\ndevice\nGPU id" (every rank checks alike, so every rank
  // stops with the same error).
  void exchange_placements(bool cuda, int gpu) {
    constexpr int kBlock = 512;
    const int p = mpi_->size();
    std::vector<char> blocks(static_cast<size_t>(p) * kBlock, '\0');
    const std::string mine = this_host_name().substr(0, 255) + "\n" +
                             (cuda ? "cuda:" + std::to_string(gpu) + "\n" + host_wide_gpu_id(gpu).substr(0, 200)
                                   : std::string("cpu\n"));
    mine.copy(&blocks[static_cast<size_t>(first_) * kBlock], kBlock - 1);
    mpi_->all_gather_bytes(blocks.data(), kBlock);
    std::vector<std::string> gpu_ids(p);
    for (int r = 0; r < p; ++r) {
      const std::string theirs(&blocks[static_cast<size_t>(r) * kBlock]);
      const size_t a = theirs.find('\n'), b = theirs.find('\n', a + 1);
      hosts_.push_back(theirs.substr(0, a));
      const std::string device = theirs.substr(a + 1, b - a - 1);
      gpu_ids[r] = b == std::string::npos ? "" : theirs.substr(b + 1);
      devices_.push_back(device == "cpu" ? "" : device);
      if ((device == "cpu") == cuda) fail("it trains on " + std::string(cuda ? "CUDA" : "the CPU") + " but rank " +
                                          std::to_string(r) + " on " + device +
                                          " (every rank of a launched run must use the same kind of device)");
    }
    if (const std::string twice = duplicate_gpu_claim(hosts_, gpu_ids); !twice.empty()) fail(twice);
  }

  [[noreturn]] void fail(const std::string& why) {
    const std::string message = "rank " + std::to_string(first_) + " failed: " + why;
    failures_->post(message);
    throw Error(ErrorCode::comm, message);
  }

  int first_ = 0;
  std::shared_ptr<MpiFailureChannel> failures_;
  std::unique_ptr<MpiComm> mpi_;   // the CPU ranks' collectives; the CUDA ranks' bootstrap
  std::unique_ptr<Comm> nccl_;     // CUDA ranks
  std::vector<std::string> hosts_, devices_;
};

}  // namespace

bool mpi_comm_available() { return true; }

std::unique_ptr<CommGroup> join_mpi_group(const LaunchEnvironment& env, bool cuda, double timeout_seconds) {
  return std::make_unique<MpiGroup>(env, cuda, timeout_seconds);
}

}  // namespace detnn
