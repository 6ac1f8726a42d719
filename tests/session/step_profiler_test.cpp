// The step profiler (runtime/step_profiler.h): only the outermost parts are timed, totals add up
// by name in first-seen order, misuse is an internal error; a profiled session names every
// top-level layer's forward and backward and the session's own parts, and computes the bits of
// an unprofiled one (profiling must change nothing).
#include "runtime/step_profiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "runtime/error.h"
#include "session/session.h"
#include "support/session_test_util.h"

namespace detnn {
namespace {

using testing::every_layer_model_json;
using testing::parse_test_model;
using testing::synthetic_batches;

std::vector<std::string> part_names(const StepProfiler& p) {
  std::vector<std::string> names;
  for (const auto& [name, ms] : p.totals()) names.push_back(name);
  return names;
}

TEST(StepProfiler, TimesOnlyTheOutermostPartsAndAddsThemUpByName) {
  StepProfiler p(Device::cpu(), 0);
  for (int step = 0; step < 2; ++step) {
    {
      ProfiledPart outer(&p, "block");
      ProfiledPart inner(&p, "inside the block");  // timed with "block", not on its own
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ProfiledPart(&p, "after");
    p.collect();
  }
  ASSERT_EQ(part_names(p), (std::vector<std::string>{"block", "after"}));
  EXPECT_GE(p.totals()[0].second, 2 * 2.0);  // two steps of at least 2 ms each
  // "after" times its own empty scope, not the sleep before it.
  EXPECT_LT(p.totals()[1].second, 2.0);
  ProfiledPart none(nullptr, "ignored");  // a null profiler: nothing happens
}

TEST(StepProfiler, MisuseIsAnInternalError) {
  StepProfiler p(Device::cpu(), 0);
  EXPECT_THROW(p.end(), Error);
  p.begin("open");
  EXPECT_THROW(p.collect(), Error);  // inside a part
  p.end();
  p.collect();
}

TEST(StepProfiler, ASessionNamesItsPartsAndKeepsItsBits) {
  const ModelSpec spec = parse_test_model(every_layer_model_json(16, 4, 2));  // two passes per step
  const auto data = synthetic_batches(48, 5, 2, 12, 12, 3);
  std::vector<std::string> shas;
  std::vector<std::string> names;
  for (bool profiled : {false, true}) {
    Session s(spec, SessionOptions{});
    StepProfiler p(s.device(), s.stream());
    if (profiled) s.set_profiler(&p);
    for (int i = 0; i < 3; ++i) {
      s.train_step(data.images.data() + i * 16 * s.sample_size(), data.labels.data() + i * 16, 16);
      p.collect();
    }
    s.evaluate(data.images.data(), data.labels.data(), 7);
    shas.push_back(s.state_sha256());
    if (profiled) names = part_names(p);
  }
  EXPECT_EQ(shas[0], shas[1]);
  // Every top-level layer forward and backward (a residual block is one part), the session's parts.
  const auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  for (const std::string& n :
       {"upload the batch", "layers.0 conv2d forward", "layers.6 residual forward", "layers.14 linear forward",
        "loss, top-1 count, loss gradient", "layers.14 linear backward", "layers.0 conv2d backward",
        "combine the chunk partials", "read back the loss and count", "batch-norm running statistics",
        "gradient norm", "optimizer update"})
    EXPECT_TRUE(has(n)) << n;
  EXPECT_FALSE(has("layers.6.body.0 conv2d forward"));  // inside the residual block's part
  EXPECT_EQ(std::count_if(names.begin(), names.end(),
                          [](const std::string& n) { return n.size() > 8 && n.ends_with(" forward"); }),
            15);  // the 15 top-level layers
}

}  // namespace
}  // namespace detnn
