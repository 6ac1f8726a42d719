#include "runtime/environment.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "detnn_git_info.h"
#include "runtime/cpu_isa.h"
#include "runtime/device.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"

#ifdef DETNN_HAVE_CUDA
#include "runtime/environment_cuda.h"
#endif

namespace detnn {

const char* version_string() { return DETNN_VERSION_STRING; }
const char* git_commit() { return DETNN_GIT_COMMIT; }
bool git_dirty() { return DETNN_GIT_DIRTY; }

namespace {
// The environment variables that change what a run computes or where: NVIDIA_TF32_OVERRIDE=0
// turns TF32 off inside cuDNN and cuBLAS whatever the plans say (fast/off bits), the CUDA
// ones pick devices and cuBLAS's workspace, detnn's its own defaults. Only those set appear.
nlohmann::ordered_json numerics_environment() {
  static const char* const kNames[] = {"NVIDIA_TF32_OVERRIDE", "CUBLAS_WORKSPACE_CONFIG", "CUDA_VISIBLE_DEVICES",
                                       "CUDA_DEVICE_ORDER",    "DETNN_NUM_THREADS",       "DETNN_CUDA_GRAPH",
                                       "DETNN_NO_CACHING",     "DETNN_CPU_ISA"};
  nlohmann::ordered_json set = nlohmann::ordered_json::object();
  for (const char* name : kNames)
    if (const char* value = std::getenv(name)) set[name] = value;
  return set;
}
}  // namespace

std::string environment_fingerprint_json(int indent) {
  nlohmann::ordered_json j;
  j["detnn"] = {{"version", version_string()},
                {"git_commit", git_commit()},
                {"git_dirty", git_dirty()},
                {"numerics_contract", kNumericsContractVersion}};
  nlohmann::ordered_json build;
  build["type"] = DETNN_BUILD_TYPE;
  build["cxx_compiler"] = DETNN_CXX_COMPILER;
  build["host_flags"] = DETNN_HOST_FLAGS;
#ifdef DETNN_HAVE_CUDA
  build["cuda"] = true;
  build["cuda_flags"] = DETNN_CUDA_FLAGS;
  build["cuda_architectures"] = DETNN_CUDA_ARCHS;
#else
  build["cuda"] = false;
#endif
  // mpirun launches meet and (CPU ranks) communicate through MPI only in a build with it.
#ifdef DETNN_HAVE_MPI
  build["mpi"] = true;
#else
  build["mpi"] = false;
#endif
  j["build"] = build;
#ifdef DETNN_HAVE_CUDA
  j["cuda"] = cuda_detail::cuda_library_versions();
#else
  j["cuda"] = nullptr;
#endif
  j["cpu_threads"] = num_threads();
  // The CPU kernels' instruction set: speed only (every path gives the same bits), recorded so a
  // timing can be read with it. Throws here, before any training, for a bad DETNN_CPU_ISA.
  nlohmann::ordered_json available = nlohmann::ordered_json::array();
  for (CpuIsa isa : cpu_isas_available()) available.push_back(cpu_isa_name(isa));
  j["cpu_isa"] = {{"active", cpu_isa_name(cpu_isa_active())}, {"chosen_by", cpu_isa_source()}, {"available", available}};
  nlohmann::ordered_json devices = nlohmann::ordered_json::array();
  for (const DeviceInfo& d : list_devices()) {
    nlohmann::ordered_json e;
    e["device"] = d.device.to_string();
    e["name"] = d.name;
    e[d.device.is_cuda() ? "multiprocessors" : "hardware_threads"] = d.compute_units;
    e["memory_bytes"] = d.total_memory;
    if (d.device.is_cuda()) {
      e["compute_capability"] = std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor);
      e["pci_bus_id"] = d.pci_bus_id;
    }
    devices.push_back(e);
  }
  j["devices"] = devices;
  j["environment_variables"] = numerics_environment();
  return j.dump(indent);
}

}  // namespace detnn
