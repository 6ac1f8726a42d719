// The fast and off modes on CUDA (DESIGN §1, docs/determinism-modes.md):
//  - fast computes what strict computes (the gradient of every parameter tensor and the logits of
//    one batch agree within a stated tolerance of their own scale: cuDNN and cuBLASLt sum in
//    other orders, FFT and Winograd transform);
//  - fast reruns are bit-identical, in FP32 and TF32;
//  - fast is batch-invariant (one chunk per pass vs all chunks in one pass) and gives the same
//    bits on 1 rank and on 2 LocalComm ranks sharing the GPU;
//  - fast pins deterministic algorithms and reports them; off reports what it picked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>
#include <utility>

#include "runtime/comm/local_comm.h"
#include "session/session.h"
#include "support/rank_threads.h"
#include "support/session_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using testing::every_layer_model_json;
using testing::parse_test_model;
using testing::synthetic_batches;

constexpr int kSteps = 3;

SessionOptions options(const std::string& mode, const std::string& precision = "fp32", int64_t chunks_per_pass = -1) {
  SessionOptions o;
  o.device = "cuda";
  o.set("training.determinism", mode);
  o.set("training.precision", precision);
  if (chunks_per_pass >= 0) o.chunks_per_pass = chunks_per_pass;
  return o;
}

// kSteps training steps on one rank; the weights' SHA-256.
std::string train(const ModelSpec& spec, const SessionOptions& o) {
  Session s(spec, o);
  const int64_t b = spec.training.batch_size;
  const auto data =
      synthetic_batches(b * kSteps, static_cast<int32_t>(s.classes()), spec.input.c, spec.input.h, spec.input.w, 5);
  for (int i = 0; i < kSteps; ++i)
    s.train_step(data.images.data() + i * b * s.sample_size(), data.labels.data() + i * b, b);
  return s.state_sha256();
}

// The same on `ranks` LocalComm ranks sharing the GPU; every rank must end with these weights.
std::string train_ranks(const ModelSpec& spec, const SessionOptions& o, int ranks) {
  LocalCommGroup group(ranks, 120.0);
  return testing::train_in_rank_threads(spec, std::vector<SessionOptions>(ranks, o),
                                        [&](int r) { return &group.comm(r); }, &group, kSteps, 5);
}

// max |a - b| / max |b|: the error relative to the largest reference value.
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// Below this fraction of the largest entry of the whole strict gradient, a parameter tensor is
// bounded as if its largest entry were that large. The floor is for tensors whose gradient is
// zero in exact arithmetic: every_layer's first conv bias feeds a batch norm, which removes any
// shift, so strict's gradient there is summation noise (about 3e-7 of the largest entry) and fast
// and off sum in other orders, giving other noise; no bound relative to the noise itself holds.
// Every tensor at least 1/100 of the largest entry is bounded by its own scale (100x finer than
// one bound for the whole gradient), and smaller ones by 1/100 of the whole-gradient bound.
constexpr double kGradientFloor = 1e-2;

// Per parameter tensor t (names and offsets into the flat gradient from Session::parameters()):
//   max |got - want| over t <= tolerance * max(max |want| over t, kGradientFloor * max |want|),
// each failure naming the tensor, `what` (the mode), the error and the bound. Returns the largest
// error / bound ratio over the tensors, with that tensor's name (printed, to show the margin).
std::pair<double, std::string> expect_gradient_close_per_tensor(const std::vector<layers::TensorEntry>& params,
                                                                const std::vector<float>& got,
                                                                const std::vector<float>& want, double tolerance,
                                                                const std::string& what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  double overall = 0;
  for (float w : want) overall = std::max(overall, std::fabs(static_cast<double>(w)));
  // The tensors tile the flat gradient: no entry goes unchecked.
  int64_t covered = 0;
  for (const layers::TensorEntry& e : params) {
    EXPECT_EQ(e.offset, covered) << what << ": " << e.name;
    covered += e.size;
  }
  EXPECT_EQ(covered, static_cast<int64_t>(want.size())) << what;
  std::pair<double, std::string> worst{0.0, ""};
  for (const layers::TensorEntry& e : params) {
    if (e.offset + e.size > static_cast<int64_t>(std::min(got.size(), want.size()))) break;
    double error = 0, scale = 0;
    for (int64_t i = e.offset; i < e.offset + e.size; ++i) {
      error = std::max(error, std::fabs(static_cast<double>(got[i]) - want[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    }
    const double bound = tolerance * std::max(scale, kGradientFloor * overall);
    EXPECT_LE(error, bound) << what << ": gradient of " << e.name << " (" << e.size << " values, largest strict |g| "
                            << scale << "): max |difference| " << error << " exceeds the bound " << bound << " ("
                            << tolerance << " of " << std::max(scale, kGradientFloor * overall) << ")";
    const double ratio = bound > 0 ? error / bound : (error > 0 ? INFINITY : 0.0);
    if (ratio >= worst.first) worst = {ratio, e.name};
  }
  return worst;
}

struct GradientAndLogits {
  std::vector<float> gradient, logits;
  std::vector<layers::TensorEntry> params;  // where each parameter tensor is in `gradient`
};

GradientAndLogits gradient_and_logits(const ModelSpec& spec, const SessionOptions& o) {
  Session s(spec, o);
  const int64_t b = spec.training.batch_size;
  const auto data =
      synthetic_batches(b, static_cast<int32_t>(s.classes()), spec.input.c, spec.input.h, spec.input.w, 9);
  s.forward_backward(data.images.data(), data.labels.data(), b);
  GradientAndLogits out;
  out.gradient = s.gradient();
  out.params = s.parameters();
  out.logits.resize(static_cast<size_t>(b * s.classes()));
  s.predict(data.images.data(), b, out.logits.data());
  return out;
}

// 32 samples in chunks of 4: 8 chunks.
const std::string kModel = every_layer_model_json(32, 4);

TEST(SessionModesGpu, FastAndOffComputeWhatStrictComputes) {
  DETNN_REQUIRE_GPU();
  // One chunk per batch, so that strict's ghost batch norm normalizes over the same samples as
  // off's (off gives a rank one chunk: its whole batch).
  const ModelSpec spec = parse_test_model(every_layer_model_json(16, 16));
  const GradientAndLogits strict = gradient_and_logits(spec, options("strict"));
  // Tolerances: FP32 with other summation orders (and FFT / Winograd transforms) through eleven
  // layers stays within 1e-3 of each parameter tensor's largest gradient entry (and of the
  // largest logit); TF32 keeps 10 mantissa bits (2^-11 = 5e-4 per product), so 3e-2.
  for (const auto& [mode, precision, tolerance] : std::vector<std::tuple<std::string, std::string, double>>{
           {"fast", "fp32", 1e-3}, {"off", "fp32", 1e-3}, {"fast", "tf32", 3e-2}, {"off", "tf32", 3e-2}}) {
    const GradientAndLogits v = gradient_and_logits(spec, options(mode, precision));
    const std::string what = mode + " " + precision;
    const auto [worst, worst_tensor] =
        expect_gradient_close_per_tensor(strict.params, v.gradient, strict.gradient, tolerance, what);
    const double l = relative_error(v.logits, strict.logits);
    EXPECT_LE(l, tolerance) << what << ": logits";
    std::printf("[ INFO ] %s vs strict: gradient at %.2f of its bound at worst (%s), logits %.2e (relative to "
                "the largest value)\n",
                what.c_str(), worst, worst_tensor.c_str(), l);
  }
}

// Parameters at 4- and 8-byte-aligned places of the flat parameter buffer (PyTorch allocates
// each on its own, detnn packs them): narrower cuBLASLt alignments, linear biases added after the
// product instead of in the epilogue (which wants 16 bytes), cuDNN on a misaligned filter and
// bias. Offsets in floats: conv1 W 0, b 27 (byte 108); conv2 W 30 (byte 120), b 84; linear1 W 86
// (byte 344), b 386 (byte 1544); linear2 W 392, b 410 (byte 1640). Tolerance 1e-4 of each
// parameter tensor's largest gradient entry and of the largest logit: sums in other orders (off
// may pick FFT or Winograd).
TEST(SessionModesGpu, OddlyPlacedParametersComputeWhatStrictComputes) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(R"({"name": "odd_places", "input": [1, 5, 5],
    "layers": [{"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1}, {"type": "flatten"},
               {"type": "linear", "out_features": 6}, {"type": "relu"}, {"type": "linear", "out_features": 3}],
    "optimizer": {"type": "sgd", "lr": 0.1}, "training": {"batch_size": 16, "chunk_size": 16, "seed": 3}})");
  const GradientAndLogits strict = gradient_and_logits(spec, options("strict"));
  for (const char* mode : {"fast", "off"}) {
    const GradientAndLogits v = gradient_and_logits(spec, options(mode));
    const auto [worst, worst_tensor] =
        expect_gradient_close_per_tensor(strict.params, v.gradient, strict.gradient, 1e-4, mode);
    EXPECT_LE(relative_error(v.logits, strict.logits), 1e-4) << mode << ": logits";
    std::printf("[ INFO ] %s vs strict: gradient at %.2f of its bound at worst (%s)\n", mode, worst,
                worst_tensor.c_str());
  }
  EXPECT_EQ(train(spec, options("fast")), train(spec, options("fast")));
}

TEST(SessionModesGpu, FastRerunsAreBitIdentical) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(kModel);
  for (const char* precision : {"fp32", "tf32"}) {
    const std::string a = train(spec, options("fast", precision));
    EXPECT_EQ(train(spec, options("fast", precision)), a) << precision;
  }
  const ModelSpec mnist = parse_model_file(DETNN_SOURCE_DIR "/examples/mnist_cnn.json");
  EXPECT_EQ(train(mnist, options("fast")), train(mnist, options("fast"))) << "mnist_cnn";
}

// The trainer creates its ranks' sessions on the main thread and trains each on a thread of its
// own: the vendor calls' workspace (per thread) must be there on the training thread too.
TEST(SessionModesGpu, FastTrainsOnAnotherThreadThanItWasCreatedOn) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(kModel);
  const std::string here = train(spec, options("fast"));
  Session s(spec, options("fast"));
  const int64_t b = spec.training.batch_size;
  const auto data =
      synthetic_batches(b * kSteps, static_cast<int32_t>(s.classes()), spec.input.c, spec.input.h, spec.input.w, 5);
  std::string error;
  std::thread worker([&] {
    try {
      for (int i = 0; i < kSteps; ++i)
        s.train_step(data.images.data() + i * b * s.sample_size(), data.labels.data() + i * b, b);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  worker.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(s.state_sha256(), here);
}

TEST(SessionModesGpu, FastIsBatchInvariantAndRankCountInvariant) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(kModel);
  const std::string all = train(spec, options("fast", "fp32", 0));  // 8 chunks per call
  EXPECT_EQ(train(spec, options("fast", "fp32", 1)), all) << "one chunk per pass";
  EXPECT_EQ(train(spec, options("fast", "fp32", 3)), all) << "passes of 3, 3 and 2 chunks";
  EXPECT_EQ(train_ranks(spec, options("fast"), 2), all) << "2 LocalComm ranks on one GPU";
  EXPECT_EQ(train_ranks(spec, options("fast"), 4), all) << "4 LocalComm ranks on one GPU";
}

TEST(SessionModesGpu, FastLogitsDoNotDependOnTheEvaluationBatchSize) {
  DETNN_REQUIRE_GPU();
  std::vector<std::vector<float>> logits;
  for (int64_t eval_batch : {32, 7, 45}) {  // whole chunks; tails of 7 and 13 samples padded
    ModelSpec spec = parse_test_model(kModel);
    spec.training.eval_batch_size = eval_batch;
    Session s(spec, options("fast"));
    const auto data = synthetic_batches(45, 5, spec.input.c, spec.input.h, spec.input.w, 11);
    logits.emplace_back(static_cast<size_t>(45 * s.classes()));
    s.predict(data.images.data(), 45, logits.back().data());
  }
  for (size_t i = 1; i < logits.size(); ++i)
    EXPECT_EQ(test::first_bit_difference(logits[i].data(), logits[0].data(), logits[0].size()), -1) << i;
}

TEST(SessionModesGpu, FastPinsDeterministicAlgorithmsAndReportsThem) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(kModel);
  Session fast(spec, options("fast"));
  const nlohmann::json choices = nlohmann::json::parse(kernel_choices_json(fast.kernel_choices()));
  // 6 conv2d layers (3 calls each) and 2 linear layers (3 GEMMs each), pinned at construction.
  EXPECT_EQ(choices.size(), 6u * 3 + 2u * 3) << choices.dump(1);
  for (const auto& c : choices) {
    EXPECT_TRUE(c.at("deterministic").get<bool>()) << c.dump();
    EXPECT_FALSE(c.at("tensor_cores").get<bool>()) << c.dump();
    // Every call covers one reduction chunk of 4 samples.
    const std::string op = c.at("op").get<std::string>(), shape = c.at("shape").get<std::string>();
    const std::string expected = op.rfind("conv2d", 0) == 0       ? "N=4 "
                                 : op == "linear backward-filter" ? " k=4 "
                                                                  : "m=4 ";
    EXPECT_NE(shape.find(expected), std::string::npos) << c.dump();
  }
  Session off(spec, options("off"));
  EXPECT_EQ(off.kernel_choices().size(), choices.size());
  Session strict(spec, options("strict"));
  EXPECT_TRUE(strict.kernel_choices().empty());
}

}  // namespace
}  // namespace detnn
