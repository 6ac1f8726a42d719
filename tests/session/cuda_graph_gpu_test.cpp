// CUDA Graphs of the training step (session/step_graph.h, docs/cuda-graphs.md): a session with
// training.cuda_graph "auto" runs its first step eagerly, captures the second and replays it
// from then on; every step must give the eager session's bits — the weights, the loss and the
// correct count — in strict (where those are also the CPU's bits) and in fast, with dropout (its
// step comes from the device), batch norm (its statistics buffers outlive the capture), one and
// several passes per step (gradient accumulation), and with evaluation, checkpoint loads and a
// refused non-finite step in between.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "session/session.h"
#include "support/session_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using testing::every_layer_model_json;
using testing::parse_test_model;
using testing::synthetic_batches;

constexpr int kSteps = 5;

SessionOptions options(const std::string& device, const std::string& mode, const std::string& graph,
                       int64_t chunks_per_pass = -1) {
  SessionOptions o;
  o.device = device;
  o.set("training.determinism", mode);
  o.set("training.cuda_graph", graph);
  if (chunks_per_pass >= 0) o.chunks_per_pass = chunks_per_pass;
  return o;
}

struct Trace {
  std::vector<std::string> states;   // the state digest after each step
  std::vector<uint32_t> losses;      // the loss bits of each step
  std::vector<int64_t> correct;
  std::string graph_status;
};

// kSteps steps; between steps 3 and 4 an evaluation with another batch size (new call shapes,
// a larger vendor workspace in fast) that must change nothing.
Trace train(const ModelSpec& spec, const SessionOptions& o) {
  Session s(spec, o);
  const int64_t b = spec.training.batch_size;
  const auto data =
      synthetic_batches(b * kSteps, static_cast<int32_t>(s.classes()), spec.input.c, spec.input.h, spec.input.w, 5);
  Trace t;
  for (int i = 0; i < kSteps; ++i) {
    const StepStats st = s.train_step(data.images.data() + i * b * s.sample_size(), data.labels.data() + i * b, b);
    t.states.push_back(s.state_sha256());
    t.losses.push_back(test::float_bits(st.loss));
    t.correct.push_back(st.correct);
    if (i == 2) s.evaluate(data.images.data(), data.labels.data(), 3 * b - 1);
  }
  t.graph_status = s.cuda_graph_status();
  return t;
}

// Under compute-sanitizer the caching allocator is off (DETNN_NO_CACHING), and a graph needs it:
// the session then says so and runs eagerly (the bits are checked all the same).
void expect_replaying(const std::string& status, const std::string& what) {
  const char* no_caching = std::getenv("DETNN_NO_CACHING");
  if (no_caching != nullptr && *no_caching != '\0' && std::string(no_caching) != "0")
    EXPECT_EQ(status.rfind("eager: the capture failed: the caching allocator is off", 0), 0u)
        << what << ": " << status;
  else
    EXPECT_EQ(status.rfind("replaying (", 0), 0u) << what << ": " << status;
}

void expect_same_steps(const Trace& got, const Trace& want, const std::string& what) {
  for (int i = 0; i < kSteps; ++i) {
    EXPECT_EQ(got.states[i], want.states[i]) << what << ": step " << i;
    EXPECT_EQ(got.losses[i], want.losses[i]) << what << ": step " << i;
    EXPECT_EQ(got.correct[i], want.correct[i]) << what << ": step " << i;
  }
}

TEST(CudaGraphGpu, ReplaysGiveTheEagerBitsInStrictAndFast) {
  DETNN_REQUIRE_GPU();
  for (int64_t per_pass : {int64_t{0}, int64_t{1}, int64_t{3}}) {
    const ModelSpec spec = parse_test_model(every_layer_model_json(16, 4, per_pass));
    for (const char* mode : {"strict", "fast"}) {
      const std::string what = std::string(mode) + ", chunks_per_pass " + std::to_string(per_pass);
      const Trace eager = train(spec, options("cuda", mode, "off"));
      const Trace graph = train(spec, options("cuda", mode, "auto"));
      EXPECT_EQ(eager.graph_status, "off (training.cuda_graph)") << what;
      expect_replaying(graph.graph_status, what);
      expect_same_steps(graph, eager, what);
      if (std::string(mode) == "strict")
        expect_same_steps(graph, train(spec, options("cpu", mode, "off")), what + " vs CPU");
    }
  }
}

// off promises no bits, so its replays are checked against strict by value: the first step's loss
// (the same initial weights; cuDNN's sums in another order) within 1e-4, each later one within
// 5% (the runs drift apart), and every step moves the state.
TEST(CudaGraphGpu, OffModeReplaysToo) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(every_layer_model_json());
  const Trace graph = train(spec, options("cuda", "off", "auto"));
  const Trace strict = train(spec, options("cuda", "strict", "off"));
  expect_replaying(graph.graph_status, "off");
  const auto loss = [](uint32_t bits) {
    float v = 0;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  };
  for (int i = 0; i < kSteps; ++i) {
    const float got = loss(graph.losses[i]), want = loss(strict.losses[i]);
    ASSERT_TRUE(std::isfinite(got)) << "step " << i;
    EXPECT_NEAR(got, want, (i == 0 ? 1e-4 : 5e-2) * std::fabs(want)) << "step " << i;
    if (i > 0) EXPECT_NE(graph.states[i], graph.states[i - 1]) << "step " << i << " changed nothing";
  }
}

// A non-finite step after the capture is refused as eagerly (naming the layer, no update); the
// graph is dropped (the diagnosis ran an eager forward) and captured again, and the run goes on
// with the eager session's bits. A checkpoint load between replays is seen by the next replay.
TEST(CudaGraphGpu, RefusedStepsAndLoadedStatesKeepTheEagerBits) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(every_layer_model_json());
  const int64_t b = spec.training.batch_size;
  std::vector<std::string> runs;
  for (const char* graph : {"off", "auto"}) {
    Session s(spec, options("cuda", "strict", graph));
    const auto data =
        synthetic_batches(b * 4, static_cast<int32_t>(s.classes()), spec.input.c, spec.input.h, spec.input.w, 5);
    const auto step = [&](int i) {
      s.train_step(data.images.data() + (i % 4) * b * s.sample_size(), data.labels.data() + (i % 4) * b, b);
    };
    for (int i = 0; i < 3; ++i) step(i);
    const std::vector<NamedTensor> saved = s.state_tensors();
    std::vector<float> w(8 * 4 * 3 * 3);
    s.read_parameter("layers.3.weight", w.data(), static_cast<int64_t>(w.size()));
    std::vector<float> poisoned = w;
    poisoned[5] = INFINITY;
    s.write_parameter("layers.3.weight", poisoned.data(), static_cast<int64_t>(poisoned.size()));
    const std::string before = s.state_sha256();
    try {
      step(3);
      ADD_FAILURE() << graph << ": expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("layers.3 (conv2d)"), std::string::npos) << graph << ": " << e.what();
    }
    EXPECT_EQ(s.state_sha256(), before) << graph;
    s.write_parameter("layers.3.weight", w.data(), static_cast<int64_t>(w.size()));
    for (int i = 3; i < 6; ++i) step(i);
    s.load_state_tensors(saved, "test");  // back to the state after step 3
    s.set_steps_done(3);
    for (int i = 3; i < 6; ++i) step(i);
    if (std::string(graph) == "auto") expect_replaying(s.cuda_graph_status(), "after a refused step and a load");
    runs.push_back(s.state_sha256());
  }
  EXPECT_EQ(runs[0], runs[1]);
}

}  // namespace
}  // namespace detnn
