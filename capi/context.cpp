// The C API: detnn_context.
#include "capi/handles.h"
#include "runtime/thread_pool.h"

using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

extern "C" {

detnn_status detnn_context_create(const char* device, const char* determinism, int threads,
                                  detnn_context** out) {
  return guarded([&] {
    require(out, "detnn_context_create", "out");
    auto ctx = std::make_unique<detnn_context>();
    try {
      if (device != nullptr && *device != '\0') ctx->options.set("training.device", device);
      if (determinism != nullptr && *determinism != '\0') ctx->options.set("training.determinism", determinism);
    } catch (const detnn::Error& e) {
      throw detnn::Error(e.code(), std::string("detnn_context_create: ") + e.what(), e.location());
    }
    if (threads >= 0) ctx->options.threads = threads;
    *out = ctx.release();
  });
}

void detnn_context_destroy(detnn_context* context) { delete context; }

}  // extern "C"
