// LocalComm: P ranks as threads of one process sharing memory (DESIGN §6) — CPU ranks, or
// several ranks sharing one GPU — so multi-rank training runs and is tested without several
// GPUs. A LocalCommGroup is created once; each rank's thread uses comm(r).
//
// Every collective is rendezvous of all ranks: "post" (each rank publishes its buffer) and
// "done" (nobody reads another rank's buffer any more). The float all-reduce by all-to-all is one
// such pair: between them rank r computes slice r of the elements — reading that slice from
// every rank's buffer and writing the result into every rank's buffer — so no element is touched
// by two threads and the work is spread over the ranks. By recursive halving it is the
// point-to-point algorithm of runtime/comm/float_messenger.h, each round of messages a pair of
// rendezvous in which the receivers copy from the senders' posted buffers. Which thread computes
// an element never changes its value (runtime/comm/rank_sum.h).
//
// Waits are bounded by the group's timeout (default 300 s); see Comm for the failure contract.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/comm/comm_group.h"
#include "runtime/comm/float_messenger.h"

namespace detnn {

class LocalComm;

class LocalCommGroup final : public CommGroup {
 public:
  static constexpr double kDefaultTimeoutSeconds = 300.0;

  // ranks >= 1; timeout_seconds > 0 bounds every wait of every collective.
  explicit LocalCommGroup(int ranks, double timeout_seconds = kDefaultTimeoutSeconds);
  ~LocalCommGroup();
  LocalCommGroup(const LocalCommGroup&) = delete;
  LocalCommGroup& operator=(const LocalCommGroup&) = delete;

  int size() const override { return static_cast<int>(comms_.size()); }
  double timeout_seconds() const { return timeout_seconds_; }
  // Rank r's communicator (owned by the group; use it from one thread at a time).
  Comm& comm(int rank) override;

  // Records the group's first failure ("rank r failed: message") and wakes every waiting rank.
  void abort(int rank, const std::string& message) noexcept override;
  // The first failure's message, "" while the group is healthy.
  std::string failure() const override;

 private:
  friend class LocalComm;
  // One rendezvous of all ranks. `buffer` (posts only) is published in buffers_[rank]; `what`
  // names the collective for timeout and mismatch messages. Throws Error(comm) on failure.
  void rendezvous(int rank, const char* what, bool post, void* buffer, int64_t size);
  [[noreturn]] void throw_failure() const;

  double timeout_seconds_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_cv_;
  uint64_t generation_ = 0;        // completed rendezvous
  int arrived_ = 0;                // ranks waiting in the current one
  std::vector<char> present_;      // which ranks are in the current one (timeout messages)
  std::vector<void*> buffers_;     // published by the last post
  std::vector<int64_t> sizes_;     // the sizes the ranks passed to the last post
  std::string op_;                 // what the first arriver of the current rendezvous called
  std::string failure_;
  std::vector<std::unique_ptr<LocalComm>> comms_;
};

class LocalComm final : public Comm, private FloatMessenger {
 public:
  LocalComm(LocalCommGroup& group, int rank) : group_(group), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return group_.size(); }
  // DETNN_ALL_REDUCE / set_all_reduce_algorithm pick the message pattern; the bits are the same.
  // Unset: the all-to-all, which reads the other ranks' buffers in place (recursive halving
  // copies every message and meets all ranks twice per level, several times slower on threads).
  void all_reduce_pairwise(float* data, int64_t count) override;
  void all_reduce_sum(int64_t* data, int64_t count) override;
  void broadcast(void* data, int64_t bytes) override;
  void barrier() override;
  void abort(const std::string& message) noexcept override { group_.abort(rank_, message); }

 protected:
  AllReduceAlgorithm preferred_all_reduce_algorithm() const override { return AllReduceAlgorithm::all_to_all; }

 private:
  // The buffers every rank posted (read between post and done only).
  std::vector<void*> posted() const;
  void all_reduce_by_slices(float* data, int64_t count);
  // FloatMessenger through shared memory: a round posts this rank's sends, copies each receive
  // from the sender's posted message to this rank, and ends when every rank has copied.
  void exchange(const std::vector<Message>& sends, const std::vector<Message>& receives) override;
  void all_gather(float* data, const std::vector<ElementRange>& owned) override;

  AllReduceScratch scratch_;
  LocalCommGroup& group_;
  int rank_;
};

}  // namespace detnn
