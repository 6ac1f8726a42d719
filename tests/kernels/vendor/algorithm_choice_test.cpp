// The rule that picks a vendor algorithm in the fast and off modes (kernels/vendor/algorithm_choice.h), on
// made-up candidate lists: fast never takes a nondeterministic or (in fp32) a TF32 algorithm and
// keeps the heuristic order; off takes the first usable one; nothing usable is an error naming
// the call and every refusal; the choices serialize for the manifest.
#include "kernels/vendor/algorithm_choice.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace detnn {
namespace {

AlgoCandidate candidate(int algo, bool deterministic, bool tensor_cores = false, size_t workspace = 0,
                        bool supported = true) {
  AlgoCandidate c;
  c.algo = algo;
  c.name = "ALGO_" + std::to_string(algo);
  c.deterministic = deterministic;
  c.tensor_cores = tensor_cores;
  c.workspace_bytes = workspace;
  c.supported = supported;
  return c;
}

constexpr ComputeMode kFast{Determinism::fast, false};
constexpr ComputeMode kFastTf32{Determinism::fast, true};
constexpr ComputeMode kOff{Determinism::off, false};
constexpr ComputeMode kOffTf32{Determinism::off, true};
constexpr size_t kLimit = 1 << 20;

TEST(KernelChoice, FastTakesTheFirstDeterministicFp32AlgorithmInTheLibrarysOrder) {
  const std::vector<AlgoCandidate> list = {candidate(0, false),                    // nondeterministic
                                           candidate(1, true, true),               // TF32
                                           candidate(2, true, false, 2 * kLimit),  // workspace too large
                                           candidate(3, true, false, 0, false),    // not supported
                                           candidate(4, true),                     // this one
                                           candidate(5, true)};
  EXPECT_EQ(pick_algorithm(list, kFast, kLimit, "call"), 4u);
  // TF32 allowed: the TF32 one comes first.
  EXPECT_EQ(pick_algorithm(list, kFastTf32, kLimit, "call"), 1u);
}

TEST(KernelChoice, OffTakesTheFirstUsableAlgorithmDeterministicOrNot) {
  const std::vector<AlgoCandidate> list = {candidate(7, true, false, 0, false), candidate(6, false, true),
                                           candidate(0, false), candidate(1, true)};
  EXPECT_EQ(pick_algorithm(list, kOff, kLimit, "call"), 2u);
  EXPECT_EQ(pick_algorithm(list, kOffTf32, kLimit, "call"), 1u);
}

TEST(KernelChoice, NoUsableAlgorithmIsAnErrorNamingTheCallAndEachRefusal) {
  const std::vector<AlgoCandidate> list = {candidate(0, false), candidate(1, true, true),
                                           candidate(2, true, false, 2 * kLimit)};
  try {
    pick_algorithm(list, kFast, kLimit, "layers.3 conv2d backward-filter N=32");
    FAIL() << "no algorithm qualifies";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    const std::string m = e.what();
    for (const char* part : {"layers.3 conv2d backward-filter N=32", "deterministic", "ALGO_0: nondeterministic",
                             "ALGO_1: TF32", "ALGO_2: workspace above the limit", "fp32"})
      EXPECT_NE(m.find(part), std::string::npos) << "missing \"" << part << "\" in: " << m;
  }
  EXPECT_THROW(pick_algorithm({}, kOff, kLimit, "empty"), Error);
  // The strict mode never asks.
  EXPECT_THROW(pick_algorithm(list, ComputeMode{}, kLimit, "strict"), Error);
}

TEST(KernelChoice, ChoicesSerializeForTheManifest) {
  KernelChoice c{"layers.0", "conv2d forward", "N=32 Ci=1 28x28", "cuDNN 9.19.0", candidate(1, true, false, 4096)};
  const nlohmann::json j = nlohmann::json::parse(kernel_choices_json({c}));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["layer"], "layers.0");
  EXPECT_EQ(j[0]["op"], "conv2d forward");
  EXPECT_EQ(j[0]["shape"], "N=32 Ci=1 28x28");
  EXPECT_EQ(j[0]["library"], "cuDNN 9.19.0");
  EXPECT_EQ(j[0]["algorithm"], "ALGO_1");
  EXPECT_EQ(j[0]["algo_id"], 1);
  EXPECT_EQ(j[0]["deterministic"], true);
  EXPECT_EQ(j[0]["tensor_cores"], false);
  EXPECT_EQ(j[0]["workspace_bytes"], 4096);
  EXPECT_EQ(kernel_choices_json({}), "[]");
}

TEST(Determinism, NamesParseBothWays) {
  for (Determinism d : {Determinism::strict, Determinism::fast, Determinism::off})
    EXPECT_EQ(parse_determinism(determinism_name(d)), d);
  try {
    parse_determinism("fastest");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"fastest\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace detnn
