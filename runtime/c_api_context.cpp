// The C API: detnn_context.
#include "runtime/c_api_internal.h"
#include "runtime/device.h"
#include "runtime/thread_pool.h"

using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

extern "C" {

detnn_status detnn_context_create(const char* device, const char* determinism, int threads,
                                  detnn_context** out) {
  return guarded([&] {
    require(out, "detnn_context_create", "out");
    auto ctx = std::make_unique<detnn_context>();
    if (device != nullptr && *device != '\0') {
      detnn::parse_device(device);  // Error(invalid_argument) naming the string
      ctx->options.device = device;
    }
    if (determinism != nullptr && *determinism != '\0') {
      const std::string d = determinism;
      DETNN_CHECK(d == "strict" || d == "fast" || d == "off", invalid_argument,
                  "detnn_context_create: determinism \"", d, "\" is not one of strict, fast, off");
      ctx->options.determinism = d;
    }
    ctx->options.threads = threads < 0 ? -1 : threads;
    *out = ctx.release();
  });
}

void detnn_context_destroy(detnn_context* context) { delete context; }

}  // extern "C"
