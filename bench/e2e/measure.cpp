#include "measure.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "data/readers.h"
#include "kernels/vendor/algorithm_choice.h"
#include "runtime/error.h"
#include "runtime/step_profiler.h"
#include "session/session.h"
#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include "runtime/alloc/gpu_raw_device.h"
#endif

namespace detnn::bench {

namespace {

struct Batches {
  std::vector<float> images;
  std::vector<int32_t> labels;
};

// `count` global batches of synthetic samples of the model's input shape.
Batches synthetic(const ModelSpec& spec, int64_t count) {
  data::SyntheticSpec s;
  s.count = count * spec.training.batch_size;
  s.classes = static_cast<int32_t>(spec.output.c);
  s.channels = spec.input.c;
  s.height = spec.input.h;
  s.width = spec.input.w;
  s.seed = 1;
  const data::Dataset d = data::make_synthetic(s);
  Batches b;
  b.images.resize(static_cast<size_t>(s.count * d.sample_size()));
  for (int64_t i = 0; i < s.count; ++i) d.sample_to_float(i, b.images.data() + i * d.sample_size());
  b.labels = d.labels;
  return b;
}

void synchronize(const Device& device) {
#ifdef DETNN_HAVE_CUDA
  if (device.is_cuda()) cudaDeviceSynchronize();
#else
  (void)device;
#endif
}

// Starts this mode's peak afresh: the earlier modes' sessions are gone, so their cached segments
// go back to the device and the allocator's peak restarts from what is left (on the CPU the
// process's peak resident size cannot be reset: it only grows from mode to mode).
void reset_peak_bytes(const Device& device) {
#ifdef DETNN_HAVE_CUDA
  if (device.is_cuda()) {
    alloc::CachingAllocator& allocator = alloc::cuda_allocator(device.index);
    allocator.empty_cache();
    allocator.reset_peak();
  }
#else
  (void)device;
#endif
}

uint64_t peak_bytes(const Device& device) {
#ifdef DETNN_HAVE_CUDA
  if (device.is_cuda()) return alloc::cuda_allocator(device.index).stats().peak_reserved_bytes;
#endif
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

// The learning-rate schedule spans the steps the benchmark runs: a session's default horizon is
// the model's epochs at one step each, which a per-step schedule (onecycle) outruns at once. At
// least 100 steps: onecycle needs a few to place its phases in, and the rate is not measured.
void span_schedule(Session& s, int64_t steps) {
  const int64_t horizon = std::max<int64_t>(steps, 100);
  s.set_schedule_horizon(horizon, horizon);
}

// Training step `i` on the synthetic batches (they repeat).
void train_step(Session& s, const Batches& b, int64_t i) {
  const int64_t B = s.spec().training.batch_size, n = static_cast<int64_t>(b.labels.size()) / B;
  s.train_step(b.images.data() + (i % n) * B * s.sample_size(), b.labels.data() + (i % n) * B, B);
}

// Runs warm-up + timed steps in a fresh session; returns the weights' SHA-256.
std::string run(const ModelSpec& spec, const SessionOptions& o, const Batches& b, int64_t steps,
                std::vector<double>* step_ms, std::string* graph_status, std::string* kernel_choices = nullptr) {
  Session s(spec, o);
  span_schedule(s, steps);
  for (int64_t i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    train_step(s, b, i);
    synchronize(s.device());
    if (step_ms != nullptr)
      step_ms->push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (graph_status != nullptr) *graph_status = s.cuda_graph_status();
  if (kernel_choices != nullptr) *kernel_choices = kernel_choices_json(s.kernel_choices());
  return s.weights_sha256();
}

// The session options of `mode` ("strict", "fast", "off", "fast-tf32", "off-tf32").
SessionOptions session_options(const std::string& mode, const MeasureOptions& options) {
  SessionOptions o;
  o.device = options.device;
  // "fast-tf32" / "off-tf32": the mode with TF32 tensor cores allowed.
  const size_t dash = mode.find('-');
  o.set("training.determinism", mode.substr(0, dash));
  o.set("training.precision", dash == std::string::npos ? "fp32" : mode.substr(dash + 1));
  if (options.threads >= 0) o.threads = options.threads;
  o.set("training.cuda_graph", options.cuda_graph);
  return o;
}

const char* kCpuModesOnly = "the CPU runs the strict mode only (fast and off pick cuDNN / cuBLASLt algorithms)";

}  // namespace

ModeResult measure_mode(const ModelSpec& spec, const std::string& mode, const MeasureOptions& options) {
  ModeResult r;
  r.mode = mode;
  r.cuda_graph = options.cuda_graph;
  if (!parse_device(options.device).is_cuda() && mode != "strict") {
    r.reason = kCpuModesOnly;
    return r;
  }
  const SessionOptions o = session_options(mode, options);
  const Batches b = synthetic(spec, std::min<int64_t>(8, options.warmup + options.steps));
  std::vector<double> ms;
  reset_peak_bytes(parse_device(options.device));
  try {
    r.weights_sha256 = run(spec, o, b, options.warmup + options.steps, &ms, &r.graph_status, &r.kernel_choices);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::unsupported) throw;
    r.reason = e.what();
    return r;
  }
  r.available = true;
  std::vector<double> timed(ms.begin() + options.warmup, ms.end());
  std::sort(timed.begin(), timed.end());
  r.ms_per_step = timed.empty() ? 0 : timed[timed.size() / 2];
  r.images_per_s = r.ms_per_step > 0 ? spec.training.batch_size * 1000.0 / r.ms_per_step : 0;
  r.peak_bytes = peak_bytes(parse_device(options.device));
  r.identical_reruns = run(spec, o, b, options.warmup + options.steps, nullptr, nullptr) == r.weights_sha256;
  return r;
}

PartTimes profile_mode(const ModelSpec& spec, const std::string& mode, const MeasureOptions& options) {
  PartTimes t;
  t.mode = mode;
  if (!parse_device(options.device).is_cuda() && mode != "strict") {
    t.reason = kCpuModesOnly;
    return t;
  }
  SessionOptions o = session_options(mode, options);
  o.cuda_graph = CudaGraphSetting::off;  // the parts of an eager step (a replay has no parts to time)
  const Batches b = synthetic(spec, std::min<int64_t>(8, options.warmup + options.steps));
  try {
    Session s(spec, o);
    span_schedule(s, options.warmup + options.steps);
    StepProfiler profiler(s.device(), s.stream());
    for (int64_t i = 0; i < options.warmup + options.steps; ++i) {
      if (i == options.warmup) s.set_profiler(&profiler);
      train_step(s, b, i);
      profiler.collect();
    }
    s.set_profiler(nullptr);
    for (const auto& [part, ms] : profiler.totals())
      t.ms_per_step.emplace_back(part, ms / static_cast<double>(std::max<int64_t>(options.steps, 1)));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::unsupported) throw;
    t.reason = e.what();
  }
  return t;
}

}  // namespace detnn::bench
