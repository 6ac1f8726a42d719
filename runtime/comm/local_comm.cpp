#include "runtime/comm/local_comm.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "runtime/comm/rank_sum.h"
#include "runtime/error.h"

namespace detnn {

LocalCommGroup::LocalCommGroup(int ranks, double timeout_seconds) : timeout_seconds_(timeout_seconds) {
  DETNN_CHECK(ranks >= 1, invalid_argument, "LocalCommGroup: ranks must be >= 1, got ", ranks);
  DETNN_CHECK(std::isfinite(timeout_seconds) && timeout_seconds > 0, invalid_argument,
              "LocalCommGroup: the timeout must be a positive number of seconds, got ", timeout_seconds);
  present_.assign(ranks, 0);
  buffers_.assign(ranks, nullptr);
  sizes_.assign(ranks, 0);
  for (int r = 0; r < ranks; ++r) comms_.push_back(std::make_unique<LocalComm>(*this, r));
}

LocalCommGroup::~LocalCommGroup() = default;

Comm& LocalCommGroup::comm(int rank) {
  DETNN_CHECK(rank >= 0 && rank < size(), invalid_argument, "LocalCommGroup: rank ", rank, " is not in [0, ",
              size(), ")");
  return *comms_[rank];
}

void LocalCommGroup::abort(int rank, const std::string& message) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.empty()) failure_ = "rank " + std::to_string(rank) + " failed: " + message;
  } catch (...) {
    // Out of memory for the message: the group must still stop.
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.empty()) failure_ = "a rank failed";
  }
  arrived_cv_.notify_all();
}

std::string LocalCommGroup::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void LocalCommGroup::throw_failure() const { throw Error(ErrorCode::comm, failure_); }

void LocalCommGroup::rendezvous(int rank, const char* what, bool post, void* buffer, int64_t size) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!failure_.empty()) throw_failure();
  if (arrived_ == 0) {
    op_ = what;
  } else if (op_ != what) {
    failure_ = "rank " + std::to_string(rank) + " called " + what + " while another rank called " + op_ +
               " (every rank must make the same collective calls in the same order)";
    arrived_cv_.notify_all();
    throw_failure();
  }
  if (post) {
    buffers_[rank] = buffer;
    sizes_[rank] = size;
  }
  present_[rank] = 1;
  const uint64_t my_generation = generation_;
  if (++arrived_ == this->size()) {
    if (post) {
      for (int r = 1; r < this->size(); ++r)
        if (sizes_[r] != sizes_[0] && failure_.empty())
          failure_ = std::string(what) + ": rank 0 passed " + std::to_string(sizes_[0]) + " elements but rank " +
                     std::to_string(r) + " passed " + std::to_string(sizes_[r]);
    }
    arrived_ = 0;
    std::fill(present_.begin(), present_.end(), 0);
    ++generation_;
    arrived_cv_.notify_all();
    if (!failure_.empty()) throw_failure();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds_);
  const bool woke = arrived_cv_.wait_until(lock, deadline,
                                           [&] { return generation_ != my_generation || !failure_.empty(); });
  if (!failure_.empty()) throw_failure();
  if (woke) return;
  std::string missing;
  for (int r = 0; r < this->size(); ++r)
    if (!present_[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", timeout_seconds_);
  failure_ = "rank " + std::to_string(rank) + " failed: " + what + " timed out after " + seconds +
             " s waiting for rank(s) " + missing;
  arrived_cv_.notify_all();
  throw_failure();
}

std::vector<void*> LocalComm::posted() const {
  std::lock_guard<std::mutex> lock(group_.mutex_);
  return group_.buffers_;
}

void LocalComm::all_reduce_pairwise(float* data, int64_t count) {
  DETNN_CHECK(count >= 0 && (data != nullptr || count == 0), invalid_argument, "all_reduce_pairwise: ", count,
              " elements at ", static_cast<void*>(data));
  if (size() == 1) return;
  if (all_reduce_algorithm() == AllReduceAlgorithm::all_to_all) {
    all_reduce_by_slices(data, count);
    return;
  }
  // Every rank must agree on the count before the schedules (functions of it) are trusted.
  group_.rendezvous(rank_, "all_reduce_pairwise", true, data, count);
  all_reduce_pairwise_by(AllReduceAlgorithm::recursive_halving, *this, data, count, scratch_);
  group_.rendezvous(rank_, "all_reduce_pairwise", false, nullptr, 0);
}

void LocalComm::all_reduce_by_slices(float* data, int64_t count) {
  const int p = size();
  group_.rendezvous(rank_, "all_reduce_pairwise", true, data, count);
  const std::vector<void*> raw = posted();
  std::vector<const float*> in(p);
  for (int r = 0; r < p; ++r) in[r] = static_cast<const float*>(raw[r]);
  // Slice r of the elements, computed once into this rank's buffer, then copied to the others.
  const int64_t per = (count + p - 1) / p;
  const int64_t begin = std::min(count, per * rank_), end = std::min(count, begin + per);
  pairwise_sum_over_ranks(in.data(), p, begin, end, data);
  for (int r = 0; r < p; ++r)
    if (r != rank_) std::memcpy(static_cast<float*>(raw[r]) + begin, data + begin, sizeof(float) * (end - begin));
  group_.rendezvous(rank_, "all_reduce_pairwise", false, nullptr, 0);
}

void LocalComm::exchange(const std::vector<Message>& sends, const std::vector<Message>& receives) {
  // The posted "buffer" is this rank's list of sends; sizes are per rank, so none is compared.
  group_.rendezvous(rank_, "all_reduce_pairwise round", true, const_cast<std::vector<Message>*>(&sends), 0);
  const std::vector<void*> raw = posted();
  for (const Message& in : receives) {
    const auto& theirs = *static_cast<const std::vector<Message>*>(raw[in.peer]);
    const auto sent = std::find_if(theirs.begin(), theirs.end(), [&](const Message& m) { return m.peer == rank_; });
    if (sent == theirs.end() || sent->count != in.count) {
      // Schedules are functions of the count every rank checked at the first rendezvous: a bug.
      const std::string why = "all_reduce_pairwise: rank " + std::to_string(rank_) + " expects " +
                              std::to_string(in.count) + " floats from rank " + std::to_string(in.peer) +
                              ", which sends " + std::to_string(sent == theirs.end() ? 0 : sent->count);
      group_.abort(rank_, why);
      DETNN_THROW(internal, why);
    }
    std::memcpy(in.data, sent->data, sizeof(float) * static_cast<size_t>(in.count));
  }
  group_.rendezvous(rank_, "all_reduce_pairwise round", false, nullptr, 0);
}

void LocalComm::all_gather(float* data, const std::vector<ElementRange>& owned) {
  group_.rendezvous(rank_, "all_reduce_pairwise gather", true, data, 0);
  const std::vector<void*> raw = posted();
  for (int q = 0; q < size(); ++q)
    if (q != rank_ && !owned[q].empty())
      std::memcpy(data + owned[q].begin, static_cast<const float*>(raw[q]) + owned[q].begin,
                  sizeof(float) * static_cast<size_t>(owned[q].size()));
  group_.rendezvous(rank_, "all_reduce_pairwise gather", false, nullptr, 0);
}

void LocalComm::all_reduce_sum(int64_t* data, int64_t count) {
  DETNN_CHECK(count >= 0 && (data != nullptr || count == 0), invalid_argument, "all_reduce_sum: ", count,
              " elements at ", static_cast<void*>(data));
  const int p = size();
  if (p == 1) return;
  group_.rendezvous(rank_, "all_reduce_sum", true, data, count);
  const std::vector<void*> raw = posted();
  // Small (counts and flags): every rank sums everything into a private copy, written back only
  // after the "done" rendezvous, when nobody reads this rank's buffer any more.
  std::vector<int64_t> sum(static_cast<size_t>(count), 0);
  for (int r = 0; r < p; ++r) {
    const int64_t* v = static_cast<const int64_t*>(raw[r]);
    for (int64_t i = 0; i < count; ++i) sum[i] += v[i];
  }
  group_.rendezvous(rank_, "all_reduce_sum", false, nullptr, 0);
  std::copy(sum.begin(), sum.end(), data);
}

void LocalComm::broadcast(void* data, int64_t bytes) {
  DETNN_CHECK(bytes >= 0 && (data != nullptr || bytes == 0), invalid_argument, "broadcast: ", bytes, " bytes at ",
              data);
  if (size() == 1) return;
  group_.rendezvous(rank_, "broadcast", true, data, bytes);
  const std::vector<void*> raw = posted();
  if (rank_ != 0 && bytes > 0) std::memcpy(data, raw[0], static_cast<size_t>(bytes));
  group_.rendezvous(rank_, "broadcast", false, nullptr, 0);
}

void LocalComm::barrier() {
  if (size() == 1) return;
  group_.rendezvous(rank_, "barrier", false, nullptr, 0);
}

}  // namespace detnn
