// trainer bisect (docs/reproducibility.md) against traces made by this test binary, standing in
// for another build: the same step and batch from the same checkpoint, with a test-only
// perturbation — the last bit of one element of layer k's forward output at step s, or of one
// element of layer k's weight gradient — must be named "layer k, forward" / "layer k, backward";
// without one, every output and gradient is identical. Two thread counts are identical too.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "detnn/detnn.hpp"
#include "session/checkpoint.h"
#include "session/model_file.h"
#include "session/step_trace.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

void flip_last_bit(float* x) {
  uint32_t bits;
  std::memcpy(&bits, x, sizeof bits);
  bits ^= 1u;
  std::memcpy(x, &bits, sizeof bits);
}

class TrainerBisect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_temp_dir("trainer-bisect");
    model_ = write_small_model(dir_, 1);  // 16 steps: the checkpoint is of step 16
    const auto run = run_trainer("--model " + model_.string() + " --run-dir " + (dir_ / "run").string());
    ASSERT_EQ(run.status, 0) << run.output;
    checkpoint_ = dir_ / "run" / "checkpoints" / "last.safetensors";
    // The batch the checkpoint's run takes next: batch 0 of the second epoch.
    api::Model model = api::Model::from_file(model_.string());
    const api::Data data(model);
    images_.resize(static_cast<size_t>(data.info().batch_size * data.info().sample_size));
    labels_.resize(static_cast<size_t>(data.info().batch_size));
    api::Loader loader(data, 1, 0, 2);
    ASSERT_TRUE(loader.next(images_.data(), labels_.data()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // This binary's trace of the step, with the observers installed (empty: none).
  fs::path trace(const std::string& name, Session::ForwardObserver forward, Session::GradientObserver gradient) {
    Session s(parse_model_file(model_.string()));
    load_checkpoint(s, checkpoint_.string(), /*check_model=*/false);
    s.set_observers(std::move(forward), std::move(gradient));
    const fs::path path = dir_ / (name + ".safetensors");
    write_step_trace(s, images_.data(), labels_.data(), static_cast<int64_t>(labels_.size()), path.string());
    return path;
  }
  CommandResult bisect_against(const fs::path& trace) {
    return run_trainer("bisect --model " + model_.string() + " --checkpoint " + checkpoint_.string() + " --against " +
                       trace.string());
  }

  fs::path dir_, model_, checkpoint_;
  std::vector<float> images_;
  std::vector<int32_t> labels_;
};

TEST_F(TrainerBisect, WithoutAPerturbationEveryOutputAndGradientIsIdentical) {
  const auto r = bisect_against(trace("plain", {}, {}));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("identical: every layer's forward output (7) and every gradient (6)"), std::string::npos)
      << r.output;
  const auto threads = run_trainer("bisect --model " + model_.string() + " --checkpoint " + checkpoint_.string() +
                                   " --threads 2 --vs-threads 1");
  EXPECT_EQ(threads.status, 0) << threads.output;
}

TEST_F(TrainerBisect, OneBitOfLayerKsForwardOutputIsNamedLayerKForward) {
  for (const std::string layer : {"layers.0", "layers.1", "layers.6"}) {
    const auto r = bisect_against(trace("forward-" + layer,
                                        [&](const layers::ExecContext& ctx, const layers::Layer& l, Tensor& y) {
                                          if (ctx.step == 16 && ctx.first_sample == 0 && l.name() == layer)
                                            flip_last_bit(y.data<float>() + 5);
                                        },
                                        {}));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("first difference: " + layer + " ("), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("), forward: forward/" + layer + ": 1 of "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("max 1 ulps"), std::string::npos) << r.output;
    std::printf("[ INFO ] %s", r.output.substr(r.output.find("first difference")).c_str());
  }
}

TEST_F(TrainerBisect, OneBitOfLayerKsWeightGradientIsNamedLayerKBackward) {
  Session probe(parse_model_file(model_.string()));
  for (const layers::TensorEntry& e : probe.parameters()) {
    if (e.name != "layers.0.weight" && e.name != "layers.6.weight") continue;
    const int64_t offset = e.offset + 3;
    const auto r = bisect_against(trace("backward-" + e.name, {}, [&](Tensor& g) { flip_last_bit(g.data<float>() + offset); }));
    const std::string layer = e.name.substr(0, e.name.rfind('.'));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("first difference: " + layer + ", backward (every forward output identical): gradient/" +
                            e.name + ": 1 of "),
              std::string::npos)
        << r.output;
  }
}

TEST_F(TrainerBisect, BadInputIsAOneLineError) {
  const auto none = run_trainer("bisect --model " + model_.string());
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.output.find("bisect: give a second setting"), std::string::npos) << none.output;
  const auto not_trace = bisect_against(checkpoint_);
  EXPECT_EQ(not_trace.status, 1);
  EXPECT_NE(not_trace.output.find(checkpoint_.string() + ": not a step trace"), std::string::npos) << not_trace.output;
}

}  // namespace
}  // namespace detnn::testing
