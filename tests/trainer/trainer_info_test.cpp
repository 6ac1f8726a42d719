// `trainer info` prints the environment fingerprint (docs/trainer.md: it takes no model file or
// run directory). Proven here: it is one JSON document whose fields are the true values — the
// library's version (the VERSION file) and commit, this build's flags, the device list (the CPU
// with this machine's hardware threads, then one entry per CUDA device the API counts), the CPU
// thread count it would train with (DETNN_NUM_THREADS when set) and the numerics-changing
// variables that are set — and it is what a run's manifest records as its "environment".
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include "detnn/detnn.h"
#include "runtime/environment.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

nlohmann::json info_json(const std::string& env = "") {
  const CommandResult r = run_trainer("info", env);
  EXPECT_EQ(r.status, 0) << r.output;
  try {
    return nlohmann::json::parse(r.output);  // the whole output is the document
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << r.output;
    return {};
  }
}

TEST(TrainerInfo, PrintsTheTrueEnvironment) {
  const nlohmann::json j = info_json("-u DETNN_NUM_THREADS -u NVIDIA_TF32_OVERRIDE -u CUDA_VISIBLE_DEVICES -u DETNN_CPU_ISA");
  ASSERT_TRUE(j.is_object());
  std::ifstream version_file(DETNN_SOURCE_DIR "/VERSION");
  std::string version;
  version_file >> version;
  EXPECT_EQ(j["detnn"]["version"], version);
  EXPECT_EQ(j["detnn"]["version"], detnn_version());
  EXPECT_EQ(j["detnn"]["git_commit"], git_commit());  // the trainer links the same library build
  EXPECT_EQ(j["detnn"]["git_dirty"], git_dirty());

  // The build section is this build's: the same as the library linked into this test reports.
  const nlohmann::json here = nlohmann::json::parse(environment_fingerprint_json());
  EXPECT_EQ(j["build"], here["build"]);
  EXPECT_EQ(j["cuda"], here["cuda"]);

  // Devices: the CPU first, with this machine's hardware threads, then every CUDA device.
  int cuda_devices = -1;
  ASSERT_EQ(detnn_cuda_device_count(&cuda_devices), DETNN_OK);
  ASSERT_TRUE(j["devices"].is_array());
  ASSERT_EQ(j["devices"].size(), static_cast<size_t>(1 + cuda_devices));
  EXPECT_EQ(j["devices"][0]["device"], "cpu");
  EXPECT_EQ(j["devices"][0]["hardware_threads"], static_cast<int>(std::thread::hardware_concurrency()));
  for (int d = 0; d < cuda_devices; ++d) EXPECT_EQ(j["devices"][1 + d]["device"], "cuda:" + std::to_string(d));
  // Without DETNN_NUM_THREADS a process computes on every core.
  EXPECT_EQ(j["cpu_threads"], static_cast<int>(std::thread::hardware_concurrency()));
  EXPECT_EQ(j["environment_variables"], nlohmann::json::object());
}

TEST(TrainerInfo, RecordsTheVariablesThatChangeNumericsAndTheThreadCount) {
  const nlohmann::json j = info_json("DETNN_NUM_THREADS=3 NVIDIA_TF32_OVERRIDE=0");
  EXPECT_EQ(j["cpu_threads"], 3);
  EXPECT_EQ(j["environment_variables"]["DETNN_NUM_THREADS"], "3");
  EXPECT_EQ(j["environment_variables"]["NVIDIA_TF32_OVERRIDE"], "0");
}

// The CPU kernels' instruction set: the widest available by default, DETNN_CPU_ISA's when set (and
// the variable recorded); a name that is no path, or one this CPU lacks, is one line naming it.
TEST(TrainerInfo, RecordsTheCpuPathAndRefusesABadOne) {
  const nlohmann::json chosen = info_json("-u DETNN_CPU_ISA");
  ASSERT_TRUE(chosen["cpu_isa"].is_object()) << chosen.dump();
  EXPECT_EQ(chosen["cpu_isa"]["active"], chosen["cpu_isa"]["available"].back());
  EXPECT_EQ(chosen["cpu_isa"]["chosen_by"], "cpuid");
  EXPECT_EQ(chosen["cpu_isa"]["available"].front(), "portable");
  const nlohmann::json forced = info_json("DETNN_CPU_ISA=portable");
  EXPECT_EQ(forced["cpu_isa"]["active"], "portable");
  EXPECT_EQ(forced["cpu_isa"]["chosen_by"], "DETNN_CPU_ISA");
  EXPECT_EQ(forced["environment_variables"]["DETNN_CPU_ISA"], "portable");

  const CommandResult bad = run_trainer("info", "DETNN_CPU_ISA=sse9");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("DETNN_CPU_ISA='sse9' is not a CPU path: use avx512, avx2, portable or auto"),
            std::string::npos) << bad.output;
  EXPECT_EQ(std::count(bad.output.begin(), bad.output.end(), '\n'), 1) << bad.output;
}

TEST(TrainerInfo, IsWhatARunsManifestRecords) {
  const fs::path dir = fresh_temp_dir("trainer-info");
  const fs::path model = write_small_model(dir, 1);
  const std::string env = "DETNN_NUM_THREADS=2";
  const auto r = run_trainer("--model " + model.string() + " --run-dir " + (dir / "run").string(), env);
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "run" / "manifest.json"));
  EXPECT_EQ(manifest["environment"], info_json(env));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
