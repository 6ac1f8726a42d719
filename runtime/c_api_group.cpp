// The C API: detnn_local_group (data-parallel ranks as threads of one process, LocalComm) and
// rank sessions.
#include <cmath>

#include "runtime/batch_split.h"
#include "runtime/c_api_internal.h"

using detnn::c_api_detail::CpuComputeScope;
using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

extern "C" {

detnn_status detnn_local_group_create(int ranks, double timeout_seconds, detnn_local_group** out) {
  return guarded([&] {
    require(out, "detnn_local_group_create", "out");
    DETNN_CHECK(ranks >= 1, invalid_argument, "detnn_local_group_create: ranks must be >= 1, got ", ranks);
    DETNN_CHECK(!std::isnan(timeout_seconds), invalid_argument, "detnn_local_group_create: the timeout is NaN");
    const double timeout = timeout_seconds > 0 ? timeout_seconds : detnn::LocalCommGroup::kDefaultTimeoutSeconds;
    auto g = std::make_unique<detnn_local_group>();
    g->group = std::make_shared<detnn::LocalCommGroup>(ranks, timeout);
    *out = g.release();
  });
}

void detnn_local_group_destroy(detnn_local_group* group) { delete group; }

detnn_status detnn_model_check_ranks(const detnn_model* model, int ranks) {
  return guarded([&] {
    require(model, "detnn_model_check_ranks", "model");
    const detnn::layers::TrainingSpec& t = model->spec.training;
    detnn::plan_chunk_split(t.batch_size, t.chunk_size, ranks);
  });
}

detnn_status detnn_session_create_rank(const detnn_context* context, const detnn_model* model,
                                       detnn_local_group* group, int rank, detnn_session** out) {
  return guarded([&] {
    require(context, "detnn_session_create_rank", "context");
    require(model, "detnn_session_create_rank", "model");
    require(group, "detnn_session_create_rank", "group");
    require(out, "detnn_session_create_rank", "out");
    detnn::Comm& comm = group->group->comm(rank);  // Error(invalid_argument) for a rank out of range
    const detnn::SessionOptions& o = context->options;
    const detnn::layers::TrainingSpec& t = model->spec.training;
    CpuComputeScope scope("cpu", o.threads >= 0 ? o.threads : t.threads);
    auto s = std::make_unique<detnn_session>();
    s->group = group->group;
    s->session = std::make_unique<detnn::Session>(model->spec, o, &comm);
    *out = s.release();
  });
}

detnn_status detnn_local_group_abort(detnn_local_group* group, int rank, const char* message) {
  return guarded([&] {
    require(group, "detnn_local_group_abort", "group");
    require(message, "detnn_local_group_abort", "message");
    group->group->comm(rank).abort(message);
  });
}

detnn_status detnn_local_group_failure(const detnn_local_group* group, const char** message) {
  return guarded([&] {
    require(group, "detnn_local_group_failure", "group");
    require(message, "detnn_local_group_failure", "message");
    thread_local std::string text;
    text = group->group->failure();
    *message = text.c_str();
  });
}

}  // extern "C"
