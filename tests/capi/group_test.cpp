// The C API of data-parallel groups (include/detnn/detnn.h, docs/multi-rank.md): a local group's
// size, placement and rank sessions; the launch environment when nothing launched this process;
// the errors of a GPU group without GPUs, of a launched group without a launcher, of bad ranks.
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "support/capi_test_util.h"

namespace detnn::capi_test {
namespace {

struct GroupDeleter {
  void operator()(detnn_group* p) const { detnn_group_destroy(p); }
};
using GroupPtr = std::unique_ptr<detnn_group, GroupDeleter>;

TEST(CApiGroup, ALocalGroupDescribesItsRanksAndTrainsWithTheOneRankBits) {
  detnn_group* raw = nullptr;
  ASSERT_EQ(detnn_local_group_create(4, 30.0, &raw), DETNN_OK) << detnn_last_error();
  GroupPtr group(raw);
  int size = 0, first = -1, local = 0;
  ASSERT_EQ(detnn_group_info(group.get(), &size, &first, &local), DETNN_OK);
  EXPECT_EQ(size, 4);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(local, 4);
  const char* host = nullptr;
  const char* device = nullptr;
  ASSERT_EQ(detnn_group_rank_placement(group.get(), 3, &host, &device), DETNN_OK);
  EXPECT_STRNE(host, "");
  EXPECT_STREQ(device, "");  // LocalComm ranks use the model's device
  EXPECT_EQ(detnn_group_rank_placement(group.get(), 4, &host, &device), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("rank 4 is not in [0, 4)"), std::string::npos) << detnn_last_error();

  // Four rank sessions, one thread each, after the agreement check: rank 0's weights.
  const ContextPtr ctx = make_context();
  const ModelPtr model = make_model(model_json());
  std::vector<SessionPtr> sessions;
  for (int r = 0; r < 4; ++r) {
    detnn_session* s = nullptr;
    ASSERT_EQ(detnn_session_create_rank(ctx.get(), model.get(), group.get(), r, &s), DETNN_OK) << detnn_last_error();
    sessions.emplace_back(s);
  }
  std::vector<std::string> shas(4), errors(4);
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r)
    threads.emplace_back([&, r] {
      if (detnn_session_check_ranks_agree(sessions[r].get()) != DETNN_OK) {
        errors[r] = detnn_last_error();
        return;
      }
      train(sessions[r].get(), 0, 3);
      shas[r] = state_sha(sessions[r].get());
    });
  for (auto& t : threads) t.join();
  const SessionPtr one = session_for(model_json());
  train(one.get(), 0, 3);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(errors[r], "") << "rank " << r;
    EXPECT_EQ(shas[r], state_sha(one.get())) << "rank " << r;
  }
}

TEST(CApiGroup, RanksThatHoldOtherWeightsFailTheAgreementCheck) {
  detnn_group* raw = nullptr;
  ASSERT_EQ(detnn_local_group_create(2, 30.0, &raw), DETNN_OK);
  GroupPtr group(raw);
  const ContextPtr ctx = make_context();
  // Rank 1's model has another seed: other initial weights.
  const ModelPtr model0 = make_model(model_json());
  const ModelPtr model1 = make_model(model_json());
  ASSERT_EQ(detnn_model_set_option(model1.get(), "training.seed", "12"), DETNN_OK);
  detnn_session* s0 = nullptr;
  detnn_session* s1 = nullptr;
  ASSERT_EQ(detnn_session_create_rank(ctx.get(), model0.get(), group.get(), 0, &s0), DETNN_OK);
  ASSERT_EQ(detnn_session_create_rank(ctx.get(), model1.get(), group.get(), 1, &s1), DETNN_OK);
  const SessionPtr p0(s0), p1(s1);
  detnn_status st[2] = {DETNN_OK, DETNN_OK};
  std::string message[2];
  std::thread t1([&] {
    st[1] = detnn_session_check_ranks_agree(s1);
    message[1] = detnn_last_error();
  });
  st[0] = detnn_session_check_ranks_agree(s0);
  message[0] = detnn_last_error();
  t1.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(st[r], DETNN_ERROR_COMM) << "rank " << r;
    EXPECT_NE(message[r].find("do not start from rank 0's state"), std::string::npos) << message[r];
  }
}

TEST(CApiGroup, LaunchAndGpuGroupsExplainWhyTheyCannotBeMade) {
  // Under ctest nothing launched this process as a rank.
  if (std::getenv("RANK") != nullptr || std::getenv("OMPI_COMM_WORLD_RANK") != nullptr)
    GTEST_SKIP() << "this test process itself was launched as a rank";
  int rank = -1, world = -1, local = -1;
  ASSERT_EQ(detnn_launch_environment(&rank, &world, &local), DETNN_OK);
  EXPECT_EQ(world, 0);
  const char* launcher = "unset";
  ASSERT_EQ(detnn_launcher(&launcher), DETNN_OK);
  EXPECT_STREQ(launcher, "");
  EXPECT_EQ(detnn_launcher(nullptr), DETNN_ERROR_INVALID_ARGUMENT);
  detnn_group* raw = nullptr;
  EXPECT_EQ(detnn_launched_group_create(0, 1.0, &raw), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("was not launched as a rank"), std::string::npos);
  EXPECT_EQ(raw, nullptr);

  int visible = 0;
  ASSERT_EQ(detnn_cuda_device_count(&visible), DETNN_OK);
  const std::vector<int> devices = {visible};  // one past the last device
  const detnn_status st = detnn_gpu_group_create(devices.data(), 1, 1.0, &raw);
  const std::string message = detnn_last_error();
  EXPECT_EQ(raw, nullptr);
#ifdef DETNN_HAVE_CUDA
  EXPECT_EQ(st, DETNN_ERROR_INVALID_ARGUMENT) << describe(st);
  EXPECT_NE(message.find("device cuda:" + std::to_string(visible) + " does not exist (" + std::to_string(visible) +
                         " CUDA device(s) visible)"),
            std::string::npos)
      << message;
#else
  EXPECT_EQ(st, DETNN_ERROR_UNSUPPORTED) << describe(st);
  EXPECT_NE(message.find("no CUDA support"), std::string::npos) << message;
#endif
  const auto refused = [](detnn_status got, const std::string& expected) {
    EXPECT_EQ(got, DETNN_ERROR_INVALID_ARGUMENT) << describe(got);
    EXPECT_NE(std::string(detnn_last_error()).find(expected), std::string::npos) << detnn_last_error();
  };
  refused(detnn_gpu_group_create(devices.data(), 0, 1.0, &raw), "detnn_gpu_group_create: count must be >= 1, got 0");
  refused(detnn_local_group_create(0, 1.0, &raw), "detnn_local_group_create: ranks must be >= 1, got 0");
  refused(detnn_group_info(nullptr, nullptr, nullptr, nullptr), "detnn_group_info: group is NULL");
}

}  // namespace
}  // namespace detnn::capi_test
