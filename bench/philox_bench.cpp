// Philox draws on the CPU (the GPU draws are inside kernels that use them).
#include <benchmark/benchmark.h>

#include <vector>

#include "runtime/philox.h"

namespace {

void BM_PhiloxUniformCpu(benchmark::State& state) {
  const auto key = detnn::philox_stream_key(1, detnn::RandomPurpose::test);
  std::vector<float> out(1 << 16);
  for (auto _ : state) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = detnn::random_uniform(key, i, 1, 2);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * out.size());
}
BENCHMARK(BM_PhiloxUniformCpu);

void BM_PhiloxNormalCpu(benchmark::State& state) {
  const auto key = detnn::philox_stream_key(1, detnn::RandomPurpose::test);
  std::vector<float> out(1 << 16);
  for (auto _ : state) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = detnn::random_normal(key, i, 1, 2);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * out.size());
}
BENCHMARK(BM_PhiloxNormalCpu);

}  // namespace
