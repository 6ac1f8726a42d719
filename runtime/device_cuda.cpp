#include "runtime/device_cuda.h"

#include "runtime/cuda_check.h"

namespace detnn::cuda_detail {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // "no device" / "no driver" is a count of zero, not an error
    return 0;
  }
  return count;
}

std::vector<DeviceInfo> list_cuda_devices() {
  std::vector<DeviceInfo> out;
  const int n = device_count();
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    DETNN_CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    DeviceInfo d;
    d.device = Device::cuda(i);
    d.name = p.name;
    d.compute_units = p.multiProcessorCount;
    d.total_memory = p.totalGlobalMem;
    d.cc_major = p.major;
    d.cc_minor = p.minor;
    char bus[32] = {0};
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, i) == cudaSuccess) d.pci_bus_id = bus;
    out.push_back(d);
  }
  return out;
}

}  // namespace detnn::cuda_detail
