// Internal to the C API implementation (capi/*.cpp): the handle structs and the
// exception barrier every entry point goes through (DESIGN §5).
#pragma once

#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "detnn/detnn.h"
#include "runtime/comm/comm_group.h"
#include "runtime/cpu_compute_lock.h"
#include "runtime/error.h"
#include "runtime/io/safetensors.h"
#include "session/checkpoint.h"
#include "session/model_file.h"
#include "session/session.h"

struct detnn_context {
  detnn::SessionOptions options;  // device, determinism, threads (unset: the model file's)
};

struct detnn_model {
  detnn::ModelSpec spec;
  std::string config_json;  // resolved_config(spec), for detnn_model_config_json
  std::string layers_json;  // spec.layer_summary, for detnn_model_layers_json
};

struct detnn_group {
  std::shared_ptr<detnn::CommGroup> group;
  std::vector<std::string> hosts, devices;  // every rank's placement (detnn_group_rank_placement)
};

struct detnn_checkpoint {
  detnn::SafetensorsFile file;  // every tensor F32 (checked when opened)
};
struct detnn_session {
  std::shared_ptr<detnn::CommGroup> group;  // a rank session keeps its group alive
  std::unique_ptr<detnn::Session> session;
  detnn::CheckpointInfo loaded;                      // the last checkpoint loaded
  std::map<std::string, std::string> extra_metadata;  // recorded in every checkpoint saved
  std::string kernel_choices_json;                    // detnn_session_kernel_choices_json's text
  std::string cuda_graph_status;                      // detnn_session_cuda_graph_status's text
};

namespace detnn::c_api_detail {

// This thread's message of the last failed call, and where in the source it was refused.
std::string& last_error();
std::string& last_error_location();

// Runs body, turning every exception into a status and the thread's last-error message.
template <typename Body>
detnn_status guarded(Body&& body) noexcept {
  try {
    last_error().clear();
    last_error_location().clear();
    body();
    return DETNN_OK;
  } catch (const Error& e) {
    last_error() = e.what();
    last_error_location() = e.location();
    return static_cast<detnn_status>(static_cast<int>(e.code()));
  } catch (const std::bad_alloc&) {
    last_error() = "out of host memory";
    return DETNN_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error() = std::string("internal error: ") + e.what();
    return DETNN_ERROR_INTERNAL;
  } catch (...) {
    last_error() = "internal error: unknown exception";
    return DETNN_ERROR_INTERNAL;
  }
}

// Throws Error(invalid_argument) "<function>: <argument> is NULL" when p is null.
inline void require(const void* p, const char* function, const char* argument) {
  if (p == nullptr) DETNN_THROW(invalid_argument, function, ": ", argument, " is NULL");
}

// Held around every call that builds or computes on a CPU session: the CPU thread pool is
// process-wide, so it is sized for the session (when its context set a thread count) and used
// by one session at a time (runtime/cpu_compute_lock.h; rank sessions release it while they wait
// for the other ranks). Sessions on CUDA devices do not take it.
class CpuComputeScope : public CpuComputeLock {
 public:
  explicit CpuComputeScope(const Session& s)
      : CpuComputeLock(s.spec().training.device, s.spec().training.threads) {}
  CpuComputeScope(const std::string& device, int64_t threads) : CpuComputeLock(device, threads) {}
};

}  // namespace detnn::c_api_detail
