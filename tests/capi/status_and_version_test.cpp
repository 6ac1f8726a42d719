#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "detnn/detnn.h"
#include "runtime/error.h"
#include "support/test_util.h"

namespace {

TEST(CApi, StatusStringsNameEveryCode) {
  EXPECT_STREQ(detnn_status_string(DETNN_OK), "ok");
  EXPECT_STREQ(detnn_status_string(DETNN_ERROR_INVALID_ARGUMENT), "invalid argument");
  EXPECT_STREQ(detnn_status_string(DETNN_ERROR_OUT_OF_MEMORY), "out of memory");
  EXPECT_STREQ(detnn_status_string(static_cast<detnn_status>(99)), "unknown status");
  // The C enum and the C++ codes must stay in step.
  EXPECT_EQ(static_cast<int>(DETNN_ERROR_INTERNAL), static_cast<int>(detnn::ErrorCode::internal));
  EXPECT_EQ(static_cast<int>(DETNN_ERROR_FORMAT), static_cast<int>(detnn::ErrorCode::format));
}

TEST(CApi, NullOutputIsAnErrorWithAMessage) {
  EXPECT_EQ(detnn_environment_json(nullptr), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("json_out is NULL"), std::string::npos);
  int count = -1;
  EXPECT_EQ(detnn_cuda_device_count(&count), DETNN_OK);
  EXPECT_STREQ(detnn_last_error(), "");  // a successful call clears the message
  EXPECT_GE(count, 0);
}

TEST(CApi, EnvironmentFingerprintRecordsTheVariablesThatChangeNumerics) {
  const auto variables = [] {
    const char* text = nullptr;
    EXPECT_EQ(detnn_environment_json(&text), DETNN_OK);
    return nlohmann::json::parse(text)["environment_variables"];
  };
  {
    const detnn::test::ScopedEnvironment unset("NVIDIA_TF32_OVERRIDE", nullptr);
    EXPECT_TRUE(variables().is_object());
    EXPECT_FALSE(variables().contains("NVIDIA_TF32_OVERRIDE"));  // only those set appear
  }
  const detnn::test::ScopedEnvironment tf32_off("NVIDIA_TF32_OVERRIDE", "0");
  EXPECT_EQ(variables()["NVIDIA_TF32_OVERRIDE"], "0");
}

TEST(CApi, EnvironmentFingerprintHasTheRequiredFields) {
  const char* text = nullptr;
  ASSERT_EQ(detnn_environment_json(&text), DETNN_OK);
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["detnn"]["version"], detnn_version());
  EXPECT_EQ(j["detnn"]["git_commit"].get<std::string>().size() == 40 ||
                j["detnn"]["git_commit"] == "unknown",
            true);
  EXPECT_TRUE(j["detnn"]["git_dirty"].is_boolean());
  EXPECT_NE(j["build"]["host_flags"].get<std::string>().find("-ffp-contract=off"), std::string::npos);
  ASSERT_TRUE(j["devices"].is_array());
  EXPECT_EQ(j["devices"][0]["device"], "cpu");
#ifdef DETNN_HAVE_CUDA
  EXPECT_EQ(j["build"]["cuda"], true);
  EXPECT_NE(j["build"]["cuda_flags"].get<std::string>().find("-fmad=false"), std::string::npos);
  EXPECT_TRUE(j["cuda"]["cudnn"].is_string());
  EXPECT_TRUE(j["cuda"]["nccl"].is_string());
  EXPECT_TRUE(j["cuda"]["cublas"].is_string());
#else
  EXPECT_TRUE(j["cuda"].is_null());
#endif
}

}  // namespace
