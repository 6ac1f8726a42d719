// Data-parallel sessions on CUDA (DESIGN §3, §6): 2 and 4 LocalComm ranks sharing one GPU (one
// thread each; the collectives staged through host memory) and an NcclGroup over the visible GPUs
// (1, 2, 4 or 8 of them, one rank each) end a few training steps with the weights of one CUDA
// rank, which are the CPU's.
#include <gtest/gtest.h>

#include <functional>

#include "runtime/comm/local_comm.h"
#include "runtime/comm/nccl_group.h"
#include "runtime/device.h"
#include "session/session.h"
#include "support/rank_threads.h"
#include "support/session_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using testing::every_layer_model_json;
using testing::parse_test_model;

constexpr int kSteps = 3;

// Trains kSteps steps with rank r's session on devices[r] and comm_of(r) (null: alone).
std::string train(const std::string& model_json, const std::vector<std::string>& devices,
                  const std::function<Comm*(int)>& comm_of, CommGroup* group) {
  std::vector<SessionOptions> options(devices.size());
  for (size_t r = 0; r < devices.size(); ++r) options[r].device = devices[r];
  return testing::train_in_rank_threads(parse_test_model(model_json), options, comm_of, group, kSteps);
}

std::string train_alone(const std::string& model_json, const std::string& device) {
  return train(model_json, {device}, [](int) { return nullptr; }, nullptr);
}

// 32 samples in chunks of 4: 8 chunks, shared by 1, 2, 4 or 8 ranks.
const std::string kModel = every_layer_model_json(32, 4);

TEST(SessionRanksGpu, LocalCommRanksSharingOneGpuGiveTheOneRankBits) {
  DETNN_REQUIRE_GPU();
  const std::string cpu = train_alone(kModel, "cpu");
  const std::string one = train_alone(kModel, "cuda");
  EXPECT_EQ(one, cpu) << "1 CUDA rank against the CPU";
  for (int ranks : {2, 4}) {
    LocalCommGroup group(ranks, 120.0);
    const std::string many = train(kModel, std::vector<std::string>(ranks, "cuda"),
                                   [&](int r) { return &group.comm(r); }, &group);
    EXPECT_EQ(many, one) << ranks << " LocalComm ranks on one GPU";
  }
}

TEST(SessionRanksGpu, NcclRanksGiveTheOneRankBits) {
  DETNN_REQUIRE_GPUS(2);
  int ranks = 1;
  while (ranks * 2 <= cuda_device_count() && ranks * 2 <= 8) ranks *= 2;
  std::vector<int> ordinals(ranks);
  for (int r = 0; r < ranks; ++r) ordinals[r] = r;
  NcclGroup group(ordinals, 120.0);
  std::vector<std::string> devices(ranks);
  for (int r = 0; r < ranks; ++r) devices[r] = group.device_of(r);
  const std::string nccl = train(kModel, devices, [&](int r) { return &group.comm(r); }, &group);
  EXPECT_EQ(nccl, train_alone(kModel, "cuda")) << ranks << " NCCL rank(s)";
  EXPECT_EQ(nccl, train_alone(kModel, "cpu")) << ranks << " NCCL rank(s) against the CPU";
  std::printf("[ INFO ] %d NCCL rank(s): weights sha256 %s\n", ranks, nccl.c_str());
}

}  // namespace
}  // namespace detnn
