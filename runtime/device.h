// Devices: the CPU and the CUDA devices this process can see (DESIGN §5).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace detnn {

enum class DeviceKind : uint8_t { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;  // CUDA ordinal; 0 for the CPU

  static Device cpu() { return {DeviceKind::cpu, 0}; }
  static Device cuda(int index) { return {DeviceKind::cuda, index}; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  bool operator==(const Device&) const = default;
  std::string to_string() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda" (= cuda:0) or "cuda:N"; throws Error(invalid_argument) naming the text.
Device parse_device(const std::string& text);

struct DeviceInfo {
  Device device;
  std::string name;           // CPU model or CUDA device name
  int compute_units = 0;      // hardware threads (CPU) or streaming multiprocessors (CUDA)
  uint64_t total_memory = 0;  // bytes
  int cc_major = 0, cc_minor = 0;  // CUDA compute capability
  std::string pci_bus_id;     // CUDA only
};

// The CPU first, then every CUDA device (none in a CPU-only build or without a driver).
std::vector<DeviceInfo> list_devices();

// Number of usable CUDA devices; 0 in a CPU-only build or when the driver reports none.
int cuda_device_count();

// The memory of `device` in bytes (the host's physical memory for the CPU); 0 when unknown.
uint64_t device_memory_bytes(Device device);

// Refuses work before it allocates: Error(out_of_memory) "<what> needs N GiB, <device> has M GiB"
// when need_bytes exceeds device_memory_bytes(device) (no check when that is unknown).
void check_fits_device_memory(double need_bytes, Device device, const std::string& what);

}  // namespace detnn
