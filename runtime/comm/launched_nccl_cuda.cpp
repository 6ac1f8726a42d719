// The NCCL communicator of one launched rank (runtime/comm/launched_group.h): the unique id through
// the TCP store, or already shared (through MPI).
#include <cstdio>
#include <cstring>

#include "runtime/comm/launched_group.h"
#include "runtime/comm/nccl_comm.h"
#include "runtime/error.h"

namespace detnn {

std::unique_ptr<Comm> join_nccl_through_store(std::shared_ptr<TcpStoreClient> store, int rank, int size, int device,
                                              double timeout_seconds) {
  const std::string key = "detnn/nccl-unique-id";
  NcclUniqueId id{};
  if (rank == 0) {
    id = NcclComm::new_unique_id();
    store->set(key, std::string(id.data(), id.size()));
  } else {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(timeout_seconds));
    const std::optional<std::string> got = store->wait_get(key, deadline);
    if (!got || got->size() != id.size()) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", timeout_seconds);
      const std::string message = "rank " + std::to_string(rank) + " failed: " +
                                  (got ? std::string("rank 0 published an NCCL id of the wrong size")
                                       : "rank 0 did not publish the NCCL id within " + std::string(seconds) + " s");
      store->post_failure(message);
      DETNN_THROW(comm, message);
    }
    std::memcpy(id.data(), got->data(), id.size());
  }
  return NcclComm::join(id, rank, size, device, std::make_shared<StoreFailureChannel>(store), timeout_seconds);
}

NcclUniqueId new_nccl_unique_id() { return NcclComm::new_unique_id(); }

std::unique_ptr<Comm> join_nccl_with_id(const NcclUniqueId& id, int rank, int size, int device,
                                        std::shared_ptr<FailureChannel> failures, double timeout_seconds) {
  return NcclComm::join(id, rank, size, device, std::move(failures), timeout_seconds);
}

}  // namespace detnn
