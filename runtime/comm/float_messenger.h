// The deterministic all-reduce over point-to-point messages (DESIGN §6), written once for every
// transport that moves host memory: a FloatMessenger moves float buffers between the ranks of a
// group (LocalComm through shared memory, MpiComm through MPI), and the two algorithms below
// decide what moves and add in the contract's order. The sums are detnn's own (left + right, one
// IEEE addition each), never the transport's, so the bits equal one rank's whatever carries them.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/comm/all_reduce_algorithm.h"
#include "runtime/comm/halving_schedule.h"

namespace detnn {

class FloatMessenger {
 public:
  struct Message {
    int peer = 0;
    float* data = nullptr;  // a send reads `count` floats here, a receive writes them
    int64_t count = 0;
  };
  virtual ~FloatMessenger() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // One round of messages: returns when every receive has arrived and every send buffer may be
  // reused. At most one send and one receive per peer per round; the peer makes the matching
  // call in the same round with the same count. Failures throw Error(comm) (runtime/comm/comm.h).
  virtual void exchange(const std::vector<Message>& sends, const std::vector<Message>& receives) = 0;
  // In place: data[owned[q]] becomes rank q's values of it, for every q (owned ranges disjoint).
  virtual void all_gather(float* data, const std::vector<ElementRange>& owned) = 0;
};

// What a communicator keeps from one all-reduce to the next: buffers that only grow, and the
// schedules of the counts it has met.
struct AllReduceScratch {
  std::vector<float> floats;
  HalvingSchedules schedules;
};

// In place on every rank: data[i] = the pairwise rank-order combine of every rank's data[i].
void all_reduce_pairwise_by(AllReduceAlgorithm algorithm, FloatMessenger& messenger, float* data, int64_t count,
                            AllReduceScratch& scratch);

}  // namespace detnn
