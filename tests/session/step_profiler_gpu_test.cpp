// The step profiler on CUDA: parts timed by events on the session's stream, the bits of an
// unprofiled session, and a session that replays CUDA Graphs refuses a profiler.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/step_profiler.h"
#include "session/session.h"
#include "support/session_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using testing::every_layer_model_json;
using testing::parse_test_model;
using testing::synthetic_batches;

TEST(StepProfilerGpu, TimesTheStepOnTheDeviceAndKeepsItsBits) {
  DETNN_REQUIRE_GPU();
  const ModelSpec spec = parse_test_model(every_layer_model_json());
  const auto data = synthetic_batches(48, 5, 2, 12, 12, 3);
  for (const char* mode : {"strict", "fast"}) {
    std::vector<std::string> shas;
    double total_ms = 0;
    for (bool profiled : {false, true}) {
      SessionOptions o;
      o.device = "cuda";
      o.set("training.determinism", mode);
      o.cuda_graph = CudaGraphSetting::off;
      Session s(spec, o);
      StepProfiler p(s.device(), s.stream());
      if (profiled) s.set_profiler(&p);
      for (int i = 0; i < 3; ++i) {
        s.train_step(data.images.data() + i * 16 * s.sample_size(), data.labels.data() + i * 16, 16);
        p.collect();
      }
      shas.push_back(s.state_sha256());
      for (const auto& [name, ms] : p.totals()) {
        // A convolution's forward runs kernels: its events cannot be 0 ms apart.
        if (name.find("conv2d forward") != std::string::npos) EXPECT_GT(ms, 0.0) << name;
        EXPECT_GE(ms, 0.0) << name;
        total_ms += ms;
      }
      if (profiled) EXPECT_GT(p.totals().size(), 20u) << mode;
    }
    EXPECT_EQ(shas[0], shas[1]) << mode;
    EXPECT_GT(total_ms, 0.0) << mode;
  }
}

TEST(StepProfilerGpu, ASessionReplayingGraphsRefusesIt) {
  DETNN_REQUIRE_GPU();
  SessionOptions o;
  o.device = "cuda";
  o.cuda_graph = CudaGraphSetting::automatic;
  Session s(parse_test_model(every_layer_model_json()), o);
  StepProfiler p(s.device(), s.stream());
  try {
    s.set_profiler(&p);
    FAIL() << "a graph session accepted a profiler";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training.cuda_graph"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace detnn
