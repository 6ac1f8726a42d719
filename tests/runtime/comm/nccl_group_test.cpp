// make_nccl_group from any build: a build without CUDA refuses it as unsupported; a CUDA build
// refuses a device that does not exist, naming it, before NCCL is touched (the GPU tests in
// nccl_comm_gpu_test.cpp cover working groups).
#include <gtest/gtest.h>

#include <string>

#include "runtime/comm/nccl_group.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace detnn {
namespace {

TEST(NcclGroupFactory, RefusesWhatThisBuildOrMachineCannotDo) {
#ifdef DETNN_HAVE_CUDA
  const int visible = cuda_device_count();
  const std::string expected = "rank 0's device cuda:" + std::to_string(visible) + " does not exist";
  const ErrorCode code = ErrorCode::invalid_argument;
#else
  const int visible = 0;
  const std::string expected = "this build of detnn has no CUDA support";
  const ErrorCode code = ErrorCode::unsupported;
#endif
  try {
    make_nccl_group({visible}, 5.0);
    FAIL() << "a group on cuda:" << visible << " was made";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace detnn
