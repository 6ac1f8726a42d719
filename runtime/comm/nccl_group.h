// NcclGroup: the ranks of one process that drives several GPUs over NCCL (`trainer --gpus`), rank
// r on devices[r], one NcclComm each (runtime/comm/nccl_comm.h). The ranks share an
// InProcessFailureChannel: abort(r, message) on any rank stops every rank's collective within a
// millisecond with "rank r failed: message" (the contract of runtime/comm/comm.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/comm/comm_group.h"

namespace detnn {

// An NcclGroup for the CUDA devices `devices` (distinct ordinals), callable from any build: a
// build without CUDA throws Error(unsupported).
std::unique_ptr<CommGroup> make_nccl_group(const std::vector<int>& devices, double timeout_seconds = 300.0);

}  // namespace detnn

#ifdef DETNN_HAVE_CUDA
#include "runtime/comm/failure_channel.h"
#include "runtime/comm/nccl_comm.h"

namespace detnn {

class NcclGroup final : public CommGroup {
 public:
  explicit NcclGroup(const std::vector<int>& devices, double timeout_seconds = NcclComm::kDefaultTimeoutSeconds);
  // Starts every rank's finalize before it destroys the first communicator (NcclComm's
  // destructor waits for its own, which needs all of them started).
  ~NcclGroup() override;

  int size() const override { return static_cast<int>(comms_.size()); }
  Comm& comm(int rank) override { return nccl_comm(rank); }
  NcclComm& nccl_comm(int rank);
  // "cuda:<devices[rank]>": the device the rank's session must use.
  std::string device_of(int rank) const override;
  void abort(int rank, const std::string& message) noexcept override;
  std::string failure() const override { return failures_->poll(); }

 private:
  std::vector<int> devices_;
  std::shared_ptr<InProcessFailureChannel> failures_;
  std::vector<std::unique_ptr<NcclComm>> comms_;
};

}  // namespace detnn
#endif
