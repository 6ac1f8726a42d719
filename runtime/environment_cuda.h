// CUDA half of the environment fingerprint (built only with DETNN_HAVE_CUDA).
#pragma once

#include <nlohmann/json.hpp>

namespace detnn::cuda_detail {
// {driver, runtime, cublas, cudnn, nccl} versions; driver is null without a driver.
nlohmann::json cuda_library_versions();
}  // namespace detnn::cuda_detail
