// The C API: every entry point catches everything and turns it into a detnn_status plus a
// thread-local message (DESIGN §5).
#include <exception>
#include <new>
#include <string>

#include "detnn/detnn.h"
#include "runtime/device.h"
#include "runtime/environment.h"
#include "runtime/error.h"

namespace {

thread_local std::string t_last_error;

template <typename Body>
detnn_status guarded(Body&& body) {
  try {
    t_last_error.clear();
    body();
    return DETNN_OK;
  } catch (const detnn::Error& e) {
    t_last_error = e.what();
    return static_cast<detnn_status>(static_cast<int>(e.code()));
  } catch (const std::bad_alloc&) {
    t_last_error = "out of host memory";
    return DETNN_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    t_last_error = std::string("internal error: ") + e.what();
    return DETNN_ERROR_INTERNAL;
  } catch (...) {
    t_last_error = "internal error: unknown exception";
    return DETNN_ERROR_INTERNAL;
  }
}

}  // namespace

extern "C" {

const char* detnn_status_string(detnn_status status) {
  if (status == DETNN_OK) return "ok";
  const int code = static_cast<int>(status);
  if (code < 1 || code > 10) return "unknown status";
  return detnn::error_code_name(static_cast<detnn::ErrorCode>(code));
}

const char* detnn_last_error(void) { return t_last_error.c_str(); }

const char* detnn_version(void) { return detnn::version_string(); }

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
