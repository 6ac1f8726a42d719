// `trainer --save-init FILE` and the model file's "init_weights", end to end:
//  - a run that starts from another run's --save-init file with ANOTHER seed starts from
//    bit-identical parameters (its own --save-init writes the same bytes);
//  - with the SAME seed, starting from the file is the uninterrupted run: every epoch's state
//    digest equals the first run's (the file changes nothing but where the weights come from);
//  - with another seed the epochs differ, because the seed also keys the shuffle, the augmentation
//    and the dropout masks (DESIGN §4) — a file fixes the initialization only;
//  - an init file lacking a parameter fails the run with a one-line error naming the tensor.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "runtime/io/safetensors.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The small model of trainer_runner.h in its own folder, with `init_weights` pointing at `init`.
fs::path small_model_with_init(const fs::path& dir, const fs::path& init, int epochs) {
  fs::create_directories(dir);
  const fs::path model = write_small_model(dir, epochs);
  std::string text = file_bytes(model);
  text.insert(text.find('{') + 1, "\n  \"init_weights\": \"" + init.string() + "\",");
  std::ofstream(model, std::ios::trunc) << text;
  return model;
}

TEST(TrainerSaveInit, InitFileGivesTheSameStartUnderAnySeedAndTheSameRunUnderTheSameSeed) {
  const fs::path dir = fresh_temp_dir("trainer-save-init");
  const fs::path plain = write_small_model(dir, 2);  // seed 5
  const fs::path init = dir / "init.safetensors";
  const auto first = run_trainer("--model " + plain.string() + " --save-init " + init.string() + " --run-dir " +
                                 (dir / "first").string());
  ASSERT_EQ(first.status, 0) << first.output;
  ASSERT_TRUE(fs::exists(init));
  EXPECT_NE(first.output.find("initial weights written to " + init.string()), std::string::npos) << first.output;
  EXPECT_EQ(read_safetensors(init.string()).metadata.at("format"), "detnn-weights-v1");

  // The same start under another seed: the reloaded run's own --save-init has the same bytes.
  const fs::path with_init = small_model_with_init(dir / "m", init, 2);
  const fs::path again = dir / "again.safetensors";
  const auto other_seed = run_trainer("--model " + with_init.string() + " --seed 77 --save-init " + again.string() +
                                      " --run-dir " + (dir / "other-seed").string());
  ASSERT_EQ(other_seed.status, 0) << other_seed.output;
  EXPECT_EQ(file_bytes(again), file_bytes(init));
  // ...while seed 77 alone initializes other weights.
  const fs::path seed77 = dir / "seed77.safetensors";
  const auto fresh77 = run_trainer("--model " + plain.string() + " --seed 77 --epochs 0 --save-init " + seed77.string() +
                                   " --run-dir " + (dir / "fresh77").string());
  ASSERT_EQ(fresh77.status, 0) << fresh77.output;
  EXPECT_NE(file_bytes(seed77), file_bytes(init));

  // The same seed from the file: the first run's bits, epoch by epoch.
  const auto same_seed = run_trainer("--model " + with_init.string() + " --run-dir " + (dir / "same-seed").string());
  ASSERT_EQ(same_seed.status, 0) << same_seed.output;
  const auto expected = epoch_shas(dir / "first");
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(epoch_shas(dir / "same-seed"), expected);
  // Another seed reshuffles, re-augments and redraws the dropout masks: the epochs differ.
  const auto other = epoch_shas(dir / "other-seed");
  ASSERT_EQ(other.size(), 2u);
  EXPECT_NE(other[0], expected[0]);
  fs::remove_all(dir);
}

TEST(TrainerSaveInit, InitFileWithoutAParameterFailsNamingIt) {
  const fs::path dir = fresh_temp_dir("trainer-bad-init");
  const fs::path plain = write_small_model(dir, 1);
  const fs::path init = dir / "init.safetensors";
  ASSERT_EQ(run_trainer("--model " + plain.string() + " --epochs 0 --save-init " + init.string() + " --run-dir " +
                        (dir / "first").string())
                .status,
            0);
  const SafetensorsFile good = read_safetensors(init.string());
  std::vector<SafetensorsTensorView> kept;
  for (const SafetensorsTensor& t : good.tensors)
    if (t.name != "layers.6.weight") kept.push_back(t.view());
  ASSERT_EQ(kept.size() + 1, good.tensors.size());
  const fs::path partial = dir / "partial.safetensors";
  write_safetensors(partial.string(), kept);
  const fs::path model = small_model_with_init(dir / "m", partial, 1);
  const auto r = run_trainer("--model " + model.string() + " --run-dir " + (dir / "bad").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("tensor layers.6.weight [4, 96] is missing"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(partial.string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[format error]"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
