// NcclComm and NcclGroup on every visible GPU, one rank each (runtime/comm/nccl_comm.h), in the
// style of nccl-tests: seeded per-rank inputs, the expected buffer from the CPU rule
// (runtime/comm/rank_sum.h), and the count of wrong elements on every rank, which must be 0 —
// from 1 element to 64 Mi (device memory permitting). Also the host-memory collectives, NCCL's own
// all-reduce, and the failure contract of runtime/comm/comm.h: an aborted group refuses every
// later collective (any GPU count); with two GPUs or more, an aborting rank stops the others inside
// their collective with its message, and a rank that never comes makes the others time out.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#include "runtime/comm/nccl_group.h"
#include "runtime/comm/rank_sum.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "support/canonical_sum_reference.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using test::DeviceBuffer;

std::vector<int> all_devices() {
  std::vector<int> devices(cuda_device_count());
  for (size_t d = 0; d < devices.size(); ++d) devices[d] = static_cast<int>(d);
  return devices;
}

// Runs body(r) on one thread per rank; rethrows the first rank's exception.
template <class Body>
void on_every_rank(int ranks, Body&& body) {
  std::vector<std::exception_ptr> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Free memory of the emptiest device, in bytes.
size_t least_free_memory(const std::vector<int>& devices) {
  size_t least = SIZE_MAX;
  for (int d : devices) {
    CudaDeviceGuard guard(d);
    size_t free = 0, total = 0;
    DETNN_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    least = std::min(least, free);
  }
  return least;
}

// The deterministic (or, `unordered`, NCCL's) all-reduce of `count` elements on every rank of
// `group`, each on its own stream; returns every rank's result.
std::vector<std::vector<float>> all_reduce(NcclGroup& group, const std::vector<std::vector<float>>& in, int64_t count,
                                           bool unordered) {
  const int p = group.size();
  std::vector<std::vector<float>> out(p);
  on_every_rank(p, [&](int r) {
    NcclComm& comm = group.nccl_comm(r);
    DETNN_CUDA_CHECK(cudaSetDevice(comm.device()));
    cudaStream_t stream = nullptr;
    DETNN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    {
      DeviceBuffer<float> data(static_cast<size_t>(count));
      // DeviceBuffer's guard fill runs on the legacy stream, which a non-blocking stream does
      // not wait for: it must be done before the copies below.
      DETNN_CUDA_CHECK(cudaDeviceSynchronize());
      if (count > 0) {  // queued, not synchronized: the all-reduce must come after them on the stream
        DETNN_CUDA_CHECK(cudaMemsetAsync(data.get(), 0, count * sizeof(float), stream));
        DETNN_CUDA_CHECK(
            cudaMemcpyAsync(data.get(), in[r].data(), count * sizeof(float), cudaMemcpyHostToDevice, stream));
      }
      const auto s = reinterpret_cast<uintptr_t>(stream);
      if (unordered) {
        comm.all_reduce_unordered_device(data.get(), count, s);
      } else {
        comm.all_reduce_pairwise_device(data.get(), count, s);
      }
      out[r] = data.download();
      EXPECT_TRUE(data.guards_intact()) << "rank " << r << ": a write outside the buffer";
    }
    DETNN_CUDA_CHECK(cudaStreamDestroy(stream));
  });
  return out;
}

std::vector<std::vector<float>> rank_inputs(int ranks, int64_t count, uint64_t seed) {
  std::vector<std::vector<float>> in(ranks, std::vector<float>(static_cast<size_t>(count)));
  on_every_rank(ranks, [&](int r) {
    for (int64_t i = 0; i < count; ++i) in[r][i] = test::rank_input(seed, r, i);
  });
  return in;
}

std::vector<float> expected_sum(const std::vector<std::vector<float>>& in, int64_t count) {
  std::vector<const float*> pointers;
  for (const auto& v : in) pointers.push_back(v.data());
  std::vector<float> expected(static_cast<size_t>(count));
  pairwise_sum_over_ranks(pointers.data(), static_cast<int>(in.size()), 0, count, expected.data());
  return expected;
}

// Every P from 2 to the GPUs visible (the first P of them: powers of two and the odd carry), by
// recursive halving and by the all-to-all; the largest sizes on all the GPUs only.
TEST(NcclComm, DeterministicAllReduceHasTheCpuRuleBitsOnEveryRankByEitherAlgorithm) {
  DETNN_REQUIRE_GPUS(2);
  const std::vector<int> devices = all_devices();
  for (int p = 2; p <= static_cast<int>(devices.size()); ++p) {
    NcclGroup group(std::vector<int>(devices.begin(), devices.begin() + p), 120.0);
    std::vector<int64_t> sizes = {0, 1, 2, 3, 5, p - 1, p, p + 1, 2 * p + 1, 1023, 4096 + 1, int64_t{1} << 20};
    if (p == static_cast<int>(devices.size()))
      sizes.insert(sizes.end(), {(int64_t{1} << 22) + 3, int64_t{1} << 26});
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    for (const AllReduceAlgorithm algorithm : {AllReduceAlgorithm::recursive_halving, AllReduceAlgorithm::all_to_all}) {
      for (int r = 0; r < p; ++r) group.nccl_comm(r).set_all_reduce_algorithm(algorithm);
      for (int64_t n0 : sizes) {
        const int64_t n = test::scaled_size(n0);
        // data, the [P, chunk] rows and the padded gather, with room to spare
        if (static_cast<double>(n) * sizeof(float) * 4 > 0.8 * static_cast<double>(least_free_memory(devices))) {
          std::printf("[ INFO ] %lld elements: not enough device memory, skipped\n", static_cast<long long>(n));
          continue;
        }
        const auto start = std::chrono::steady_clock::now();
        const auto in = rank_inputs(p, n, 1000 + n);
        const std::vector<float> expected = expected_sum(in, n);
        const auto out = all_reduce(group, in, n, false);
        for (int r = 0; r < p; ++r) {
          int64_t wrong = 0;
          for (int64_t i = 0; i < n; ++i) wrong += test::float_bits(out[r][i]) != test::float_bits(expected[i]);
          EXPECT_EQ(wrong, 0) << "rank " << r << " of " << p << ", " << n << " elements, "
                              << all_reduce_algorithm_name(algorithm);
        }
        if (n0 == sizes.back())
          std::printf("[ INFO ] P=%d n=%lld %s: %.2f s with input generation and checking\n", p,
                      static_cast<long long>(n), all_reduce_algorithm_name(algorithm),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
  }
}

TEST(NcclComm, NcclsOwnAllReduceIsCloseAndExactForTwoRanks) {
  DETNN_REQUIRE_GPUS(2);
  NcclGroup group(all_devices(), 120.0);
  const int p = group.size();
  for (int64_t n : {int64_t{1}, int64_t{4097}, int64_t{1} << 20}) {
    const auto in = rank_inputs(p, n, 7 + n);
    const std::vector<float> expected = expected_sum(in, n);
    const auto out = all_reduce(group, in, n, true);
    for (int r = 0; r < p; ++r) {
      int64_t far = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (p <= 2) {  // one addition: its order cannot matter
          far += test::float_bits(out[r][i]) != test::float_bits(expected[i]);
        } else {
          double magnitude = 0;
          for (int q = 0; q < p; ++q) magnitude += std::fabs(in[q][i]);
          far += std::fabs(out[r][i] - expected[i]) > 1e-6 * p * magnitude;
        }
      }
      EXPECT_EQ(far, 0) << "rank " << r << " of " << p << ", " << n << " elements";
    }
  }
}

TEST(NcclComm, HostCollectives) {
  DETNN_REQUIRE_GPUS(2);
  NcclGroup group(all_devices(), 120.0);
  const int p = group.size();
  const int64_t n = 1003;
  const auto in = rank_inputs(p, n, 99);
  const std::vector<float> expected = expected_sum(in, n);
  std::vector<uint8_t> pattern(1001);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(test::mix64(i));
  on_every_rank(p, [&](int r) {
    Comm& comm = group.comm(r);
    std::vector<float> floats = in[r];
    comm.all_reduce_pairwise(floats.data(), n);
    EXPECT_EQ(test::first_bit_difference(floats.data(), expected.data(), n), -1) << "rank " << r;

    std::vector<int64_t> counts = {r, int64_t{1} << 50, -3 * r, 7};
    comm.all_reduce_sum(counts.data(), static_cast<int64_t>(counts.size()));
    EXPECT_EQ(counts, (std::vector<int64_t>{int64_t{p} * (p - 1) / 2, (int64_t{1} << 50) * p,
                                            -3 * int64_t{p} * (p - 1) / 2, 7 * int64_t{p}}))
        << "rank " << r;

    std::vector<uint8_t> bytes = r == 0 ? pattern : std::vector<uint8_t>(pattern.size(), 0);
    comm.broadcast(bytes.data(), static_cast<int64_t>(bytes.size()));
    EXPECT_EQ(bytes, pattern) << "rank " << r;

    comm.barrier();
    comm.all_reduce_pairwise(nullptr, 0);  // empty collectives are fine too
    comm.all_reduce_sum(nullptr, 0);
    comm.broadcast(nullptr, 0);
  });
  EXPECT_EQ(group.failure(), "");
}

// One GPU runs the all-to-all's whole NCCL path (its own slice sent through NCCL, the rank sum over
// one rank, the all-gather) and the gradient buckets' agreement and queue: the result is the input,
// bit for bit, and nothing is written outside it. Recursive halving has no level at P = 1.
TEST(NcclComm, OneRankRunsTheWholeNcclPathOfBothPatterns) {
  DETNN_REQUIRE_GPU();
  NcclGroup group({0}, 120.0);
  NcclComm& comm = group.nccl_comm(0);
  CudaDeviceGuard device(comm.device());
  for (const AllReduceAlgorithm algorithm : {AllReduceAlgorithm::all_to_all, AllReduceAlgorithm::recursive_halving}) {
    comm.set_all_reduce_algorithm(algorithm);
    for (const int64_t n : {int64_t{1}, int64_t{4099}, int64_t{1} << 20}) {
      const std::vector<float> in = rank_inputs(1, n, 31 + n)[0];
      DeviceBuffer<float> data(in);
      DETNN_CUDA_CHECK(cudaDeviceSynchronize());
      comm.all_reduce_pairwise_device(data.get(), n, 0);
      EXPECT_EQ(test::first_bit_difference(data.download().data(), in.data(), static_cast<size_t>(n)), -1)
          << n << " elements, " << all_reduce_algorithm_name(algorithm);
      EXPECT_TRUE(data.guards_intact());
      // 20 buckets of this size (more than the 16 that may be queued at once), then finish.
      comm.reserve_buckets(n);
      for (int b = 0; b < 20; ++b) comm.all_reduce_pairwise_device_async(data.get(), n, 0);
      comm.finish_buckets(0);
      DETNN_CUDA_CHECK(cudaDeviceSynchronize());
      EXPECT_EQ(test::first_bit_difference(data.download().data(), in.data(), static_cast<size_t>(n)), -1)
          << n << " elements in buckets, " << all_reduce_algorithm_name(algorithm);
    }
  }
  EXPECT_EQ(group.failure(), "");
}

TEST(NcclComm, AnAbortedGroupRefusesEveryLaterCollective) {
  DETNN_REQUIRE_GPU();
  NcclGroup group(all_devices(), 120.0);
  const int last = group.size() - 1;
  group.abort(last, "injected fault");
  const std::string message = "rank " + std::to_string(last) + " failed: injected fault";
  EXPECT_EQ(group.failure(), message);
  CudaDeviceGuard device(group.nccl_comm(0).device());
  DeviceBuffer<float> data(16);
  for (int r = 0; r <= last; ++r) {
    for (int call = 0; call < 3; ++call) {
      try {
        if (call == 0) group.comm(r).all_reduce_pairwise_device(data.get(), 16, 0);
        if (call == 1) group.comm(r).barrier();
        if (call == 2) {
          int64_t v = 1;
          group.comm(r).all_reduce_sum(&v, 1);
        }
        ADD_FAILURE() << "rank " << r << ": collective " << call << " ran after the abort";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::comm);
        EXPECT_EQ(std::string(e.what()), message) << "rank " << r;
      }
    }
  }
  group.abort(0, "a later failure");  // the first failure wins
  EXPECT_EQ(group.failure(), message);
}

TEST(NcclComm, AnAbortingRankStopsTheOthersInsideTheirCollective) {
  DETNN_REQUIRE_GPU();
  const std::vector<int> devices = all_devices();
  if (devices.size() < 2) GTEST_SKIP() << "needs 2 GPUs, " << devices.size() << " visible";
  NcclGroup group(devices, 60.0);
  const int p = group.size();
  const int64_t n = 1 << 20;
  std::vector<std::string> errors(p);
  std::vector<ErrorCode> codes(p, ErrorCode::internal);
  const auto start = std::chrono::steady_clock::now();
  on_every_rank(p, [&](int r) {
    if (r == 1) {  // never joins: fails while the others wait for it inside NCCL
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      group.abort(1, "injected fault");
      return;
    }
    DETNN_CUDA_CHECK(cudaSetDevice(devices[r]));
    DeviceBuffer<float> data(n);
    try {
      group.comm(r).all_reduce_pairwise_device(data.get(), n, 0);
    } catch (const Error& e) {
      errors[r] = e.what();
      codes[r] = e.code();
    }
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
  for (int r = 0; r < p; ++r) {
    if (r == 1) continue;
    EXPECT_EQ(codes[r], ErrorCode::comm) << "rank " << r;
    EXPECT_EQ(errors[r], "rank 1 failed: injected fault") << "rank " << r;
  }
  std::printf("[ INFO ] P=%d: the other ranks stopped %.2f s after the start (rank 1 aborted at 0.5 s)\n", p, seconds);
}

TEST(NcclComm, ARankThatNeverComesMakesTheOthersTimeOut) {
  DETNN_REQUIRE_GPU();
  const std::vector<int> devices = all_devices();
  if (devices.size() < 2) GTEST_SKIP() << "needs 2 GPUs, " << devices.size() << " visible";
  NcclGroup group(devices, 2.0);
  const auto start = std::chrono::steady_clock::now();
  CudaDeviceGuard device(devices[0]);
  DeviceBuffer<float> data(4096);
  const std::string expected = "rank 0 failed: all_reduce_pairwise_device timed out after 2 s waiting for the other ranks";
  try {
    group.comm(0).all_reduce_pairwise_device(data.get(), 4096, 0);
    ADD_FAILURE() << "rank 0's all-reduce returned without the other ranks";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::comm);
    EXPECT_EQ(std::string(e.what()), expected);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(seconds, 2.0);
  EXPECT_LT(seconds, 15.0);
  EXPECT_EQ(group.failure(), expected);
}

TEST(NcclGroup, DevicesAreCheckedAndNamed) {
  DETNN_REQUIRE_GPU();
  const int visible = cuda_device_count();
  const auto refused = [](const std::vector<int>& devices, const std::string& expected) {
    try {
      make_nccl_group(devices, 10.0);
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused({}, "ranks must be in [1, 65535], got 0");
  refused({0, 0}, "ranks 0 and 1 are both on cuda:0");
  refused({visible}, "rank 0's device cuda:" + std::to_string(visible) + " does not exist");
  NcclGroup group({0}, 10.0);
  EXPECT_EQ(group.size(), 1);
  EXPECT_EQ(group.device_of(0), "cuda:0");
  EXPECT_TRUE(group.comm(0).takes_device_memory());
}

}  // namespace
}  // namespace detnn
