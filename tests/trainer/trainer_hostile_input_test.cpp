// Hostile inputs that once crashed, hung or went through silently (issue 20), each refused now
// with a one-line error naming what is wrong, before the run directory is made where it can be:
// a communication timeout of 1e19 s, epochs near 2^63, --save-init onto an existing path (a
// device node included), a model name that would escape runs/, a convolution padding of 2^62,
// and a checkpoint holding a NaN (on resume and in eval).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <string>

#include "runtime/io/safetensors.h"
#include "support/checkpoint_edit.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

class TrainerHostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_temp_dir("trainer-hostile");
    model_ = write_small_model(dir_, 1);
  }
  void TearDown() override { fs::remove_all(dir_); }
  CommandResult train(const std::string& flags) {
    return run_trainer("--model " + model_.string() + " --run-dir " + (dir_ / "run").string() + " " + flags);
  }
  void expect_refused(const CommandResult& r, const std::string& message) {
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line: " << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "run")) << "the run directory was made: " << r.output;
  }
  fs::path dir_, model_;
};

TEST_F(TrainerHostileInput, AHugeCommTimeoutIsRefusedInsteadOfHanging) {
  expect_refused(train("--ranks 2 --comm-timeout 1e19"), "the timeout must be at most 1e+06 seconds, got 1e+19");
}

TEST_F(TrainerHostileInput, ThreadsTheSystemWillNotStartAreAnErrorNotAHang) {
  expect_refused(train("--threads 100000"), "training.threads: at most 1024 CPU threads, got 100000");
  // Under an address-space limit the system refuses threads part way: a clear error, no hang.
  // (AddressSanitizer reserves terabytes of address space: under such a limit it cannot start.)
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the address-space limit leaves no room for AddressSanitizer's shadow memory";
#endif
  const fs::path out = dir_ / "out.txt";
  const std::string cmd = "ulimit -v 2000000; timeout 120 " + std::string(DETNN_TRAINER_PATH) + " --model " +
                          model_.string() + " --threads 1000 --run-dir " + (dir_ / "limited").string() + " > " +
                          out.string() + " 2>&1";
  const int status = std::system(("bash -c '" + cmd + "'").c_str());
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << " " << text;
  EXPECT_NE(text.find("cannot start 1000 CPU threads (the system started "), std::string::npos) << text;
}

TEST_F(TrainerHostileInput, EpochsBeyondTheStepCounterAreRefused) {
  expect_refused(train("--epochs 9223372036854775807"),
                 "training.epochs: 9223372036854775807 epochs of 16 steps are more than the 4294967295 steps");
}

TEST_F(TrainerHostileInput, SaveInitNeverReplacesAnything) {
  std::ofstream(dir_ / "there.safetensors") << "mine";
  expect_refused(train("--save-init " + (dir_ / "there.safetensors").string()),
                 "--save-init: " + (dir_ / "there.safetensors").string() + " exists");
  std::ifstream in(dir_ / "there.safetensors");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "mine");
  expect_refused(train("--save-init /dev/null"), "--save-init: /dev/null exists");
}

TEST_F(TrainerHostileInput, AHugePaddingIsRefusedNamingTheLayer) {
  std::ifstream in(model_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("\"padding\": 1"), 12, "\"padding\": 4611686018427387904");
  std::ofstream(model_, std::ios::trunc) << text;
  expect_refused(train(""), "layers[0]: conv2d: pad_h must be at most 2^24, got 4611686018427387904");
}

TEST_F(TrainerHostileInput, AModelNameCannotPlaceTheRunOutsideRuns) {
  for (const std::string name : {"../escape", "/abs"}) {
    std::ifstream in(model_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("\"name\": \"small\""), 15, "\"name\": \"" + name + "\"");
    const fs::path model = dir_ / "named.json";
    std::ofstream(model, std::ios::trunc) << text;
    const fs::path cwd = dir_ / ("cwd" + std::to_string(name.size()));
    fs::create_directories(cwd);
    const fs::path saved = fs::current_path();
    fs::current_path(cwd);
    const auto r = run_trainer("--model " + model.string() + " --epochs 0");
    fs::current_path(saved);
    EXPECT_EQ(r.status, 0) << r.output;
    ASSERT_TRUE(fs::exists(cwd / "runs")) << r.output;
    int runs = 0;
    for (const auto& entry : fs::directory_iterator(cwd / "runs")) {
      ++runs;
      EXPECT_EQ(entry.path().filename().string().rfind(name == "/abs" ? "_abs-" : "___escape-", 0), 0u) << entry.path();
    }
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(fs::exists(cwd / "escape")) << r.output;
  }
}

TEST_F(TrainerHostileInput, ACheckpointWithANaNIsRefusedNamingTheTensorAndIndex) {
  ASSERT_EQ(train("").status, 0);
  const fs::path last = dir_ / "run" / "checkpoints" / "last.safetensors";
  SafetensorsFile file = read_safetensors(last.string());
  std::vector<SafetensorsTensorView> views;
  for (SafetensorsTensor& t : file.tensors) {
    if (t.name == "layers.1.running_var") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(t.bytes.data() + 2 * sizeof(float), &nan, sizeof nan);
    }
    views.push_back({t.name, t.dtype, t.shape, t.bytes.data()});
  }
  write_safetensors(last.string(), views, file.metadata);
  const auto resumed = run_trainer("--resume " + (dir_ / "run").string() + " --epochs 2");
  EXPECT_EQ(resumed.status, 1) << resumed.output;
  EXPECT_NE(resumed.output.find("tensor layers.1.running_var has a non-finite value (nan) at index 2"), std::string::npos)
      << resumed.output;
  const auto eval = run_trainer("eval --model " + model_.string() + " --checkpoint " + last.string());
  EXPECT_EQ(eval.status, 1) << eval.output;
  EXPECT_NE(eval.output.find("layers.1.running_var has a non-finite value"), std::string::npos) << eval.output;
}

// Every tensor of a checkpoint carries its SHA-256: one flipped data byte is refused on resume and
// in eval, naming the tensor.
TEST_F(TrainerHostileInput, ACheckpointWithOneFlippedByteIsRefusedNamingTheTensor) {
  ASSERT_EQ(train("").status, 0);
  const fs::path last = dir_ / "run" / "checkpoints" / "last.safetensors";
  std::string bytes = [&] {
    std::ifstream in(last, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  bytes[bytes.size() - 5] ^= 0x01;  // the last tensor's data (the file ends with the data buffer)
  std::ofstream(last, std::ios::binary | std::ios::trunc) << bytes;
  const auto resumed = run_trainer("--resume " + (dir_ / "run").string() + " --epochs 2");
  EXPECT_EQ(resumed.status, 1) << resumed.output;
  EXPECT_NE(resumed.output.find("does not match its SHA-256 (the file was changed or damaged"), std::string::npos)
      << resumed.output;
  EXPECT_NE(resumed.output.find(": tensor "), std::string::npos) << resumed.output;
  const auto eval = run_trainer("eval --model " + model_.string() + " --checkpoint " + last.string());
  EXPECT_EQ(eval.status, 1) << eval.output;
}

// Rewrites one metadata key of a checkpoint, its digest made consistent: the cross-checks must
// catch what the digest cannot.
void set_metadata(const fs::path& path, const std::string& key, const std::string& value) {
  detnn::testing::rewrite_checkpoint_metadata(path, {{key, value}}, detnn::testing::MetadataDigest::recompute);
}

TEST_F(TrainerHostileInput, CheckpointMetadataIsCrossCheckedOnResume) {
  ASSERT_EQ(train("").status, 0);
  const fs::path last = dir_ / "run" / "checkpoints" / "last.safetensors";
  const std::string original = bytes_of(last);
  const struct {
    const char* key;
    const char* value;
    const char* message;
  } cases[] = {
      {"epoch", "99", "is no position of this run"},
      {"step", "0", "is no position of this run"},
      {"batch_in_epoch", "12", "is no position of this run"},
      {"epoch_steps", "abc", "\"epoch_steps\" is \"abc\", expected a non-negative integer"},
      {"epoch_loss_sum", "nan", "\"epoch_loss_sum\" is \"nan\", expected a finite number"},
      {"epoch_steps", "3", "epoch totals (3 steps"},
      {"determinism", "bogus", "\"determinism\" is \"bogus\", this run trains in strict"},
  };
  for (const auto& c : cases) {
    std::ofstream(last, std::ios::binary | std::ios::trunc) << original;
    set_metadata(last, c.key, c.value);
    const auto r = run_trainer("--resume " + (dir_ / "run").string() + " --epochs 2");
    EXPECT_EQ(r.status, 1) << c.key << " " << r.output;
    EXPECT_NE(r.output.find(last.string() + ": checkpoint metadata "), std::string::npos) << c.key << " " << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.key << " " << r.output;
  }
  std::ofstream(last, std::ios::binary | std::ios::trunc) << original;
  const auto fine = run_trainer("--resume " + (dir_ / "run").string() + " --epochs 2");
  EXPECT_EQ(fine.status, 0) << fine.output;
}

// A metadata field changed, added or removed after the checkpoint was written is refused by the
// metadata digest, naming the field, before anything reads it.
TEST_F(TrainerHostileInput, ChangedCheckpointMetadataIsRefusedNamingTheField) {
  ASSERT_EQ(train("").status, 0);
  const fs::path last = dir_ / "run" / "checkpoints" / "last.safetensors";
  const std::string original = bytes_of(last);
  const struct {
    const char* key;
    std::optional<std::string> value;
    const char* message;
  } cases[] = {
      {"seed", "12345", "checkpoint metadata \"seed\" does not match its SHA-256"},
      {"epoch", "5", "checkpoint metadata \"epoch\" does not match its SHA-256"},
      {"learning", "yes", "checkpoint metadata \"learning\" was added after the checkpoint was written"},
      {"detnn_commit", std::nullopt, "checkpoint metadata \"detnn_commit\" was removed after the checkpoint was written"},
  };
  for (const auto& c : cases) {
    std::ofstream(last, std::ios::binary | std::ios::trunc) << original;
    detnn::testing::rewrite_checkpoint_metadata(last, {{c.key, c.value}}, detnn::testing::MetadataDigest::keep);
    for (const std::string& command : {"--resume " + (dir_ / "run").string() + " --epochs 2",
                                       "eval --model " + model_.string() + " --checkpoint " + last.string()}) {
      const auto r = run_trainer(command);
      EXPECT_EQ(r.status, 1) << c.key << " " << r.output;
      EXPECT_NE(r.output.find(c.message), std::string::npos) << c.key << " " << r.output;
    }
  }
  std::ofstream(last, std::ios::binary | std::ios::trunc) << original;
}

// A run directory is trained by one process at a time; the lock dies with its holder.
TEST_F(TrainerHostileInput, ASecondTrainerOnARunningRunIsRefusedNamingTheHolder) {
  ASSERT_EQ(train("").status, 0);
  // Hold the lock the way a running trainer does (an flock on RUN/lock, with its holder written).
  const std::string lock = (dir_ / "run" / "lock").string();
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const std::string holder = "pid 4242 on host testhost\n";
  ASSERT_EQ(::pwrite(fd, holder.data(), holder.size(), 0), static_cast<ssize_t>(holder.size()));
  const auto refused = run_trainer("--resume " + (dir_ / "run").string() + " --epochs 2");
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_NE(refused.output.find("refusing to train " + (dir_ / "run").string() +
                                ": it is being trained by pid 4242 on host testhost"),
            std::string::npos)
      << refused.output;
  ::close(fd);  // the holder is gone: its lock with it
  const auto resumed = run_trainer("--resume " + (dir_ / "run").string() + " --epochs 2");
  EXPECT_EQ(resumed.status, 0) << resumed.output;
}

// A start interrupted before its manifest (a full disk) left config.json alone: both a fresh
// start and a resume say what the directory is instead of sending the user to the other.
TEST_F(TrainerHostileInput, AnInterruptedStartIsNamedAsSuch) {
  fs::create_directories(dir_ / "run");
  std::ofstream(dir_ / "run" / "config.json") << "{}";
  const auto fresh = train("");
  EXPECT_EQ(fresh.status, 1) << fresh.output;
  EXPECT_NE(fresh.output.find("holds no run (no manifest.json"), std::string::npos) << fresh.output;
  const auto resumed = run_trainer("--resume " + (dir_ / "run").string());
  EXPECT_EQ(resumed.status, 1) << resumed.output;
  EXPECT_NE(resumed.output.find("holds no manifest.json (its start was interrupted"), std::string::npos)
      << resumed.output;
}

// A killed process's half-written temporaries (a whole checkpoint each) go when the run resumes.
TEST_F(TrainerHostileInput, AResumeRemovesTheTemporariesOfAKilledWrite) {
  ASSERT_EQ(train("").status, 0);
  const fs::path stale = dir_ / "run" / "checkpoints" / "last.safetensors.tmp.999999.0.abc";
  std::ofstream(stale) << "half a checkpoint";
  const auto resumed = run_trainer("--resume " + (dir_ / "run").string() + " --epochs 2");
  EXPECT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "checkpoints" / "last.safetensors"));
}

TEST_F(TrainerHostileInput, WithoutValidationDataTheEpochLineSaysSo) {
  std::ifstream in(model_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string validation = "\"validation\": {\"count\": 128}, ";
  text.replace(text.find(validation), validation.size(), "");
  std::ofstream(model_, std::ios::trunc) << text;
  const auto r = train("");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("| no validation data |"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("val loss"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace detnn::testing
