// Recursive halving (runtime/comm/halving_schedule.h, DESIGN §6) against the contract: for
// P = 1 … 64 and counts from 0 to past a few thousand, the schedule's messages match pairwise
// (every receive is a peer's send of the same range), its owners partition the elements, each
// rank moves no more than a ring does, and carrying out the schedule on order-sensitive values
// (the gather from the owners, or the levels backwards as NCCL runs it) gives every element the
// pairwise rank-order bits (an independent recursive reference). Then
// the same on LocalComm threads: recursive halving == all-to-all == the reference, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <thread>
#include <vector>

#include "runtime/comm/halving_schedule.h"
#include "runtime/comm/local_comm.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"

namespace detnn {
namespace {

const std::vector<int64_t> kCounts = {0, 1, 2, 3, 5, 63, 64, 65, 1000, 4099};

TEST(HalvingSchedule, MessagesMatchOwnersPartitionAndTrafficIsARings) {
  for (int p = 1; p <= 64; ++p)
    for (const int64_t count : kCounts) {
      std::vector<HalvingSchedule> all;
      for (int r = 0; r < p; ++r) all.push_back(recursive_halving_schedule(p, r, count));
      const size_t levels = static_cast<size_t>(std::ceil(std::log2(p)));
      for (int r = 0; r < p; ++r) {
        ASSERT_EQ(all[r].levels.size(), levels) << "P=" << p;
        // Every rank computes the same owners.
        for (int q = 0; q < p; ++q) {
          EXPECT_EQ(all[r].owned[q].begin, all[0].owned[q].begin) << "P=" << p << " rank " << r << " owner " << q;
          EXPECT_EQ(all[r].owned[q].end, all[0].owned[q].end) << "P=" << p << " rank " << r << " owner " << q;
        }
        for (size_t k = 0; k < levels; ++k)
          for (const RangeTransfer& in : all[r].levels[k].receives) {
            const auto& theirs = all[in.peer].levels[k].sends;
            int matches = 0;
            for (const RangeTransfer& out : theirs)
              matches += out.peer == r && out.range.begin == in.range.begin && out.range.end == in.range.end;
            EXPECT_EQ(matches, 1) << "P=" << p << " n=" << count << " level " << k << ": rank " << r
                                  << "'s receive from " << in.peer;
          }
      }
      // The owners' ranges tile [0, count) exactly once.
      std::vector<int> covered(static_cast<size_t>(count), 0);
      for (const ElementRange& o : all[0].owned)
        for (int64_t i = o.begin; i < o.end; ++i) ++covered[i];
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(covered[i], 1) << "P=" << p << " n=" << count << " element " << i;
      // A ring sends (P-1)/P of the data per rank and phase; halving matches it for P = 2^k
      // (count - the owned range), and never sends more than the whole buffer otherwise.
      for (int r = 0; r < p; ++r) {
        int64_t sent = 0;
        for (const HalvingLevel& level : all[r].levels)
          for (const RangeTransfer& out : level.sends) sent += out.range.size();
        if ((p & (p - 1)) == 0) EXPECT_EQ(sent, count - all[0].owned[r].size()) << "P=" << p << " rank " << r;
        EXPECT_LE(sent, count) << "P=" << p << " rank " << r;
      }
    }
}

TEST(HalvingSchedule, CarriedOutItGivesThePairwiseRankOrderBits) {
  for (int p = 1; p <= 64; ++p)
    for (const int64_t count : kCounts) {
      const uint64_t seed = 77 + p * 1000 + count;
      std::vector<std::vector<float>> data(p, std::vector<float>(static_cast<size_t>(count)));
      for (int r = 0; r < p; ++r)
        for (int64_t i = 0; i < count; ++i) data[r][i] = test::rank_input(seed, r, i);
      std::vector<HalvingSchedule> all;
      for (int r = 0; r < p; ++r) all.push_back(recursive_halving_schedule(p, r, count));
      for (size_t k = 0; k < all[0].levels.size(); ++k) {
        const std::vector<std::vector<float>> before = data;  // every receive reads the level's start
        for (int r = 0; r < p; ++r) {
          const HalvingLevel& level = all[r].levels[k];
          for (const RangeTransfer& in : level.receives)
            for (int64_t i = in.range.begin; i < in.range.end; ++i)
              data[r][i] = level.mine_is_left ? before[r][i] + before[in.peer][i] : before[in.peer][i] + before[r][i];
        }
      }
      // The all-gather two ways: from the owners (LocalComm, MPI), and the levels backwards with
      // sends and receives swapped (NCCL): every rank receives what it sent at that level.
      std::vector<std::vector<float>> backwards = data;
      for (int r = 0; r < p; ++r)
        for (int q = 0; q < p; ++q)
          for (int64_t i = all[0].owned[q].begin; i < all[0].owned[q].end; ++i) data[r][i] = data[q][i];
      EXPECT_EQ(test::wrong_all_reduce_elements(data, seed, count), 0) << "P=" << p << " n=" << count;
      for (size_t k = all[0].levels.size(); k-- > 0;) {
        const std::vector<std::vector<float>> before = backwards;
        for (int r = 0; r < p; ++r)
          for (const RangeTransfer& sent : all[r].levels[k].sends)
            for (int64_t i = sent.range.begin; i < sent.range.end; ++i) backwards[r][i] = before[sent.peer][i];
      }
      EXPECT_EQ(test::wrong_all_reduce_elements(backwards, seed, count), 0)
          << "P=" << p << " n=" << count << ", gathered backwards";
    }
}

bool same_schedule(const HalvingSchedule& a, const HalvingSchedule& b) {
  const auto same_transfers = [](const std::vector<RangeTransfer>& x, const std::vector<RangeTransfer>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].peer != y[i].peer || x[i].range.begin != y[i].range.begin || x[i].range.end != y[i].range.end)
        return false;
    return true;
  };
  if (a.levels.size() != b.levels.size() || a.owned.size() != b.owned.size()) return false;
  for (size_t k = 0; k < a.levels.size(); ++k)
    if (!same_transfers(a.levels[k].sends, b.levels[k].sends) ||
        !same_transfers(a.levels[k].receives, b.levels[k].receives) ||
        a.levels[k].mine_is_left != b.levels[k].mine_is_left)
      return false;
  for (size_t q = 0; q < a.owned.size(); ++q)
    if (a.owned[q].begin != b.owned[q].begin || a.owned[q].end != b.owned[q].end) return false;
  return true;
}

// The kept schedules are the computed ones, for any order of counts, ranks and group sizes, past
// the number of counts kept.
TEST(HalvingSchedule, KeptSchedulesAreTheComputedOnes) {
  HalvingSchedules kept;
  for (int round = 0; round < 3; ++round)
    for (const auto& [p, r] : std::vector<std::pair<int, int>>{{6, 5}, {6, 0}, {64, 33}, {3, 2}})
      for (int64_t count = 0; count < 2 * static_cast<int64_t>(HalvingSchedules::kMaxCounts) + 3; ++count)
        ASSERT_TRUE(same_schedule(kept.get(p, r, count), recursive_halving_schedule(p, r, count)))
            << "P=" << p << " rank " << r << " n=" << count;
}

// Runs the all-reduce on `p` LocalComm threads with `algorithm`; returns every rank's buffer.
std::vector<std::vector<float>> local_all_reduce(int p, int64_t count, uint64_t seed, AllReduceAlgorithm algorithm) {
  LocalCommGroup group(p, 120.0);
  std::vector<std::vector<float>> buffers(p);
  std::vector<std::exception_ptr> errors(p);
  std::vector<std::thread> threads;
  for (int r = 0; r < p; ++r)
    threads.emplace_back([&, r] {
      try {
        buffers[r].resize(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) buffers[r][i] = test::rank_input(seed, r, i);
        Comm& comm = group.comm(r);
        comm.set_all_reduce_algorithm(algorithm);
        comm.all_reduce_pairwise(buffers[r].data(), count);
        comm.all_reduce_pairwise(buffers[r].data(), 0);  // an empty one between two calls
      } catch (...) {
        errors[r] = std::current_exception();
        group.abort(r, "failed");
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return buffers;
}

TEST(LocalCommAlgorithms, RecursiveHalvingAndAllToAllGiveTheSameBitsForOneToSixtyFourRanks) {
  for (int p = 1; p <= 64; ++p)
    for (const int64_t count : {int64_t{1}, int64_t{5}, int64_t{65}, int64_t{4099}}) {
      const uint64_t seed = 5 + p * 100 + count;
      const auto halving = local_all_reduce(p, count, seed, AllReduceAlgorithm::recursive_halving);
      const auto all_to_all = local_all_reduce(p, count, seed, AllReduceAlgorithm::all_to_all);
      EXPECT_EQ(test::wrong_all_reduce_elements(halving, seed, count), 0)
          << "recursive halving, P=" << p << " n=" << count;
      EXPECT_EQ(test::wrong_all_reduce_elements(all_to_all, seed, count), 0) << "all-to-all, P=" << p << " n=" << count;
      for (int r = 0; r < p; ++r)
        ASSERT_EQ(test::first_bit_difference(halving[r].data(), all_to_all[r].data(), static_cast<size_t>(count)), -1)
            << "P=" << p << " n=" << count << " rank " << r;
    }
}

TEST(AllReduceAlgorithm, NamesParseAndABadOneIsNamed) {
  EXPECT_EQ(parse_all_reduce_algorithm("recursive-halving", "x"), AllReduceAlgorithm::recursive_halving);
  EXPECT_EQ(parse_all_reduce_algorithm("all-to-all", "x"), AllReduceAlgorithm::all_to_all);
  EXPECT_STREQ(all_reduce_algorithm_name(AllReduceAlgorithm::all_to_all), "all-to-all");
  try {
    parse_all_reduce_algorithm("ring", "DETNN_ALL_REDUCE");
    FAIL() << "accepted ring";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("DETNN_ALL_REDUCE: \"ring\" is not an all-reduce algorithm"), 0u) << e.what();
  }
}

}  // namespace
}  // namespace detnn
