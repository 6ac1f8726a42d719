// The C API, general part: status names, the last error, version, environment. The handles live
// in c_api_context.cpp, c_api_model.cpp, c_api_session.cpp and c_api_session_state.cpp. Every
// entry point catches everything and turns it into a detnn_status plus a thread-local message
// (DESIGN §5).
#include <string>

#include "capi/handles.h"
#include "runtime/device.h"
#include "runtime/environment.h"
#include "runtime/reduction_rules.h"

namespace detnn::c_api_detail {

std::string& last_error() {
  thread_local std::string message;
  return message;
}

std::string& last_error_location() {
  thread_local std::string location;
  return location;
}

}  // namespace detnn::c_api_detail

using detnn::c_api_detail::guarded;

extern "C" {

const char* detnn_status_string(detnn_status status) {
  if (status == DETNN_OK) return "ok";
  const int code = static_cast<int>(status);
  if (code < 1 || code > 11) return "unknown status";
  return detnn::error_code_name(static_cast<detnn::ErrorCode>(code));
}

const char* detnn_last_error(void) { return detnn::c_api_detail::last_error().c_str(); }

const char* detnn_last_error_location(void) { return detnn::c_api_detail::last_error_location().c_str(); }

const char* detnn_version(void) { return detnn::version_string(); }

int detnn_numerics_contract_version(void) { return detnn::kNumericsContractVersion; }

detnn_status detnn_environment_json(const char** json_out) {
  return guarded([&] {
    DETNN_CHECK(json_out != nullptr, invalid_argument, "detnn_environment_json: json_out is NULL");
    thread_local std::string text;
    text = detnn::environment_fingerprint_json(2);
    *json_out = text.c_str();
  });
}

detnn_status detnn_cuda_device_count(int* count_out) {
  return guarded([&] {
    DETNN_CHECK(count_out != nullptr, invalid_argument, "detnn_cuda_device_count: count_out is NULL");
    *count_out = detnn::cuda_device_count();
  });
}

}  // extern "C"
