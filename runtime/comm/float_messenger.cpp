#include "runtime/comm/float_messenger.h"

#include <algorithm>

#include "runtime/comm/rank_sum.h"

namespace detnn {

namespace {

float* grown(std::vector<float>& scratch, int64_t floats) {
  if (static_cast<int64_t>(scratch.size()) < floats) scratch.resize(static_cast<size_t>(floats));
  return scratch.data();
}

// Reduce-scatter by halving (runtime/comm/halving_schedule.h), then the owners' ranges to all.
void by_recursive_halving(FloatMessenger& m, float* data, int64_t count, AllReduceScratch& scratch) {
  const HalvingSchedule& schedule = scratch.schedules.get(m.size(), m.rank(), count);
  // Received partials land at their element index, so no two receives of a level overlap.
  float* received = grown(scratch.floats, count);
  std::vector<FloatMessenger::Message> sends, receives;
  for (const HalvingLevel& level : schedule.levels) {
    sends.clear();
    receives.clear();
    for (const RangeTransfer& t : level.sends) sends.push_back({t.peer, data + t.range.begin, t.range.size()});
    for (const RangeTransfer& t : level.receives)
      receives.push_back({t.peer, received + t.range.begin, t.range.size()});
    m.exchange(sends, receives);
    for (const RangeTransfer& t : level.receives) {
      float* mine = data + t.range.begin;
      const float* theirs = received + t.range.begin;
      const int64_t n = t.range.size();
      // Left + right exactly: IEEE addition commutes, but a NaN's payload follows the left operand.
      if (level.mine_is_left)
        for (int64_t i = 0; i < n; ++i) mine[i] = mine[i] + theirs[i];
      else
        for (int64_t i = 0; i < n; ++i) mine[i] = theirs[i] + mine[i];
    }
  }
  m.all_gather(data, schedule.owned);
}

// Rank r owns slice r = [r·chunk, (r+1)·chunk) ∩ [0, count): every rank sends it its copy in one
// round, r sums the P copies in rank order (runtime/comm/rank_sum.h), then the slices to all.
void by_all_to_all(FloatMessenger& m, float* data, int64_t count, AllReduceScratch& scratch) {
  const int p = m.size(), r = m.rank();
  const int64_t chunk = (count + p - 1) / p;
  const auto slice = [&](int q) {
    const int64_t begin = std::min(count, q * chunk);
    return ElementRange{begin, std::min(count, begin + chunk)};
  };
  const ElementRange mine = slice(r);
  float* rows = grown(scratch.floats, static_cast<int64_t>(p) * mine.size());
  std::vector<FloatMessenger::Message> sends, receives;
  std::vector<const float*> copies(p);
  for (int q = 0; q < p; ++q) {
    copies[q] = q == r ? data + mine.begin : rows + q * mine.size();
    if (q == r) continue;
    if (!slice(q).empty()) sends.push_back({q, data + slice(q).begin, slice(q).size()});
    if (!mine.empty()) receives.push_back({q, rows + q * mine.size(), mine.size()});
  }
  m.exchange(sends, receives);
  pairwise_sum_over_ranks(copies.data(), p, 0, mine.size(), data + mine.begin);
  std::vector<ElementRange> owned(p);
  for (int q = 0; q < p; ++q) owned[q] = slice(q);
  m.all_gather(data, owned);
}

}  // namespace

void all_reduce_pairwise_by(AllReduceAlgorithm algorithm, FloatMessenger& messenger, float* data, int64_t count,
                            AllReduceScratch& scratch) {
  if (messenger.size() == 1) return;
  if (algorithm == AllReduceAlgorithm::all_to_all) by_all_to_all(messenger, data, count, scratch);
  else by_recursive_halving(messenger, data, count, scratch);
}

}  // namespace detnn
