// The ranks of one data-parallel run as this process sees them: the world size, which ranks
// this process drives (all of them for LocalComm and `--gpus`, one for a process launched by
// mpirun or torchrun), each local rank's communicator and device, and the group's failure
// state (runtime/comm/comm.h has the failure contract). The C API's detnn_group wraps one.
#pragma once

#include <string>
#include <vector>

#include "runtime/comm/comm.h"

namespace detnn {

class CommGroup {
 public:
  virtual ~CommGroup() = default;

  virtual int size() const = 0;
  // This process drives ranks [first_local_rank(), first_local_rank() + local_ranks()).
  virtual int first_local_rank() const { return 0; }
  virtual int local_ranks() const { return size(); }
  bool is_local(int rank) const { return rank >= first_local_rank() && rank < first_local_rank() + local_ranks(); }

  // A local rank's communicator (owned by the group; used from one thread at a time). Throws
  // Error(invalid_argument) for a rank this process does not drive.
  virtual Comm& comm(int rank) = 0;
  // The device rank `rank`'s session uses ("cuda:2"), or "" when it uses the model's device
  // (LocalComm, CPU ranks).
  virtual std::string device_of(int rank) const { return ""; }
  // The host name of every rank, rank order (the run manifest).
  virtual std::vector<std::string> hosts() const;

  // Records the group's first failure ("rank r failed: message") and wakes every waiting rank,
  // here and, where the group spans processes, in the other processes. Never throws.
  virtual void abort(int rank, const std::string& message) noexcept = 0;
  // The first failure's message, "" while the group is healthy.
  virtual std::string failure() const = 0;
};

// This machine's host name ("localhost" when it cannot be read).
std::string this_host_name();

}  // namespace detnn
