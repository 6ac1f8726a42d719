// `trainer --resume` on data files whose bytes changed (docs/trainer.md, --force):
//  - the resume is refused, exit status 1, with a message naming the data, both fingerprints
//    (the manifest's and the data's now) and --force; the run directory is left as it was;
//  - with the original bytes back, --force (nothing to force) resumes to the uninterrupted run's
//    bits, epoch by epoch, and the manifest records the resume as forced;
//  - --force on the changed data resumes from the checkpoint (epoch 1 as before), trains on the
//    new bytes (epoch 2 differs from the uninterrupted run's), records the force, and every
//    checkpoint written afterwards carries the new data's fingerprint.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "detnn/detnn.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

// The data fingerprint of the model file's data as the library computes it now.
std::string fingerprint_now(const fs::path& model_path) {
  detnn_model* model = nullptr;
  EXPECT_EQ(detnn_model_load_file(model_path.string().c_str(), &model), DETNN_OK) << detnn_last_error();
  detnn_data* d = nullptr;
  EXPECT_EQ(detnn_data_load(model, &d), DETNN_OK) << detnn_last_error();
  char out[65] = {0};
  EXPECT_EQ(detnn_data_fingerprint(d, out), DETNN_OK);
  detnn_data_destroy(d);
  detnn_model_destroy(model);
  return out;
}

nlohmann::json manifest_of(const fs::path& run) { return nlohmann::json::parse(std::ifstream(run / "manifest.json")); }

// Checkpoint metadata through the C API.
std::string checkpoint_metadata(const fs::path& model_path, const fs::path& checkpoint, const char* key) {
  detnn_model* model = nullptr;
  detnn_context* ctx = nullptr;
  detnn_session* s = nullptr;
  EXPECT_EQ(detnn_model_load_file(model_path.string().c_str(), &model), DETNN_OK);
  EXPECT_EQ(detnn_context_create(nullptr, nullptr, -1, &ctx), DETNN_OK);
  EXPECT_EQ(detnn_session_create(ctx, model, &s), DETNN_OK);
  EXPECT_EQ(detnn_session_load_checkpoint(s, checkpoint.string().c_str()), DETNN_OK) << detnn_last_error();
  const char* value = "";
  EXPECT_EQ(detnn_session_checkpoint_metadata(s, key, &value), DETNN_OK) << detnn_last_error();
  const std::string out = value;
  detnn_session_destroy(s);
  detnn_context_destroy(ctx);
  detnn_model_destroy(model);
  return out;
}

TEST(TrainerResumeChangedData, RefusedNamingTheFingerprintsUnlessForced) {
  const fs::path dir = fresh_temp_dir("trainer-changed-data");
  const fs::path model = write_idx_model(dir);
  const std::string original = bytes_of(dir / "images.idx");
  const std::string was = fingerprint_now(model);

  const auto full = run_trainer("--model " + model.string() + " --run-dir " + (dir / "full").string());
  ASSERT_EQ(full.status, 0) << full.output;
  const auto uninterrupted = epoch_shas(dir / "full");
  ASSERT_EQ(uninterrupted.size(), 2u);
  EXPECT_EQ(manifest_of(dir / "full")["data_fingerprint"], was);

  // Killed right after epoch 1 (step 6, its checkpoint written), twice.
  for (const char* run : {"a", "b"}) {
    const auto killed = run_trainer("--model " + model.string() + " --run-dir " + (dir / run).string(),
                                    "DETNN_FAULT_KILL_AFTER_STEP=6");
    ASSERT_EQ(killed.status, 128 + 9) << killed.output;
    ASSERT_EQ(epoch_shas(dir / run), std::vector<std::string>{uninterrupted[0]});
  }

  flip_first_pixels(dir / "images.idx");
  const std::string now = fingerprint_now(model);
  ASSERT_NE(now, was);
  const std::string checkpoint_before = bytes_of(dir / "a" / "checkpoints" / "last.safetensors");
  const auto refused = run_trainer("--resume " + (dir / "a").string());
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_NE(refused.output.find("refusing to resume " + (dir / "a").string() + ": the data changed (fingerprint " +
                                was + " when the run started, " + now + " now); use --force"),
            std::string::npos)
      << refused.output;
  EXPECT_EQ(epoch_shas(dir / "a").size(), 1u);  // nothing was trained or written
  EXPECT_TRUE(bytes_of(dir / "a" / "checkpoints" / "last.safetensors") == checkpoint_before)
      << "the refused resume rewrote the checkpoint";
  EXPECT_FALSE(manifest_of(dir / "a").contains("resumes"));

  // --force on the changed data: epoch 2 trains on the new bytes.
  const auto forced_changed = run_trainer("--resume " + (dir / "b").string() + " --force");
  ASSERT_EQ(forced_changed.status, 0) << forced_changed.output;
  const auto b = epoch_shas(dir / "b");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], uninterrupted[0]);
  EXPECT_NE(b[1], uninterrupted[1]);
  nlohmann::json mb = manifest_of(dir / "b");
  EXPECT_EQ(mb["status"], "completed");
  ASSERT_EQ(mb["resumes"].size(), 1u);
  EXPECT_EQ(mb["resumes"][0]["forced"], true);
  EXPECT_EQ(checkpoint_metadata(model, dir / "b" / "checkpoints" / "last.safetensors", "data_fingerprint"), now);

  // The original bytes back: --force resumes to the uninterrupted bits.
  std::ofstream(dir / "images.idx", std::ios::binary | std::ios::trunc) << original;
  ASSERT_EQ(fingerprint_now(model), was);
  const auto forced_same = run_trainer("--resume " + (dir / "a").string() + " --force");
  ASSERT_EQ(forced_same.status, 0) << forced_same.output;
  EXPECT_EQ(epoch_shas(dir / "a"), uninterrupted);
  const nlohmann::json ma = manifest_of(dir / "a");
  EXPECT_EQ(ma["status"], "completed");
  EXPECT_EQ(ma["final_state_sha256"], manifest_of(dir / "full")["final_state_sha256"]);
  ASSERT_EQ(ma["resumes"].size(), 1u);
  EXPECT_EQ(ma["resumes"][0]["forced"], true);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
