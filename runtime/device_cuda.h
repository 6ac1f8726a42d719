// CUDA half of runtime/device.cpp (built only with DETNN_HAVE_CUDA).
#pragma once

#include <vector>

#include "runtime/device.h"

namespace detnn::cuda_detail {
int device_count();
std::vector<DeviceInfo> list_cuda_devices();
}  // namespace detnn::cuda_detail
