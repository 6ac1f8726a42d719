#include "runtime/comm/nccl_group.h"

#include "runtime/error.h"

namespace detnn {

NcclGroup::NcclGroup(const std::vector<int>& devices, double timeout_seconds)
    : devices_(devices), failures_(std::make_shared<InProcessFailureChannel>()) {
  comms_ = NcclComm::create_local(devices_, failures_, timeout_seconds);
}

NcclGroup::~NcclGroup() {
  for (auto& c : comms_)
    if (c != nullptr) c->start_finalize();
  comms_.clear();
}

NcclComm& NcclGroup::nccl_comm(int rank) {
  DETNN_CHECK(rank >= 0 && rank < size(), invalid_argument, "NcclGroup: rank ", rank, " is not in [0, ", size(), ")");
  return *comms_[rank];
}

std::string NcclGroup::device_of(int rank) const {
  DETNN_CHECK(rank >= 0 && rank < size(), invalid_argument, "NcclGroup: rank ", rank, " is not in [0, ", size(), ")");
  return "cuda:" + std::to_string(devices_[rank]);
}

void NcclGroup::abort(int rank, const std::string& message) noexcept {
  if (rank >= 0 && rank < size()) {
    comms_[rank]->abort(message);
    return;
  }
  try {
    failures_->post("rank " + std::to_string(rank) + " failed: " + message);
  } catch (...) {
    failures_->post("");
  }
}

std::unique_ptr<CommGroup> make_nccl_group(const std::vector<int>& devices, double timeout_seconds) {
  return std::make_unique<NcclGroup>(devices, timeout_seconds);
}

}  // namespace detnn
