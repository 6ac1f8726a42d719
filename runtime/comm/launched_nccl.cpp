// NCCL for launched ranks in a build without CUDA (the CUDA build has launched_nccl_cuda.cpp).
#ifndef DETNN_HAVE_CUDA
#include "runtime/comm/launched_group.h"
#include "runtime/error.h"

namespace detnn {

namespace {

[[noreturn]] void no_cuda() {
  DETNN_THROW(unsupported, "this build of detnn has no CUDA support: launched ranks on GPUs need a CUDA build");
}

}  // namespace

std::unique_ptr<Comm> join_nccl_through_store(std::shared_ptr<TcpStoreClient>, int, int, int, double) { no_cuda(); }

NcclUniqueId new_nccl_unique_id() { no_cuda(); }

std::unique_ptr<Comm> join_nccl_with_id(const NcclUniqueId&, int, int, int, std::shared_ptr<FailureChannel>, double) {
  no_cuda();
}

}  // namespace detnn
#endif
