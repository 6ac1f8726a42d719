// The trainer's error style (issue 20, items 15 and "one error style"): every refusal is one line,
// "trainer: <where>: <what>", exit status 1 — bad flags included — with no source location and no
// library exception text; --verbose adds where detnn's source refused it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "support/checkpoint_edit.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

class TrainerMessages : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_temp_dir("trainer-messages");
    model_ = write_small_model(dir_, 1);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // `text` with one replacement made in the small model file, written as bad.json.
  fs::path model_with(const std::string& from, const std::string& to) {
    std::string text = bytes_of(model_);
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    const fs::path path = dir_ / "bad.json";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }
  static void expect_one_line_refusal(const CommandResult& r, const std::string& message) {
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(r.output.rfind("trainer: ", 0), 0u) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line: " << r.output;
    EXPECT_EQ(r.output.find(".cpp:"), std::string::npos) << "a source location: " << r.output;
    EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << "library exception text: " << r.output;
  }
  fs::path dir_, model_;
};

TEST_F(TrainerMessages, BadFlagsAreOneLineAndExitOne) {
  const std::string model = "--model " + model_.string() + " --run-dir " + (dir_ / "run").string();
  expect_one_line_refusal(run_trainer(model + " --epochs -1"), "trainer: --epochs: must be >= 0, got -1 (see --help)");
  expect_one_line_refusal(run_trainer(model + " --ranks 0"), "--ranks: must be > 0, got 0");
  expect_one_line_refusal(run_trainer(model + " --comm-timeout abc"), "--comm-timeout: expected a number, got 'abc'");
  expect_one_line_refusal(run_trainer(model + " --bogus"), "--bogus");
  expect_one_line_refusal(run_trainer(model + " --determinism sloppy"), "--determinism");
  // The bound CLI11 would print is DBL_MAX in 309 digits.
  EXPECT_LT(run_trainer(model + " --threads -5").output.size(), 200u);
  EXPECT_FALSE(fs::exists(dir_ / "run"));
  const CommandResult help = run_trainer("--help");
  EXPECT_EQ(help.status, 0) << help.output;
  EXPECT_NE(help.output.find("--model"), std::string::npos);
}

TEST_F(TrainerMessages, AModelPathThatIsADirectoryIsNamedAsSuch) {
  expect_one_line_refusal(run_trainer("--model " + dir_.string()), dir_.string() + ": is a directory, not a model file");
}

TEST_F(TrainerMessages, ANumberBeyondDoubleNamesFileLineAndNumber) {
  const fs::path bad = model_with(R"("lr": 0.05)", R"("lr": 1e999)");
  const std::string text = bytes_of(bad);
  const size_t at = text.find("1e999");
  const std::string line = std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  expect_one_line_refusal(run_trainer("--model " + bad.string()),
                          bad.string() + ": byte " + std::to_string(at) + " (line " + line + ", column ");
  expect_one_line_refusal(run_trainer("--model " + bad.string()), "the number 1e999 is outside the range of a double");
}

// A one-cycle schedule that cannot fit the run was refused only at its first step, after the run
// directory existed, without a JSON path.
TEST_F(TrainerMessages, AScheduleThatCannotFitTheRunIsRefusedBeforeItStarts) {
  const fs::path bad = model_with(R"("lr": 0.05, "momentum": 0.9})",
                                  R"("lr": 0.05, "schedule": {"type": "onecycle", "pct_start": 0.05}})");
  expect_one_line_refusal(run_trainer("--model " + bad.string() + " --run-dir " + (dir_ / "run").string()),
                          "optimizer.schedule: schedule onecycle: pct_start 0.05 * total_steps 16 - 1 must lie in");
  EXPECT_FALSE(fs::exists(dir_ / "run"));
  const fs::path short_total = model_with(R"("lr": 0.05, "momentum": 0.9})",
                                          R"("lr": 0.05, "schedule": {"type": "onecycle", "total_steps": 10}})");
  expect_one_line_refusal(run_trainer("--model " + short_total.string() + " --run-dir " + (dir_ / "run").string()),
                          "optimizer.schedule: schedule onecycle: index 15 is past total_steps 10");
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

TEST_F(TrainerMessages, VerboseAddsWhereDetnnRefusedTheInput) {
  const fs::path bad = model_with(R"("kernel": 3)", R"("kernel": -3)");
  expect_one_line_refusal(run_trainer("--model " + bad.string()), "layers[0].kernel");
  const CommandResult verbose = run_trainer("--model " + bad.string() + " --verbose");
  EXPECT_EQ(verbose.status, 1);
  EXPECT_EQ(std::count(verbose.output.begin(), verbose.output.end(), '\n'), 2) << verbose.output;
  EXPECT_NE(verbose.output.find("trainer: refused by detnn's check "), std::string::npos) << verbose.output;
  EXPECT_NE(verbose.output.find(".cpp:"), std::string::npos) << verbose.output;
}

// A 1 MB key is not echoed whole: messages cut long values and say how long they were.
TEST_F(TrainerMessages, AHugeUnknownKeyIsCutInTheMessage) {
  const std::string key(1'000'000, 'k');
  const fs::path bad = model_with(R"("name": "small")", R"("name": "small", ")" + key + R"(": 1)");
  const CommandResult r = run_trainer("--model " + bad.string());
  expect_one_line_refusal(r, "unknown key");
  EXPECT_LT(r.output.size(), 2000u);
}

// A training set smaller than one batch said "fewer than one batch of 0", after the run directory
// existed (issue 20, item 15).
TEST_F(TrainerMessages, ATrainingSetSmallerThanABatchNamesTheBatchSize) {
  const fs::path bad = model_with(R"("count": 640)", R"("count": 140)");
  expect_one_line_refusal(run_trainer("--model " + bad.string() + " --run-dir " + (dir_ / "run").string()),
                          "data: the training set has 12 samples, fewer than one batch of 32 (training.batch_size)");
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

// A checkpoint whose position is not a number made bisect and diff fail with "trainer: stoll"
// (issue 20, item 15): every tool that opens a checkpoint checks its metadata first.
TEST_F(TrainerMessages, BadCheckpointNumbersAreNamedNotStoll) {
  ASSERT_EQ(run_trainer("--model " + model_.string() + " --run-dir " + (dir_ / "run").string()).status, 0);
  const fs::path last = dir_ / "run" / "checkpoints" / "last.safetensors";
  rewrite_checkpoint_metadata(last, {{"epoch", "abc"}}, MetadataDigest::recompute);
  const CommandResult bisect = run_trainer("bisect --model " + model_.string() + " --checkpoint " + last.string() +
                                           " --dump " + (dir_ / "trace.safetensors").string());
  expect_one_line_refusal(bisect, last.string() + ": checkpoint metadata \"epoch\" is \"abc\", expected a non-negative integer");
  EXPECT_EQ(bisect.output.find("stoll"), std::string::npos) << bisect.output;
}

// Found by fuzz/checkpoint_fuzzer: a 2 kB "format" value was echoed whole. Values from a
// checkpoint are cut in messages, with their length.
TEST_F(TrainerMessages, LongCheckpointValuesAreCutInMessages) {
  ASSERT_EQ(run_trainer("--model " + model_.string() + " --run-dir " + (dir_ / "run").string()).status, 0);
  const fs::path last = dir_ / "run" / "checkpoints" / "last.safetensors";
  rewrite_checkpoint_metadata(last, {{"format", std::string(5000, 'f')}}, MetadataDigest::recompute);
  const CommandResult r = run_trainer("eval --model " + model_.string() + " --checkpoint " + last.string());
  expect_one_line_refusal(r, ": checkpoint format is \"ffff");
  EXPECT_NE(r.output.find("(5000 bytes)"), std::string::npos) << r.output;
  EXPECT_LT(r.output.size(), 600u) << r.output;
}

// The progress lines say how long the run has taken and how long the rest will take (issue 20,
// item 16); the last step's estimate is zero.
TEST_F(TrainerMessages, ProgressLinesCarryElapsedTimeAndETA) {
  const CommandResult r = run_trainer("--model " + model_.string() + " --run-dir " + (dir_ / "run").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("img/s | "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("s elapsed, ETA "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("batch 16/16 loss "), std::string::npos) << r.output;
  const size_t last = r.output.find("batch 16/16 loss ");
  EXPECT_NE(r.output.find(", ETA 0s\n", last), std::string::npos) << r.output;
}

}  // namespace
}  // namespace detnn::testing
