// Kernel plans of the fast mode (kernels/vendor/kernel_plan.h): the choice rule with made-up
// timings, the file's round trip, its checks, and the refusal of a plan made elsewhere.
#include "kernels/vendor/kernel_plan.h"

#include <gtest/gtest.h>

#include <string>

#include "support/test_util.h"

namespace detnn {
namespace {

PlanCandidate whole(double ms, bool invariant = true) {
  return {PlanCandidateKind::vendor_whole_batch, 1, "IMPLICIT_PRECOMP_GEMM", ms, invariant};
}
PlanCandidate per_chunk(double ms) { return {PlanCandidateKind::vendor_per_chunk, 1, "IMPLICIT_PRECOMP_GEMM", ms, false}; }
PlanCandidate strict(double ms) { return {PlanCandidateKind::strict, -1, "strict", ms, false}; }

TEST(KernelPlanChoice, TheFastestCandidateThatMayRunTheOp) {
  EXPECT_EQ(choose_plan_candidate({whole(1.0), per_chunk(3.0), strict(2.0)}, "conv2d forward", "c"), 0u);
  EXPECT_EQ(choose_plan_candidate({whole(4.0), per_chunk(3.0), strict(2.0)}, "conv2d forward", "c"), 2u);
  // Not found batch-invariant on the device: never chosen, however fast.
  EXPECT_EQ(choose_plan_candidate({whole(0.5, false), per_chunk(3.0), strict(2.0)}, "conv2d backward-data", "c"), 2u);
  // A weight gradient keeps its per-chunk partials (DESIGN §3): no whole-batch call.
  EXPECT_EQ(choose_plan_candidate({whole(0.5), per_chunk(3.0), strict(4.0)}, "conv2d backward-filter", "c"), 1u);
  EXPECT_EQ(choose_plan_candidate({whole(0.5), per_chunk(3.0), strict(2.0)}, "linear backward-filter", "c"), 2u);
  // Not measured: skipped. Equal times: the earlier candidate, so the timings alone decide.
  EXPECT_EQ(choose_plan_candidate({whole(-1.0), per_chunk(2.0), strict(2.0)}, "conv2d forward", "c"), 1u);
}

TEST(KernelPlanChoice, NoQualifyingCandidateIsAnErrorNamingTheCall) {
  test::expect_error([] { choose_plan_candidate({whole(1.0, false), strict(-1.0)}, "conv2d forward", "layers.3 conv2d"); },
                     ErrorCode::unsupported,
                     "layers.3 conv2d: no kernel candidate qualifies for conv2d forward (2 tried; first refused: "
                     "vendor_whole_batch IMPLICIT_PRECOMP_GEMM: a whole-batch call not found batch-invariant");
  test::expect_error([] { choose_plan_candidate({}, "conv2d forward", "layers.3 conv2d"); }, ErrorCode::unsupported,
                     "(0 tried)");
}

KernelPlan sample_plan() {
  KernelPlan plan;
  plan.environment = {"NVIDIA H200", "13.0", "9.19.0", "13.0.0"};
  plan.precision = "tf32";
  plan.entries.push_back({"layers.0", "conv2d forward", "N=64 Ci=3 32x32 Co=32 k=3x3 s=1x1 p=1x1 d=1x1 g=1", whole(0.25),
                          {whole(0.25), per_chunk(0.75), strict(0.5)}});
  plan.entries.push_back({"layers.0", "conv2d backward-filter", "N=64 Ci=3 32x32 Co=32 k=3x3 s=1x1 p=1x1 d=1x1 g=1",
                          strict(0.5), {per_chunk(0.75), strict(0.5)}});
  return plan;
}

TEST(KernelPlanFile, RoundTripsEveryField) {
  const KernelPlan plan = sample_plan();
  const std::string text = kernel_plan_json(plan);
  const KernelPlan back = parse_kernel_plan(text, "plan.json");
  EXPECT_EQ(back.environment.gpu_model, "NVIDIA H200");
  EXPECT_EQ(back.environment.cudnn, "9.19.0");
  EXPECT_EQ(back.precision, "tf32");
  ASSERT_EQ(back.entries.size(), 2u);
  const PlanEntry* e = back.find("layers.0", "conv2d forward", plan.entries[0].shape);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->chosen.kind, PlanCandidateKind::vendor_whole_batch);
  EXPECT_TRUE(e->chosen.batch_invariant);
  EXPECT_EQ(e->chosen.ms, 0.25);
  ASSERT_EQ(e->measured.size(), 3u);
  EXPECT_EQ(e->measured[2].kind, PlanCandidateKind::strict);
  EXPECT_EQ(e->measured[2].algo, -1);
  EXPECT_EQ(back.find("layers.1", "conv2d forward", plan.entries[0].shape), nullptr);
  EXPECT_EQ(kernel_plan_json(back), text);  // the same bytes again
}

TEST(KernelPlanFile, BadPlansAreRefusedNamingTheJsonPath) {
  const std::string good = kernel_plan_json(sample_plan());
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  const struct {
    std::string text, message;
  } cases[] = {
      {"{", "plan.json: not valid JSON at byte 2"},
      {with(kKernelPlanFormat, "detnn-kernel-plan-v9"), "plan.json: format: \"detnn-kernel-plan-v9\", this build reads"},
      {with("\"precision\"", "\"precisoin\": 1, \"precision\""), "plan.json: precisoin: unknown key"},
      {with("\"vendor_per_chunk\"", "\"vendor_sometimes\""), "plan.json: entries[0].measured[1].kind: expected one of"},
      {with("\"conv2d backward-filter\"", "\"conv2d sideways\""), "plan.json: entries[1].op: expected one of"},
      {with("\"ms\": 0.25", "\"ms\": -3"), "plan.json: entries[0].chosen.ms: expected a number >= -1"},
      {with("\"batch_invariant\": true", "\"batch_invariant\": false"),
       "plan.json: entries[0].chosen: a whole-batch call not found batch-invariant on the device"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    test::expect_error([&] { parse_kernel_plan(c.text, "plan.json"); }, ErrorCode::format, c.message);
  }
  // A whole-batch call chosen for a weight gradient, and a call planned twice.
  KernelPlan plan = sample_plan();
  plan.entries[1].chosen = whole(0.1);
  test::expect_error([&] { parse_kernel_plan(kernel_plan_json(plan), "plan.json"); }, ErrorCode::format,
                     "plan.json: entries[1].chosen: a whole-batch call cannot compute the per-chunk partials of conv2d "
                     "backward-filter");
  plan = sample_plan();
  plan.entries.push_back(plan.entries[0]);
  test::expect_error([&] { parse_kernel_plan(kernel_plan_json(plan), "plan.json"); }, ErrorCode::format,
                     "plan.json: entries[2]: a second entry for layers.0 conv2d forward");
  plan = sample_plan();
  plan.entries[1].chosen.algo = 4;  // strict with a vendor algorithm id
  test::expect_error([&] { parse_kernel_plan(kernel_plan_json(plan), "plan.json"); }, ErrorCode::format,
                     "plan.json: entries[1].chosen.algo: a strict candidate has no vendor algorithm (-1)");
}

TEST(KernelPlanFile, APlanMadeOnAnotherGpuOrLibraryIsRefusedNamingTheDifference) {
  const KernelPlan plan = sample_plan();
  EXPECT_NO_THROW(check_plan_environment(plan, plan.environment, "plan.json"));
  PlanEnvironment h100 = plan.environment;
  h100.gpu_model = "NVIDIA H100 80GB HBM3";
  test::expect_error([&] { check_plan_environment(plan, h100, "plan.json"); }, ErrorCode::invalid_argument,
                     "plan.json: made on gpu_model \"NVIDIA H200\", this run is on \"NVIDIA H100 80GB HBM3\"");
  PlanEnvironment newer = plan.environment;
  newer.cudnn = "9.20.0";
  test::expect_error([&] { check_plan_environment(plan, newer, "plan.json"); }, ErrorCode::invalid_argument,
                     "plan.json: made on cudnn \"9.19.0\", this run is on \"9.20.0\"");
}

}  // namespace
}  // namespace detnn
