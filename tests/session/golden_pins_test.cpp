// Golden pins of training (tests/support/golden_pins.h): the whole-state digest of the every-layer
// model before and after each of its first steps, for two optimizers, pinned per numerics contract
// version. Every other bit test compares two runs of today's code with each other; these compare
// with what the code computed when the pins were recorded, so a numerics change made alike on the
// CPU and the GPU cannot pass unseen.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "session/session.h"
#include "support/golden_pins.h"
#include "support/session_test_util.h"

namespace detnn::testing {
namespace {

constexpr const char* kPins = "every_layer_model.json";
constexpr int kSteps = 4;

struct Series {
  const char* name;
  const char* optimizer;
};

const Series kSeries[] = {
    {"sgd momentum, batch 16, chunk 4", R"({"type": "sgd", "lr": 0.05, "momentum": 0.9})"},
    {"adamw, batch 16, chunk 4", R"({"type": "adamw", "lr": 0.01, "weight_decay": 0.01})"},
};

// The state digest before training and after each step; with `nudge_after` >= 0, one weight is
// moved by one ulp right after that step's digest (what a kernel that rounds one output
// differently would leave behind).
std::vector<std::string> state_digests(const Series& series, int nudge_after = -1) {
  Session s(parse_test_model(every_layer_model_json(16, 4, 0, series.optimizer)));
  const auto data = synthetic_batches(16 * kSteps, 5, 2, 12, 12);
  std::vector<std::string> digests{s.state_sha256()};
  for (int step = 0; step < kSteps; ++step) {
    s.train_step(data.images.data() + step * 16 * s.sample_size(), data.labels.data() + step * 16, 16);
    digests.push_back(s.state_sha256());
    if (step + 1 == nudge_after) {
      const layers::TensorEntry& w = s.parameters().front();
      std::vector<float> values(static_cast<size_t>(w.size));
      s.read_parameter(w.name, values.data(), w.size);
      values[0] = std::nextafter(values[0], INFINITY);
      s.write_parameter(w.name, values.data(), w.size);
    }
  }
  return digests;
}

TEST(GoldenPins, TrainingStepsGiveThePinnedStates) {
  for (const Series& series : kSeries) expect_pinned(kPins, series.name, state_digests(series));
}

// The pins see one ulp: the states after a one-ulp change differ from the pins, those before it
// do not.
TEST(GoldenPins, OneUlpInOneWeightFailsEveryLaterPin) {
  const Series& series = kSeries[0];
  const std::vector<std::string> pinned = pinned_series(kPins, series.name);
  ASSERT_EQ(pinned.size(), static_cast<size_t>(kSteps + 1));
  const std::vector<std::string> nudged = state_digests(series, /*nudge_after=*/2);
  for (int i = 0; i <= kSteps; ++i) {
    if (i <= 2)
      EXPECT_EQ(nudged[i], pinned[i]) << "digest " << i << " was taken before the change";
    else
      EXPECT_NE(nudged[i], pinned[i]) << "digest " << i << " was taken after a one-ulp change";
  }
}

}  // namespace
}  // namespace detnn::testing
