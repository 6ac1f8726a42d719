// detnn_session_trace_step: one observed gradient pass written to a file (session/step_trace.h).
#include "capi/handles.h"
#include "session/step_trace.h"

using detnn::c_api_detail::CpuComputeScope;
using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

extern "C" {

detnn_status detnn_session_trace_step(detnn_session* session, const float* images, const int32_t* labels,
                                      int64_t batch, const char* path) {
  return guarded([&] {
    require(session, "detnn_session_trace_step", "session");
    require(images, "detnn_session_trace_step", "images");
    require(labels, "detnn_session_trace_step", "labels");
    require(path, "detnn_session_trace_step", "path");
    CpuComputeScope scope(*session->session);
    detnn::write_step_trace(*session->session, images, labels, batch, path);
  });
}

}  // extern "C"
