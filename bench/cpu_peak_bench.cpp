// The FP32 FMA peak of the kernels' CPU threads (bench/cpu_peak.h), the denominator of every
// CPU benchmark's "peak_fraction".
#include <benchmark/benchmark.h>

#include "cpu_peak.h"
#include "runtime/cpu_isa.h"
#include "runtime/thread_pool.h"

namespace {

void BM_CpuFmaPeak(benchmark::State& state) {
  double gflops = 0.0;
  for (auto _ : state) gflops = detnn::bench::cpu_fma_peak_gflops();
  state.counters["GFLOP/s"] = gflops;
  state.SetLabel(std::string(detnn::cpu_isa_name(detnn::cpu_isa_active())) + ", " +
                 std::to_string(detnn::num_threads()) + " threads");
}
BENCHMARK(BM_CpuFmaPeak)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
