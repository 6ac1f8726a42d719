// LocalComm's other collectives and its failure contract: integer sums are exact, broadcast
// copies rank 0, an aborted or timed-out group makes every rank's pending and later calls throw
// Error(comm) with the failing rank's message within a bounded time, never a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/comm/local_comm.h"
#include "runtime/error.h"

namespace detnn {
namespace {

// Runs body(rank) on one thread per rank; returns each rank's error message ("" if none).
std::vector<std::string> run_ranks(LocalCommGroup& group, const std::function<void(int)>& body) {
  std::vector<std::string> errors(group.size());
  std::vector<std::thread> threads;
  for (int r = 0; r < group.size(); ++r)
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (const Error& e) {
        errors[r] = std::string(error_code_name(e.code())) + ": " + e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(LocalComm, IntegerSumBroadcastAndBarrier) {
  LocalCommGroup group(5);
  std::vector<std::vector<int64_t>> sums(5);
  std::vector<std::vector<char>> bytes(5);
  const auto errors = run_ranks(group, [&](int r) {
    Comm& c = group.comm(r);
    EXPECT_EQ(c.rank(), r);
    EXPECT_EQ(c.size(), 5);
    sums[r] = {r, int64_t{1} << 40, -r * 3};
    c.all_reduce_sum(sums[r].data(), 3);
    bytes[r] = std::vector<char>(7, static_cast<char>('a' + r));
    c.broadcast(bytes[r].data(), 7);
    c.barrier();
  });
  for (int r = 0; r < 5; ++r) {
    EXPECT_EQ(errors[r], "") << r;
    EXPECT_EQ(sums[r], (std::vector<int64_t>{10, int64_t{5} << 40, -30})) << r;
    EXPECT_EQ(std::string(bytes[r].begin(), bytes[r].end()), "aaaaaaa") << r;
  }
}

TEST(LocalComm, OneRankCollectivesReturnTheInput) {
  LocalCommGroup group(1);
  float x[3] = {1.5f, -2.0f, 3.25f};
  group.comm(0).all_reduce_pairwise(x, 3);
  EXPECT_EQ(x[0], 1.5f);
  EXPECT_EQ(x[2], 3.25f);
  group.comm(0).barrier();
}

TEST(LocalComm, AbortStopsEveryPendingAndLaterCall) {
  LocalCommGroup group(4, 60.0);
  const auto start = std::chrono::steady_clock::now();
  const auto errors = run_ranks(group, [&](int r) {
    std::vector<float> g(1000, 1.0f);
    group.comm(r).all_reduce_pairwise(g.data(), 1000);  // a healthy collective first
    if (r == 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the others are waiting by now
      group.comm(r).abort("out of disk in step 7");
      return;
    }
    group.comm(r).all_reduce_pairwise(g.data(), 1000);
  });
  EXPECT_LT(seconds_since(start), 10.0);  // far below the 60 s timeout: woken, not timed out
  for (int r : {0, 1, 3}) EXPECT_EQ(errors[r], "communication error: rank 2 failed: out of disk in step 7") << r;
  EXPECT_EQ(errors[2], "");
  EXPECT_EQ(group.failure(), "rank 2 failed: out of disk in step 7");
  // Later calls fail at once, and a second failure does not replace the first.
  group.comm(0).abort("another error");
  float x = 1.0f;
  try {
    group.comm(1).all_reduce_pairwise(&x, 1);
    FAIL() << "no error after the abort";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::comm);
    EXPECT_STREQ(e.what(), "rank 2 failed: out of disk in step 7");
  }
}

TEST(LocalComm, AMissingRankTimesOutNamingIt) {
  LocalCommGroup group(3, 0.3);
  const auto start = std::chrono::steady_clock::now();
  const auto errors = run_ranks(group, [&](int r) {
    if (r == 1) return;  // never arrives
    group.comm(r).barrier();
  });
  EXPECT_LT(seconds_since(start), 5.0);
  // The first rank to time out fails the group; the other wakes with that message.
  for (int r : {0, 2}) {
    EXPECT_NE(errors[r].find("communication error: rank "), std::string::npos) << errors[r];
    EXPECT_NE(errors[r].find("barrier timed out after 0.3 s waiting for rank(s) 1"), std::string::npos) << errors[r];
  }
}

TEST(LocalComm, MismatchedSizesOrCallsFailEveryRank) {
  {
    LocalCommGroup group(2, 30.0);
    const auto errors = run_ranks(group, [&](int r) {
      std::vector<float> g(10 + r);
      group.comm(r).all_reduce_pairwise(g.data(), 10 + r);
    });
    for (const auto& e : errors)
      EXPECT_NE(e.find("rank 0 passed 10 elements but rank 1 passed 11"), std::string::npos) << e;
  }
  {
    LocalCommGroup group(2, 30.0);
    const auto errors = run_ranks(group, [&](int r) {
      int64_t v = 1;
      if (r == 0) group.comm(r).barrier();
      else group.comm(r).all_reduce_sum(&v, 1);
    });
    // Whichever arrives second names both calls.
    for (const auto& e : errors) {
      EXPECT_NE(e.find(" while another rank called "), std::string::npos) << e;
      EXPECT_NE(e.find("every rank must make the same collective calls"), std::string::npos) << e;
    }
  }
}

TEST(LocalComm, BadArgumentsAreRefused) {
  EXPECT_THROW(LocalCommGroup(0), Error);
  EXPECT_THROW(LocalCommGroup(2, 0.0), Error);
  LocalCommGroup group(2);
  EXPECT_THROW(group.comm(2), Error);
  EXPECT_THROW(group.comm(-1), Error);
}

}  // namespace
}  // namespace detnn
