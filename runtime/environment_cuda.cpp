#include "runtime/environment_cuda.h"

#include <string>

#include "runtime/cuda_check.h"

namespace detnn::cuda_detail {

namespace {
// CUDA encodes versions as 1000*major + 10*minor.
std::string cuda_version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }
}  // namespace

nlohmann::json cuda_library_versions() {
  nlohmann::json j;
  int driver = 0, runtime = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0)
    j["driver"] = cuda_version_text(driver);
  else
    j["driver"] = nullptr;
  cudaGetLastError();
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) j["runtime"] = cuda_version_text(runtime);
  cudaGetLastError();
  j["runtime_built"] = cuda_version_text(CUDART_VERSION);
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  j["cublas"] = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  const size_t cudnn = cudnnGetVersion();  // major*10000 + minor*100 + patch since cuDNN 9
  j["cudnn"] = std::to_string(cudnn / 10000) + "." + std::to_string((cudnn % 10000) / 100) + "." +
               std::to_string(cudnn % 100);
  int nccl = 0;
  if (ncclGetVersion(&nccl) == ncclSuccess)  // major*10000 + minor*100 + patch since NCCL 2.9
    j["nccl"] = std::to_string(nccl / 10000) + "." + std::to_string((nccl % 10000) / 100) + "." +
                std::to_string(nccl % 100);
  return j;
}

}  // namespace detnn::cuda_detail
