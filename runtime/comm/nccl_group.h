// TEMPORARY until the nccl branch lands.
#pragma once
#include <memory>
#include <vector>
#include "runtime/comm/comm_group.h"
namespace detnn {
std::unique_ptr<CommGroup> make_nccl_group(const std::vector<int>& devices, double timeout_seconds);
}
