// The recursive-halving schedule of the deterministic all-reduce (DESIGN §6): which element
// ranges rank r sends, receives and adds at each step so that every element ends up as the
// pairwise rank-order combine of the P ranks' values (runtime/comm/comm.h) — the bits of the
// all-to-all and of one rank — with log2 P steps and the bandwidth of a ring.
//
// The pairwise rule over the ranks is the binary tree of aligned rank blocks: level k combines
// block [j·2^k, j·2^k + 2^(k-1)) (left, always whole) with the next 2^(k-1) ranks (right, cut at
// P; an empty right block is the odd carry). At level 0 every rank holds all `count` elements
// of its own value. A level where both blocks are whole pairs rank i of the left block with rank
// i of the right one (partners at distance 2^(k-1)); the two own the same range of the partial
// sums, split it in halves, swap halves and add left + right — the left rank keeps the first
// half (one element more when the length is odd). A level whose right block is cut (P not a
// power of two) sends every element the right block owns to the left rank that owns it; the left
// ranks add, the right ones own nothing from then on. After the last level the owners hold
// disjoint ranges covering [0, count): the reduce-scatter. The all-gather runs the levels
// backwards with sends and receives swapped, or is any all-gather of the owned ranges.
//
// A function of (P, rank, count) alone: every rank computes its part of the same schedule, so
// the sizes of every matching send and receive agree without a message.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace detnn {

struct ElementRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
};

struct RangeTransfer {
  int peer = 0;
  ElementRange range;
};

// One level of the reduce-scatter as rank r takes part in it. Empty when r's block is carried.
struct HalvingLevel {
  std::vector<RangeTransfer> sends;     // data[range] of r's partial sum goes to peer
  std::vector<RangeTransfer> receives;  // peer's partial sum of data[range]; r adds it
  bool mine_is_left = true;             // r's partial is the left operand of every addition here
};

struct HalvingSchedule {
  std::vector<HalvingLevel> levels;  // ceil(log2 P) levels, in order
  std::vector<ElementRange> owned;   // every rank's range of the reduced result (empty: none)
};

// ranks >= 1, 0 <= rank < ranks, count >= 0. Throws Error(invalid_argument) otherwise.
HalvingSchedule recursive_halving_schedule(int ranks, int rank, int64_t count);

// One communicator's schedules, kept by count: a training step all-reduces the same bucket sizes
// every step, and a schedule costs O(P log P) allocations and work to compute. Holds at most
// kMaxCounts counts (forgets them all past that, for callers whose counts keep changing).
class HalvingSchedules {
 public:
  static constexpr size_t kMaxCounts = 64;
  const HalvingSchedule& get(int ranks, int rank, int64_t count);

 private:
  int ranks_ = 0, rank_ = -1;
  std::unordered_map<int64_t, HalvingSchedule> by_count_;
};

}  // namespace detnn
