// make_nccl_group in a build without CUDA (the CUDA build's is in nccl_group_cuda.cpp).
#include "runtime/comm/nccl_group.h"

#include "runtime/error.h"

namespace detnn {

#ifndef DETNN_HAVE_CUDA
std::unique_ptr<CommGroup> make_nccl_group(const std::vector<int>&, double) {
  DETNN_THROW(unsupported, "this build of detnn has no CUDA support");
}
#endif

}  // namespace detnn
