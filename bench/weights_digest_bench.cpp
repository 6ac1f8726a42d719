// What the per-step weights digest costs next to the training step it fingerprints: one model's
// strict CPU step and its digest, in the same binary and run (docs/reproducibility.md quotes the
// ratio). --benchmark_filter=Digest, or the model by its path argument index.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "session/model_file.h"
#include "session/session.h"

namespace {

const char* const kModels[] = {DETNN_SOURCE_DIR "/examples/mnist_cnn.json", DETNN_SOURCE_DIR "/examples/resnet18_cifar.json"};

struct Setup {
  detnn::ModelSpec spec;
  std::vector<float> images;
  std::vector<int32_t> labels;
};

Setup setup(int model) {
  Setup s;
  s.spec = detnn::parse_model_file(kModels[model]);
  s.spec.training.device = "cpu";
  if (model == 1) s.spec.training.batch_size = 32;  // resnet18_cifar on 2 cores: one chunk
  const int64_t b = s.spec.training.batch_size, size = s.spec.input.size();
  s.images.assign(static_cast<size_t>(b * size), 0.25f);
  for (size_t i = 0; i < s.images.size(); i += 7) s.images[i] = -0.5f;
  s.labels.assign(static_cast<size_t>(b), 1);
  return s;
}

void BM_TrainStepCpu(benchmark::State& state) {
  Setup s = setup(static_cast<int>(state.range(0)));
  detnn::Session session(s.spec);
  for (auto _ : state) session.train_step(s.images.data(), s.labels.data(), s.spec.training.batch_size);
  state.SetLabel(s.spec.name);
}
BENCHMARK(BM_TrainStepCpu)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WeightsDigestCpu(benchmark::State& state) {
  Setup s = setup(static_cast<int>(state.range(0)));
  detnn::Session session(s.spec);
  for (auto _ : state) benchmark::DoNotOptimize(session.weights_digest());
  state.SetItemsProcessed(state.iterations() * session.param_count());
  state.SetLabel(s.spec.name);
}
BENCHMARK(BM_WeightsDigestCpu)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
