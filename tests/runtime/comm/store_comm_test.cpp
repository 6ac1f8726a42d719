// The launched-run rendezvous on one machine: rank 0's TCP store (set, wait, failure) and
// StoreComm (CPU ranks as processes; here threads with their own connections) — the all-reduce
// gives the pairwise rank-order bits (nccl-tests style: seeded per-rank inputs, an independent
// recursive reference, count of wrong elements), collectives agree on what they are, and a
// failure or a missing rank stops every rank with a message naming it. Also the launch
// variables' parsing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "runtime/comm/launch_environment.h"
#include "runtime/comm/mpi_comm.h"
#include "runtime/comm/store_comm.h"
#include "runtime/comm/tcp_store.h"
#include "runtime/error.h"
#include "support/canonical_sum_reference.h"

namespace detnn {
namespace {

using clock_type = std::chrono::steady_clock;

float input(int rank, int64_t i) {
  // A spread of magnitudes and signs, so that another summation order shows in the bits.
  uint64_t x = (static_cast<uint64_t>(rank) << 40) ^ static_cast<uint64_t>(i) ^ 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  const uint32_t bits = static_cast<uint32_t>(x & 0x807fffffu) | (static_cast<uint32_t>(127 - 8 + (x >> 32) % 16) << 23);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// P ranks as threads, each with its own store connection and StoreComm; body(rank, comm).
template <typename Body>
std::vector<std::string> run_ranks(int p, double timeout, Body body) {
  TcpStoreServer server(0);
  std::vector<std::string> errors(p);
  std::vector<std::thread> threads;
  for (int r = 0; r < p; ++r)
    threads.emplace_back([&, r] {
      try {
        auto client = std::make_shared<TcpStoreClient>("127.0.0.1", server.port(), r, 10.0);
        StoreComm comm(client, r, p, timeout);
        body(r, comm);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

TEST(TcpStore, SetWaitAndFailure) {
  TcpStoreServer server(0);
  TcpStoreClient a("127.0.0.1", server.port(), 0, 5.0), b("localhost", server.port(), 1, 5.0);
  EXPECT_FALSE(a.try_get("k").has_value());
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    b.set("k", std::string("v\0w", 3));
  });
  const auto got = a.wait_get("k", clock_type::now() + std::chrono::seconds(5));
  later.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, std::string("v\0w", 3));
  EXPECT_FALSE(a.wait_get("never", clock_type::now() + std::chrono::milliseconds(50)).has_value());
  EXPECT_EQ(a.failure(), "");
  // The first failure wins, and a waiting get returns it at once.
  std::thread waiter([&] {
    try {
      b.wait_get("never", clock_type::now() + std::chrono::seconds(30));
      ADD_FAILURE() << "the wait should have failed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::comm);
      EXPECT_STREQ(e.what(), "rank 0 failed: first");
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  a.post_failure("rank 0 failed: first");
  a.post_failure("rank 1 failed: second");
  waiter.join();
  EXPECT_EQ(b.failure(), "rank 0 failed: first");
}

TEST(TcpStore, ARankThatDisconnectsWithoutGoodbyeFailsTheGroup) {
  TcpStoreServer server(0);
  server.set_linger(std::chrono::milliseconds(100));
  TcpStoreClient watcher("127.0.0.1", server.port(), 0, 5.0);
  {
    // A raw hello as rank 3, then the connection drops: what a killed process looks like.
    Socket s = connect_tcp("127.0.0.1", server.port(), clock_type::now() + std::chrono::seconds(5));
    const struct {
      uint8_t op;
      uint32_t key_bytes;
      uint64_t value_bytes;
      int64_t arg;
    } hello{1, 0, 0, 3};
    s.send_all(&hello, sizeof hello, "hello");
    char reply[16];
    s.receive_all(reply, 16, "hello reply");
  }
  const auto deadline = clock_type::now() + std::chrono::seconds(5);
  while (watcher.failure().empty() && clock_type::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_NE(watcher.failure().find("rank 3 failed: its process ended"), std::string::npos) << watcher.failure();
}

TEST(TcpStore, ConnectingToNobodyTimesOutNamingTheEndpoint) {
  const auto start = clock_type::now();
  try {
    TcpStoreClient c("127.0.0.1", 1, 0, 0.3);  // port 1: nobody listens
    ADD_FAILURE() << "connected to port 1";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::comm);
    EXPECT_NE(std::string(e.what()).find("cannot connect to 127.0.0.1:1"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(clock_type::now() - start).count(), 5.0);
}

TEST(StoreComm, AllReduceGivesThePairwiseRankOrderBits) {
  for (const int p : {1, 2, 3, 4, 5}) {
    for (const int64_t n : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{1000}, int64_t{(1 << 18) + 3}}) {
      std::vector<int64_t> wrong(p, -1);
      const auto errors = run_ranks(p, 30.0, [&](int r, StoreComm& comm) {
        std::vector<float> data(n);
        for (int64_t i = 0; i < n; ++i) data[i] = input(r, i);
        comm.all_reduce_pairwise(data.data(), n);
        int64_t bad = 0;
        std::vector<float> v(p);
        for (int64_t i = 0; i < n; ++i) {
          for (int q = 0; q < p; ++q) v[q] = input(q, i);
          const float want = test::contract_pairwise(v.data(), p);  // the rule as a recursion
          bad += std::memcmp(&want, &data[i], 4) != 0;
        }
        wrong[r] = bad;
      });
      for (int r = 0; r < p; ++r) {
        EXPECT_EQ(errors[r], "") << "P=" << p << " n=" << n << " rank " << r;
        EXPECT_EQ(wrong[r], 0) << "P=" << p << " n=" << n << " rank " << r;
      }
    }
  }
}

TEST(StoreComm, SumsBroadcastAndBarrier) {
  const int p = 3;
  const auto errors = run_ranks(p, 30.0, [&](int r, StoreComm& comm) {
    int64_t counts[2] = {r + 1, int64_t{1} << (40 + r)};
    comm.all_reduce_sum(counts, 2);
    EXPECT_EQ(counts[0], 6);
    EXPECT_EQ(counts[1], (int64_t{1} << 40) + (int64_t{1} << 41) + (int64_t{1} << 42));
    char text[8] = "rank x";
    text[5] = static_cast<char>('0' + r);
    comm.broadcast(text, sizeof text);
    EXPECT_STREQ(text, "rank 0");
    for (int i = 0; i < 5; ++i) comm.barrier();  // many sequences: old postings are erased
  });
  for (int r = 0; r < p; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
}

TEST(StoreComm, MismatchedCallsFailEveryRankNamingBoth) {
  const auto errors = run_ranks(2, 10.0, [&](int r, StoreComm& comm) {
    std::vector<float> data(r == 0 ? 4 : 5, 1.0f);
    comm.all_reduce_pairwise(data.data(), static_cast<int64_t>(data.size()));
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(errors[r].find("all_reduce_pairwise 4"), std::string::npos) << errors[r];
    EXPECT_NE(errors[r].find("all_reduce_pairwise 5"), std::string::npos) << errors[r];
  }
}

TEST(StoreComm, AnAbortOrAMissingRankStopsTheOthers) {
  {
    const auto start = clock_type::now();
    const auto errors = run_ranks(3, 30.0, [&](int r, StoreComm& comm) {
      if (r == 1) {
        comm.abort("disk full");
        return;
      }
      float x = 1;
      comm.all_reduce_pairwise(&x, 1);
    });
    EXPECT_EQ(errors[0], "rank 1 failed: disk full");
    EXPECT_EQ(errors[2], "rank 1 failed: disk full");
    EXPECT_LT(std::chrono::duration<double>(clock_type::now() - start).count(), 10.0);
  }
  {
    // Rank 2 never calls the collective: the others time out naming it.
    const auto errors = run_ranks(3, 0.5, [&](int r, StoreComm& comm) {
      if (r == 2) return;
      float x = 1;
      comm.all_reduce_pairwise(&x, 1);
    });
    for (int r = 0; r < 2; ++r) {
      EXPECT_NE(errors[r].find("timed out after 0.5 s waiting for rank(s) 2"), std::string::npos) << errors[r];
    }
  }
}

std::optional<LaunchEnvironment> read(const std::map<std::string, std::string>& vars) {
  return read_launch_environment([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    read(vars);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "";
}

TEST(LaunchEnvironment, ReadsTorchrunAndOpenMpiVariables) {
  EXPECT_FALSE(read({}).has_value());
  const auto t = read({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"},
                       {"MASTER_PORT", "29500"}});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->rank, 3);
  EXPECT_EQ(t->world_size, 8);
  EXPECT_EQ(t->local_rank, 1);
  EXPECT_EQ(t->master_addr, "node0");
  EXPECT_EQ(t->master_port, 29500);
  EXPECT_EQ(t->launcher, "torchrun");
  const auto m = read({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                       {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1234"}});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->launcher, "mpirun");
  EXPECT_EQ(m->rank, 1);
  // One rank needs no rendezvous.
  const auto one = read({{"RANK", "0"}, {"WORLD_SIZE", "1"}});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->world_size, 1);
}

TEST(LaunchEnvironment, NamesTheBadVariable) {
  EXPECT_NE(error_of({{"RANK", "0"}}).find("RANK is set but WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK=\"x\" is not an integer in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE=\"0\""), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR and MASTER_PORT"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
                .find("MASTER_PORT=\"70000\" is not an integer in [1, 65535]"),
            std::string::npos);
  // mpirun without MASTER_ADDR/MASTER_PORT: found through MPI when built in, refused otherwise.
  const std::map<std::string, std::string> mpirun = {{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}};
  if (mpi_comm_available()) {
    const auto e = read(mpirun);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->master_addr, "");
  } else {
    EXPECT_NE(error_of(mpirun).find("mpirun -x MASTER_ADDR"), std::string::npos);
  }
}

}  // namespace
}  // namespace detnn
