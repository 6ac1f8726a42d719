// All-reduce bandwidth in the nccl-tests convention: algbw = bytes / time and busbw = algbw *
// 2(P-1)/P (what each rank's links carry in a bandwidth-optimal all-reduce, so that it compares
// with the hardware's link bandwidth whatever P), reported as counters beside the time.
//  - LocalComm (CPU): the host all-reduce on P = 2, 4 and 7 threads, the pairwise rank-order rule,
//    by recursive halving (algorithm 0) and by the all-to-all (1).
//  - NcclComm on every visible GPU, one rank each: the deterministic all_reduce_pairwise_device
//    by recursive halving (grouped send/receive per level, detnn's left + right) and by the
//    all-to-all (grouped send/receive, detnn's rank-order kernel, all-gather), against NCCL's own
//    all-reduce (all_reduce_unordered_device), 4 KiB to 256 MiB. Skipped without a GPU.
// Rank 0 runs on the benchmark's thread and times the calls; ranks 1..P-1 are helper threads that
// make the same call once per iteration. Buffers start at zero, so repeated sums stay finite.
#include <benchmark/benchmark.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "runtime/comm/local_comm.h"

#ifdef DETNN_HAVE_CUDA
#include "runtime/comm/nccl_group.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#endif

namespace {

// Ranks 1..P-1 on threads of their own, each calling call(rank) once per go() of rank 0.
class RankHelpers {
 public:
  RankHelpers(int ranks, std::function<void(int)> call) : call_(std::move(call)) {
    for (int r = 1; r < ranks; ++r) threads_.emplace_back([this, r] { run(r); });
  }
  ~RankHelpers() {
    stop_.store(true);
    generation_.fetch_add(1);
    for (auto& t : threads_) t.join();
  }
  // Lets every helper make one more call (rank 0 makes its own on the caller's thread).
  void go() { generation_.fetch_add(1); }

 private:
  void run(int rank) {
    uint64_t seen = 0;
    for (;;) {
      while (generation_.load() == seen) std::this_thread::yield();
      ++seen;
      if (stop_.load()) return;
      try {
        call_(rank);
      } catch (const std::exception&) {
        // Posted to the group by the communicator: rank 0's call fails with it and stops the run.
      }
    }
  }
  std::function<void(int)> call_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

void set_bandwidth(benchmark::State& state, int ranks, int64_t bytes) {
  using benchmark::Counter;
  state.counters["algbw"] = Counter(static_cast<double>(bytes), Counter::kIsIterationInvariantRate, Counter::kIs1024);
  state.counters["busbw"] = Counter(static_cast<double>(bytes) * 2.0 * (ranks - 1) / ranks,
                                    Counter::kIsIterationInvariantRate, Counter::kIs1024);
  state.counters["ranks"] = ranks;
}

detnn::AllReduceAlgorithm algorithm_of(int64_t arg) {
  return arg == 0 ? detnn::AllReduceAlgorithm::recursive_halving : detnn::AllReduceAlgorithm::all_to_all;
}

void BM_AllReduceLocalComm(benchmark::State& state) {
  const int ranks = static_cast<int>(state.range(0));
  const int64_t count = state.range(1) / static_cast<int64_t>(sizeof(float));
  detnn::LocalCommGroup group(ranks, 600.0);
  for (int r = 0; r < ranks; ++r) group.comm(r).set_all_reduce_algorithm(algorithm_of(state.range(2)));
  std::vector<std::vector<float>> buffers(ranks, std::vector<float>(static_cast<size_t>(count), 0.0f));
  {
    RankHelpers helpers(ranks, [&](int r) { group.comm(r).all_reduce_pairwise(buffers[r].data(), count); });
    for (auto _ : state) {
      helpers.go();
      group.comm(0).all_reduce_pairwise(buffers[0].data(), count);
    }
  }
  set_bandwidth(state, ranks, count * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_AllReduceLocalComm)
    ->ArgsProduct({{2, 4, 7}, {4 << 10, 1 << 20, 64 << 20}, {0, 1}})
    ->ArgNames({"ranks", "bytes", "algorithm"})
    ->UseRealTime();

#ifdef DETNN_HAVE_CUDA
// One NcclGroup over every visible GPU for the whole run (creating one takes a while), with a
// stream and a zeroed buffer of the largest size per rank.
struct NcclBench {
  std::unique_ptr<detnn::NcclGroup> group;
  std::vector<cudaStream_t> streams;
  std::vector<float*> buffers;
  static constexpr int64_t kMaxBytes = int64_t{256} << 20;

  NcclBench() {
    std::vector<int> devices(detnn::cuda_device_count());
    for (size_t d = 0; d < devices.size(); ++d) devices[d] = static_cast<int>(d);
    group = std::make_unique<detnn::NcclGroup>(devices, 600.0);
    for (int d : devices) {
      detnn::CudaDeviceGuard guard(d);
      cudaStream_t s = nullptr;
      float* p = nullptr;
      DETNN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      DETNN_CUDA_CHECK(cudaMalloc(&p, kMaxBytes));
      DETNN_CUDA_CHECK(cudaMemset(p, 0, kMaxBytes));
      streams.push_back(s);
      buffers.push_back(p);
    }
  }
  // Null (and the reason in `error`) when no group can be made. The one made is kept to the end of
  // the process, never destroyed: tearing NCCL down in static destruction, after the CUDA runtime
  // may have gone, could stall the exit.
  static NcclBench* get(std::string* error) {
    static NcclBench* bench = nullptr;
    static std::string failure;
    if (bench == nullptr && failure.empty()) {
      try {
        bench = new NcclBench();
      } catch (const std::exception& e) {
        failure = e.what();
      }
    }
    *error = failure;
    return bench;
  }
};

// deterministic: by `algorithm`; otherwise NCCL's own all-reduce.
void run_nccl(benchmark::State& state, bool deterministic,
              detnn::AllReduceAlgorithm algorithm = detnn::AllReduceAlgorithm::recursive_halving) {
  if (!detnn::bench::have_gpu(state)) return;
  std::string error;
  NcclBench* b = NcclBench::get(&error);
  if (b == nullptr) {
    state.SkipWithError(("no NCCL group: " + error).c_str());
    return;
  }
  const int ranks = b->group->size();
  const int64_t count = state.range(0) / static_cast<int64_t>(sizeof(float));
  for (int r = 0; r < ranks; ++r) b->group->nccl_comm(r).set_all_reduce_algorithm(algorithm);
  const auto call = [&](int r) {
    detnn::NcclComm& comm = b->group->nccl_comm(r);
    const auto s = reinterpret_cast<uintptr_t>(b->streams[r]);
    if (deterministic) {
      comm.all_reduce_pairwise_device(b->buffers[r], count, s);
    } else {
      comm.all_reduce_unordered_device(b->buffers[r], count, s);
    }
  };
  {
    RankHelpers helpers(ranks, call);
    try {
      helpers.go();  // warm-up: NCCL connects its peers on first use
      call(0);
      for (auto _ : state) {
        helpers.go();
        call(0);  // returns when the result is in the buffer
      }
    } catch (const std::exception& e) {
      // The group has failed (a helper's error reaches rank 0 as Error(comm) within a millisecond).
      state.SkipWithError(e.what());
      return;
    }
  }
  set_bandwidth(state, ranks, count * static_cast<int64_t>(sizeof(float)));
}

void BM_AllReduceHalvingNcclCuda(benchmark::State& state) {
  run_nccl(state, true, detnn::AllReduceAlgorithm::recursive_halving);
}
void BM_AllReduceAllToAllNcclCuda(benchmark::State& state) {
  run_nccl(state, true, detnn::AllReduceAlgorithm::all_to_all);
}
void BM_AllReduceUnorderedNcclCuda(benchmark::State& state) { run_nccl(state, false); }
BENCHMARK(BM_AllReduceHalvingNcclCuda)
    ->RangeMultiplier(4)
    ->Range(4 << 10, NcclBench::kMaxBytes)
    ->ArgName("bytes")
    ->UseRealTime();
BENCHMARK(BM_AllReduceAllToAllNcclCuda)
    ->RangeMultiplier(4)
    ->Range(4 << 10, NcclBench::kMaxBytes)
    ->ArgName("bytes")
    ->UseRealTime();
BENCHMARK(BM_AllReduceUnorderedNcclCuda)
    ->RangeMultiplier(4)
    ->Range(4 << 10, NcclBench::kMaxBytes)
    ->ArgName("bytes")
    ->UseRealTime();
#endif

}  // namespace
