// Small helpers over the C API for the trainer: a status check that throws, and RAII handles.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "detnn/detnn.h"

namespace trainer {

// A failed detnn call: the trainer prints "trainer: <what>" and exits non-zero.
struct DetnnError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void check(detnn_status status, const char* what) {
  if (status != DETNN_OK)
    throw DetnnError(std::string(what) + ": " + detnn_last_error() + " [" + detnn_status_string(status) + "]");
}

struct ContextDeleter { void operator()(detnn_context* p) const { detnn_context_destroy(p); } };
struct ModelDeleter { void operator()(detnn_model* p) const { detnn_model_destroy(p); } };
struct SessionDeleter { void operator()(detnn_session* p) const { detnn_session_destroy(p); } };
struct DataDeleter { void operator()(detnn_data* p) const { detnn_data_destroy(p); } };
struct LoaderDeleter { void operator()(detnn_loader* p) const { detnn_loader_destroy(p); } };
struct GroupDeleter { void operator()(detnn_group* p) const { detnn_group_destroy(p); } };

using Context = std::unique_ptr<detnn_context, ContextDeleter>;
using Model = std::unique_ptr<detnn_model, ModelDeleter>;
using Session = std::unique_ptr<detnn_session, SessionDeleter>;
using Data = std::unique_ptr<detnn_data, DataDeleter>;
using Loader = std::unique_ptr<detnn_loader, LoaderDeleter>;
using Group = std::unique_ptr<detnn_group, GroupDeleter>;

// A session for `model` on a context that keeps the model file's device, mode and threads (set
// them on the model with detnn_model_set_option); with a group, rank `rank` of it.
inline Session make_session(detnn_model* model, detnn_group* group = nullptr, int rank = 0) {
  detnn_context* raw_ctx = nullptr;
  check(detnn_context_create(nullptr, nullptr, -1, &raw_ctx), "context");
  const Context ctx(raw_ctx);
  detnn_session* raw = nullptr;
  check(group != nullptr ? detnn_session_create_rank(ctx.get(), model, group, rank, &raw)
                         : detnn_session_create(ctx.get(), model, &raw),
        "session");
  return Session(raw);
}

}  // namespace trainer
