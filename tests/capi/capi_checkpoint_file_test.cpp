// The C API's read-only checkpoint view (detnn_checkpoint_*) and the per-step weights digest:
// the file's tensors are the session's state bit for bit, its metadata carries each tensor's
// SHA-256 and the contract version; the digest is the kernel's over the parameters and does not
// depend on the thread count; bad files and arguments are named errors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "detnn/detnn.hpp"
#include "kernels/weights_digest.h"
#include "runtime/io/sha256.h"
#include "runtime/reduction_rules.h"
#include "support/capi_test_util.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

// A fresh session of the small model (its initial weights are what the checks read).
api::Session new_session(int threads) {
  api::Context context("", "", threads);
  api::Model model = api::Model::from_file(write_small_model(fresh_temp_dir("capi-ckpt-model"), 1).string());
  return api::Session(context, model);
}

TEST(CApiCheckpointFile, HoldsTheSessionsStateWithPerTensorDigests) {
  const fs::path dir = fresh_temp_dir("capi-ckpt-file");
  api::Session s = new_session(2);
  const std::string path = (dir / "c.safetensors").string();
  s.save_checkpoint(path, 0, 0);
  const api::CheckpointFile file(path);
  const auto digests = nlohmann::json::parse(file.metadata("tensor_sha256").value());
  EXPECT_EQ(file.metadata("numerics_contract").value(), std::to_string(kNumericsContractVersion));
  EXPECT_FALSE(file.metadata("no such key").has_value());
  int parameters = 0;
  for (const auto& t : file.tensors()) {
    EXPECT_EQ(digests.at(t.name).get<std::string>(), sha256_of_floats(t.values, static_cast<size_t>(t.count))) << t.name;
    if (t.name.find("optimizer") != std::string::npos || t.name.find("running") != std::string::npos) continue;
    const std::vector<float> mine = s.get_parameter(t.name);
    ASSERT_EQ(static_cast<int64_t>(mine.size()), t.count) << t.name;
    EXPECT_EQ(std::memcmp(mine.data(), t.values, mine.size() * sizeof(float)), 0) << t.name;
    ++parameters;
  }
  EXPECT_GT(parameters, 0);
  fs::remove_all(dir);
}

TEST(CApiCheckpointFile, BadFilesAndArgumentsAreNamedErrors) {
  detnn_checkpoint* c = nullptr;
  EXPECT_EQ(detnn_checkpoint_open("/nonexistent/x.safetensors", &c), DETNN_ERROR_IO);
  EXPECT_NE(std::string(detnn_last_error()).find("/nonexistent/x.safetensors"), std::string::npos) << detnn_last_error();
  EXPECT_EQ(detnn_checkpoint_open(nullptr, &c), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("detnn_checkpoint_open: path is NULL"), std::string::npos);
  const fs::path dir = fresh_temp_dir("capi-ckpt-bad");
  api::Session s = new_session(1);
  s.save_checkpoint((dir / "c.safetensors").string(), 0, 0);
  ASSERT_EQ(detnn_checkpoint_open((dir / "c.safetensors").string().c_str(), &c), DETNN_OK);
  const char* name = nullptr;
  const float* values = nullptr;
  int64_t count = 0;
  EXPECT_EQ(detnn_checkpoint_tensor(c, 100000, &name, &values, &count), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("detnn_checkpoint_tensor: index 100000 is not in [0, "),
            std::string::npos)
      << detnn_last_error();
  detnn_checkpoint_destroy(c);
  fs::remove_all(dir);
}

TEST(CApiWeightsDigest, IsTheKernelsDigestOfTheParametersForAnyThreadCount) {
  std::string first;
  for (const int threads : {1, 2, 3}) {
    api::Session s = new_session(threads);
    std::vector<float> flat;
    for (const std::string& name : s.parameter_names()) {
      const std::vector<float> p = s.get_parameter(name);
      flat.insert(flat.end(), p.begin(), p.end());
    }
    char want[17];
    std::snprintf(want, sizeof want, "%016llx",
                  static_cast<unsigned long long>(kernels::weights_digest_cpu(flat.data(), static_cast<int64_t>(flat.size()))));
    EXPECT_EQ(s.weights_digest(), want) << threads << " threads";
    if (first.empty()) first = want;
    EXPECT_EQ(first, want) << threads << " threads";
  }
}

}  // namespace
}  // namespace detnn::testing
