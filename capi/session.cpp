// The C API: detnn_session creation, training, evaluation and prediction.
#include <cstring>

#include "capi/handles.h"

using detnn::c_api_detail::CpuComputeScope;
using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

namespace {

// One of the session's SHA-256 digests into the caller's 65 bytes.
detnn_status copy_digest(detnn_session* session, char out[65], const char* function,
                         std::string (detnn::Session::*digest)()) {
  return guarded([&] {
    require(session, function, "session");
    require(out, function, "out");
    const std::string h = (session->session.get()->*digest)();
    DETNN_CHECK(h.size() == 64, internal, function, ": the hash has ", h.size(), " characters");
    std::memcpy(out, h.c_str(), 65);
  });
}

}  // namespace

extern "C" {

detnn_status detnn_session_create(const detnn_context* context, const detnn_model* model, detnn_session** out) {
  return guarded([&] {
    require(context, "detnn_session_create", "context");
    require(model, "detnn_session_create", "model");
    require(out, "detnn_session_create", "out");
    const detnn::SessionOptions& o = context->options;
    const detnn::TrainingSpec& t = model->spec.training;
    // Always locked, whatever the device: the Session constructor resizes the CPU pool itself.
    CpuComputeScope scope("cpu", o.threads.value_or(t.threads));
    auto s = std::make_unique<detnn_session>();
    s->session = std::make_unique<detnn::Session>(model->spec, o);
    *out = s.release();
  });
}

void detnn_session_destroy(detnn_session* session) { delete session; }

detnn_status detnn_session_set_schedule(detnn_session* session, int64_t steps_per_epoch, int64_t total_steps) {
  return guarded([&] {
    require(session, "detnn_session_set_schedule", "session");
    session->session->set_schedule_horizon(steps_per_epoch, total_steps);
  });
}

detnn_status detnn_session_train_step(detnn_session* session, const float* images, const int32_t* labels,
                                      int64_t batch, detnn_step_metrics* out) {
  return guarded([&] {
    require(session, "detnn_session_train_step", "session");
    require(images, "detnn_session_train_step", "images");
    require(labels, "detnn_session_train_step", "labels");
    require(out, "detnn_session_train_step", "out");
    CpuComputeScope scope(*session->session);
    const detnn::StepStats st = session->session->train_step(images, labels, batch);
    *out = detnn_step_metrics{st.loss, st.correct, st.samples, st.lr, st.grad_norm};
  });
}

detnn_status detnn_session_evaluate(detnn_session* session, const float* images, const int32_t* labels, int64_t n,
                                    detnn_eval_metrics* out) {
  return guarded([&] {
    require(session, "detnn_session_evaluate", "session");
    require(out, "detnn_session_evaluate", "out");
    DETNN_CHECK(n >= 0, invalid_argument, "detnn_session_evaluate: n is ", n);
    if (n > 0) require(images, "detnn_session_evaluate", "images");
    CpuComputeScope scope(*session->session);
    const detnn::EvalStats st = session->session->evaluate(images, labels, n);
    *out = detnn_eval_metrics{st.loss, st.correct, st.samples};
  });
}

detnn_status detnn_session_predict(detnn_session* session, const float* images, int64_t n, float* logits,
                                   int64_t logits_count) {
  return guarded([&] {
    require(session, "detnn_session_predict", "session");
    DETNN_CHECK(n >= 0, invalid_argument, "detnn_session_predict: n is ", n);
    const int64_t classes = session->session->classes();
    DETNN_CHECK(logits_count == n * classes, invalid_argument, "detnn_session_predict: logits_count is ",
                logits_count, ", expected n * classes = ", n, " * ", classes, " = ", n * classes);
    if (n == 0) return;
    require(images, "detnn_session_predict", "images");
    require(logits, "detnn_session_predict", "logits");
    CpuComputeScope scope(*session->session);
    session->session->predict(images, n, logits);
  });
}

detnn_status detnn_session_weights_sha256(detnn_session* session, char out[65]) {
  return copy_digest(session, out, "detnn_session_weights_sha256", &detnn::Session::weights_sha256);
}

detnn_status detnn_session_weights_digest(detnn_session* session, uint64_t* out) {
  return guarded([&] {
    require(session, "detnn_session_weights_digest", "session");
    require(out, "detnn_session_weights_digest", "out");
    CpuComputeScope scope(*session->session);  // the CPU digest runs on the shared thread pool
    *out = session->session->weights_digest();
  });
}

detnn_status detnn_session_state_sha256(detnn_session* session, char out[65]) {
  return copy_digest(session, out, "detnn_session_state_sha256", &detnn::Session::state_sha256);
}

detnn_status detnn_session_steps_done(const detnn_session* session, int64_t* out) {
  return guarded([&] {
    require(session, "detnn_session_steps_done", "session");
    require(out, "detnn_session_steps_done", "out");
    *out = session->session->steps_done();
  });
}

detnn_status detnn_session_kernel_choices_json(detnn_session* session, const char** out) {
  return guarded([&] {
    require(session, "detnn_session_kernel_choices_json", "session");
    require(out, "detnn_session_kernel_choices_json", "out");
    session->kernel_choices_json = detnn::kernel_choices_json(session->session->kernel_choices());
    *out = session->kernel_choices_json.c_str();
  });
}

detnn_status detnn_session_cuda_graph_status(detnn_session* session, const char** out) {
  return guarded([&] {
    require(session, "detnn_session_cuda_graph_status", "session");
    require(out, "detnn_session_cuda_graph_status", "out");
    session->cuda_graph_status = session->session->cuda_graph_status();
    *out = session->cuda_graph_status.c_str();
  });
}

}  // extern "C"
