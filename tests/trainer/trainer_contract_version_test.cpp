// The numerics contract version (DESIGN §1, §3) in runs and checkpoints: the manifest and every
// checkpoint record it; a checkpoint of another version (here one rewritten to say version 1, as
// every checkpoint written before the key existed is read) is refused on resume naming both
// versions, and --force resumes it with the manifest saying so.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "runtime/io/safetensors.h"
#include "runtime/reduction_rules.h"
#include "support/checkpoint_edit.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Rewrites the checkpoint as another version would have written it: metadata "numerics_contract"
// set to `version` ("" removes it, as before the key existed), the metadata digest consistent.
void set_checkpoint_contract(const fs::path& path, const std::string& version) {
  std::optional<std::string> value;
  if (!version.empty()) value = version;
  detnn::testing::rewrite_checkpoint_metadata(path, {{"numerics_contract", value}},
                                              detnn::testing::MetadataDigest::recompute);
}

TEST(TrainerContractVersion, RecordedInTheManifestAndEveryCheckpoint) {
  const fs::path dir = fresh_temp_dir("trainer-contract");
  const fs::path model = write_small_model(dir, 1);
  const auto run = run_trainer("--model " + model.string() + " --run-dir " + (dir / "run").string());
  ASSERT_EQ(run.status, 0) << run.output;
  const nlohmann::json manifest = read_json(dir / "run" / "manifest.json");
  EXPECT_EQ(manifest.at("environment").at("detnn").at("numerics_contract").get<int>(), kNumericsContractVersion);
  const SafetensorsFile last = read_safetensors((dir / "run" / "checkpoints" / "last.safetensors").string());
  EXPECT_EQ(last.metadata.at("numerics_contract"), std::to_string(kNumericsContractVersion));
  fs::remove_all(dir);
}

TEST(TrainerContractVersion, AnotherVersionsCheckpointIsRefusedUnlessForced) {
  const fs::path dir = fresh_temp_dir("trainer-contract-resume");
  const fs::path model = write_small_model(dir, 2);
  const fs::path run_dir = dir / "run";
  const auto killed =
      run_trainer("--model " + model.string() + " --run-dir " + run_dir.string(), "DETNN_FAULT_KILL_AFTER_STEP=20");
  ASSERT_NE(killed.status, 0) << killed.output;
  const fs::path last = run_dir / "checkpoints" / "last.safetensors";
  ASSERT_TRUE(fs::exists(last)) << killed.output;

  for (const std::string& written_as : {std::string("1"), std::string()}) {  // "": before the key existed
    set_checkpoint_contract(last, written_as);
    const auto refused = run_trainer("--resume " + run_dir.string());
    EXPECT_EQ(refused.status, 1) << refused.output;
    EXPECT_NE(refused.output.find("numerics contract version 1, this build computes version " +
                                  std::to_string(kNumericsContractVersion)),
              std::string::npos)
        << refused.output;
    EXPECT_NE(refused.output.find("--force"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find(last.string()), std::string::npos) << "names the checkpoint: " << refused.output;
  }

  const auto forced = run_trainer("--resume " + run_dir.string() + " --force");
  ASSERT_EQ(forced.status, 0) << forced.output;
  EXPECT_NE(forced.output.find("numerics contract version 1"), std::string::npos) << forced.output;
  const nlohmann::json manifest = read_json(run_dir / "manifest.json");
  const nlohmann::json& resume = manifest.at("resumes").back();
  EXPECT_TRUE(resume.at("forced").get<bool>());
  EXPECT_EQ(resume.at("checkpoint_numerics_contract").get<int>(), 1);
  EXPECT_EQ(resume.at("numerics_contract").get<int>(), kNumericsContractVersion);
  EXPECT_EQ(manifest.at("status"), "completed");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
