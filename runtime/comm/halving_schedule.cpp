#include "runtime/comm/halving_schedule.h"

#include <algorithm>

#include "runtime/error.h"

namespace detnn {

namespace {

// A cut level: every element right rank s owns goes to the left rank that owns it. The left
// block is whole, so its owners' ranges partition [0, count); sorted by begin, each right range
// meets a run of consecutive ones.
void send_right_block_to_left_owners(std::vector<ElementRange>& owned, int64_t left_begin, int64_t right_begin,
                                     int64_t right_end, int rank, HalvingLevel& level) {
  std::vector<int> left_owners;
  for (int64_t l = left_begin; l < right_begin; ++l)
    if (!owned[l].empty()) left_owners.push_back(static_cast<int>(l));
  std::sort(left_owners.begin(), left_owners.end(), [&](int a, int b) { return owned[a].begin < owned[b].begin; });
  for (int64_t s = right_begin; s < right_end; ++s) {
    const ElementRange theirs = owned[s];
    if (theirs.empty()) continue;
    auto it = std::partition_point(left_owners.begin(), left_owners.end(),
                                   [&](int l) { return owned[l].end <= theirs.begin; });
    for (; it != left_owners.end() && owned[*it].begin < theirs.end; ++it) {
      const ElementRange both{std::max(theirs.begin, owned[*it].begin), std::min(theirs.end, owned[*it].end)};
      if (rank == s) level.sends.push_back({*it, both});
      if (rank == *it) level.receives.push_back({static_cast<int>(s), both});
    }
    owned[s] = {};
  }
  if (rank >= right_begin && rank < right_end) level.mine_is_left = false;
}

// A level of two whole blocks: rank left_begin + i and its partner right_begin + i own the same
// range; the left one keeps the first half.
void swap_halves(std::vector<ElementRange>& owned, int64_t left_begin, int64_t half, int rank, HalvingLevel& level) {
  for (int64_t i = 0; i < half; ++i) {
    const int l = static_cast<int>(left_begin + i), s = static_cast<int>(left_begin + half + i);
    const ElementRange both = owned[l];
    const int64_t mid = both.begin + (both.size() + 1) / 2;
    const ElementRange first{both.begin, mid}, second{mid, both.end};
    if (rank == l) {
      if (!second.empty()) level.sends.push_back({s, second});
      if (!first.empty()) level.receives.push_back({s, first});
    } else if (rank == s) {
      if (!first.empty()) level.sends.push_back({l, first});
      if (!second.empty()) level.receives.push_back({l, second});
      level.mine_is_left = false;
    }
    owned[l] = first;
    owned[s] = second;
  }
}

}  // namespace

HalvingSchedule recursive_halving_schedule(int ranks, int rank, int64_t count) {
  DETNN_CHECK(ranks >= 1 && rank >= 0 && rank < ranks && count >= 0, invalid_argument,
              "recursive_halving_schedule: rank ", rank, " of ", ranks, ", ", count, " elements");
  HalvingSchedule schedule;
  std::vector<ElementRange> owned(static_cast<size_t>(ranks), ElementRange{0, count});
  for (int64_t half = 1; half < ranks; half *= 2) {
    HalvingLevel level;
    for (int64_t left = 0; left + half < ranks; left += 2 * half) {
      const int64_t right = left + half, right_end = std::min<int64_t>(left + 2 * half, ranks);
      if (right_end - right == half) swap_halves(owned, left, half, rank, level);
      else send_right_block_to_left_owners(owned, left, right, right_end, rank, level);
    }
    schedule.levels.push_back(std::move(level));
  }
  schedule.owned = std::move(owned);
  return schedule;
}

const HalvingSchedule& HalvingSchedules::get(int ranks, int rank, int64_t count) {
  if (ranks != ranks_ || rank != rank_ || by_count_.size() >= kMaxCounts) {
    by_count_.clear();
    ranks_ = ranks;
    rank_ = rank;
  }
  auto it = by_count_.find(count);
  if (it == by_count_.end()) it = by_count_.emplace(count, recursive_halving_schedule(ranks, rank, count)).first;
  return it->second;
}

}  // namespace detnn
