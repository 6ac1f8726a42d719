#include "runtime/device.h"

#include <cstdio>
#include <fstream>
#include <thread>

#include "runtime/error.h"

#ifdef DETNN_HAVE_CUDA
#include "runtime/device_cuda.h"
#endif

#include <unistd.h>

namespace detnn {

std::string Device::to_string() const {
  return kind == DeviceKind::cpu ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() < 9) {
    int index = 0;
    for (size_t i = 5; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') index = -1;
      if (index >= 0) index = index * 10 + (text[i] - '0');
    }
    if (index >= 0) return Device::cuda(index);
  }
  DETNN_THROW(invalid_argument, "device \"", text, "\": expected cpu, cuda or cuda:N");
}

namespace {
std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}
}  // namespace

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  DeviceInfo cpu;
  cpu.device = Device::cpu();
  cpu.name = cpu_model_name();
  cpu.compute_units = static_cast<int>(std::thread::hardware_concurrency());
  cpu.total_memory = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  out.push_back(cpu);
#ifdef DETNN_HAVE_CUDA
  for (auto& d : cuda_detail::list_cuda_devices()) out.push_back(d);
#endif
  return out;
}

uint64_t device_memory_bytes(Device device) {
  if (!device.is_cuda()) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  }
#ifdef DETNN_HAVE_CUDA
  for (const DeviceInfo& d : cuda_detail::list_cuda_devices())
    if (d.device == device) return d.total_memory;
#endif
  return 0;
}

void check_fits_device_memory(double need_bytes, Device device, const std::string& what) {
  const uint64_t have = device_memory_bytes(device);
  if (have == 0 || need_bytes <= static_cast<double>(have)) return;
  char text[128];
  std::snprintf(text, sizeof text, " needs %.1f GiB, %s has %.1f GiB", need_bytes / double(1 << 30),
                device.is_cuda() ? device.to_string().c_str() : "this machine", static_cast<double>(have) / double(1 << 30));
  DETNN_THROW(out_of_memory, what, text);
}

int cuda_device_count() {
#ifdef DETNN_HAVE_CUDA
  return cuda_detail::device_count();
#else
  return 0;
#endif
}

}  // namespace detnn
