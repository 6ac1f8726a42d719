// join_nccl_through_store in a build without CUDA (the CUDA build has launched_nccl_cuda.cpp).
#ifndef DETNN_HAVE_CUDA
#include "runtime/comm/launched_group.h"
#include "runtime/error.h"

namespace detnn {

std::unique_ptr<Comm> join_nccl_through_store(std::shared_ptr<TcpStoreClient>, int, int, int, double) {
  DETNN_THROW(unsupported, "this build of detnn has no CUDA support: launched ranks on GPUs need a CUDA build");
}

}  // namespace detnn
#endif
