// trainer diff (docs/reproducibility.md): two runs that differ in one hyper-parameter — its JSON
// path, step 1 as the first differing step, the checkpoint tensors that differ; a rerun is
// identical; runs of different models and non-runs are one-line errors.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

class TrainerDiff : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_temp_dir("trainer-diff"); }
  void TearDown() override { fs::remove_all(dir_); }
  // A run of the small model with `from` replaced by `to` in its model file.
  fs::path run(const std::string& name, const std::string& from = "", const std::string& to = "") {
    const fs::path folder = dir_ / (name + "-model");
    fs::create_directories(folder);
    const fs::path model = write_small_model(folder, 1);
    if (!from.empty()) {
      std::ifstream in(model);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      text.replace(at, from.size(), to);
      std::ofstream(model, std::ios::trunc) << text;
    }
    const auto r = run_trainer("--model " + model.string() + " --run-dir " + (dir_ / name).string());
    EXPECT_EQ(r.status, 0) << r.output;
    return dir_ / name;
  }
  fs::path dir_;
};

TEST_F(TrainerDiff, OneHyperParameterIsNamedByItsPathAndStepOne) {
  const fs::path a = run("a"), b = run("b", "\"lr\": 0.05", "\"lr\": 0.02");
  const auto d = run_trainer("diff " + a.string() + " " + b.string());
  EXPECT_EQ(d.status, 2) << d.output;
  EXPECT_NE(d.output.find("config: 1 difference(s)\n  optimizer.lr: 0.05 vs 0.02"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("steps: first difference at step 1 "), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("layers.0.weight: "), std::string::npos) << d.output;

  const auto j = run_trainer("diff --json " + a.string() + " " + b.string());
  EXPECT_EQ(j.status, 2) << j.output;
  const nlohmann::json out = nlohmann::json::parse(j.output);
  EXPECT_EQ(out.at("first_divergent_step"), 1);
  ASSERT_EQ(out.at("config").size(), 1u);
  EXPECT_EQ(out.at("config")[0].at("path"), "optimizer.lr");
  EXPECT_FALSE(out.at("identical").get<bool>());
}

TEST_F(TrainerDiff, ARerunIsIdentical) {
  const fs::path a = run("a"), again = run("again");
  const auto d = run_trainer("diff " + a.string() + " " + again.string());
  EXPECT_EQ(d.status, 0) << d.output;
  EXPECT_NE(d.output.find("config: the same"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("steps: 16 in common, every weights digest and loss identical"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("checkpoints/last.safetensors (step 16): every tensor identical"), std::string::npos)
      << d.output;
  EXPECT_NE(d.output.find("\nidentical\n"), std::string::npos) << d.output;
}

TEST_F(TrainerDiff, RunsOfDifferentModelsAndNonRunsAreRefused) {
  const fs::path a = run("a"), wide = run("wide", "\"out_channels\": 6", "\"out_channels\": 8");
  const auto d = run_trainer("diff " + a.string() + " " + wide.string());
  EXPECT_EQ(d.status, 1) << d.output;
  EXPECT_NE(d.output.find("runs of different models: layers[0].out_channels: 6 vs 8"), std::string::npos) << d.output;
  const auto none = run_trainer("diff " + a.string() + " " + dir_.string());
  EXPECT_EQ(none.status, 1) << none.output;
  EXPECT_NE(none.output.find(dir_.string() + ": not a run directory"), std::string::npos) << none.output;
}

}  // namespace
}  // namespace detnn::testing
