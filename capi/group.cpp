// The C API: detnn_group (the data-parallel ranks of a run: threads of this process, GPUs of
// this process, or one rank of a launched run) and rank sessions.
#include <cmath>

#include "capi/handles.h"
#include "optim/schedule.h"
#include "runtime/comm/launch_environment.h"
#include "runtime/comm/launched_group.h"
#include "runtime/comm/local_comm.h"
#include "runtime/comm/nccl_group.h"
#include "session/batch_split.h"

using detnn::c_api_detail::CpuComputeScope;
using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

namespace {

// Waits are deadlines on a steady clock counted in nanoseconds: beyond about 292 years they
// overflow into the past or forever, so a timeout is at most a million seconds (11.6 days).
constexpr double kMaxTimeoutSeconds = 1e6;

double timeout_or_default(double timeout_seconds, const char* function) {
  DETNN_CHECK(!std::isnan(timeout_seconds), invalid_argument, function, ": the timeout is NaN");
  DETNN_CHECK(timeout_seconds <= kMaxTimeoutSeconds, invalid_argument, function, ": the timeout must be at most ",
              kMaxTimeoutSeconds, " seconds, got ", timeout_seconds);
  return timeout_seconds > 0 ? timeout_seconds : detnn::LocalCommGroup::kDefaultTimeoutSeconds;
}

detnn_group* wrap(std::shared_ptr<detnn::CommGroup> group) {
  auto g = std::make_unique<detnn_group>();
  g->hosts = group->hosts();
  for (int r = 0; r < group->size(); ++r) g->devices.push_back(group->device_of(r));
  g->group = std::move(group);
  return g.release();
}

}  // namespace

extern "C" {

detnn_status detnn_local_group_create(int ranks, double timeout_seconds, detnn_group** out) {
  return guarded([&] {
    require(out, "detnn_local_group_create", "out");
    DETNN_CHECK(ranks >= 1, invalid_argument, "detnn_local_group_create: ranks must be >= 1, got ", ranks);
    const double timeout = timeout_or_default(timeout_seconds, "detnn_local_group_create");
    *out = wrap(std::make_shared<detnn::LocalCommGroup>(ranks, timeout));
  });
}

detnn_status detnn_gpu_group_create(const int* devices, int count, double timeout_seconds, detnn_group** out) {
  return guarded([&] {
    require(out, "detnn_gpu_group_create", "out");
    require(devices, "detnn_gpu_group_create", "devices");
    DETNN_CHECK(count >= 1, invalid_argument, "detnn_gpu_group_create: count must be >= 1, got ", count);
    const double timeout = timeout_or_default(timeout_seconds, "detnn_gpu_group_create");
    *out = wrap(detnn::make_nccl_group(std::vector<int>(devices, devices + count), timeout));
  });
}

detnn_status detnn_launch_environment(int* rank, int* world_size, int* local_rank) {
  return guarded([&] {
    require(rank, "detnn_launch_environment", "rank");
    require(world_size, "detnn_launch_environment", "world_size");
    require(local_rank, "detnn_launch_environment", "local_rank");
    const std::optional<detnn::LaunchEnvironment> env = detnn::read_launch_environment();
    *rank = env ? env->rank : 0;
    *world_size = env ? env->world_size : 0;
    *local_rank = env ? env->local_rank : 0;
  });
}

detnn_status detnn_launcher(const char** name) {
  return guarded([&] {
    require(name, "detnn_launcher", "name");
    const std::optional<detnn::LaunchEnvironment> env = detnn::read_launch_environment();
    *name = !env ? "" : env->launcher == "torchrun" ? "torchrun" : env->launcher == "mpirun" ? "mpirun" : "srun";
  });
}

detnn_status detnn_launched_group_create(int cuda, double timeout_seconds, detnn_group** out) {
  return guarded([&] {
    require(out, "detnn_launched_group_create", "out");
    const double timeout = timeout_or_default(timeout_seconds, "detnn_launched_group_create");
    const std::optional<detnn::LaunchEnvironment> env = detnn::read_launch_environment();
    DETNN_CHECK(env.has_value(), invalid_argument,
                "detnn_launched_group_create: this process was not launched as a rank (none of RANK/WORLD_SIZE, "
                "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE, SLURM_PROCID/SLURM_NTASKS is set)");
    *out = wrap(std::shared_ptr<detnn::CommGroup>(detnn::join_launched_group(*env, cuda != 0, timeout)));
  });
}

detnn_status detnn_group_info(const detnn_group* group, int* size, int* first_local_rank, int* local_ranks) {
  return guarded([&] {
    require(group, "detnn_group_info", "group");
    if (size != nullptr) *size = group->group->size();
    if (first_local_rank != nullptr) *first_local_rank = group->group->first_local_rank();
    if (local_ranks != nullptr) *local_ranks = group->group->local_ranks();
  });
}

detnn_status detnn_group_rank_placement(const detnn_group* group, int rank, const char** host, const char** device) {
  return guarded([&] {
    require(group, "detnn_group_rank_placement", "group");
    DETNN_CHECK(rank >= 0 && rank < group->group->size(), invalid_argument, "detnn_group_rank_placement: rank ", rank,
                " is not in [0, ", group->group->size(), ")");
    if (host != nullptr) *host = group->hosts[rank].c_str();
    if (device != nullptr) *device = group->devices[rank].c_str();
  });
}

void detnn_group_destroy(detnn_group* group) { delete group; }

detnn_status detnn_model_check_ranks(const detnn_model* model, int ranks) {
  return guarded([&] {
    require(model, "detnn_model_check_ranks", "model");
    const detnn::TrainingSpec& t = model->spec.training;
    detnn::plan_chunk_split(t.batch_size, t.chunk_size, ranks);
  });
}

detnn_status detnn_model_check_schedule(const detnn_model* model, int64_t steps_per_epoch, int64_t total_steps) {
  return guarded([&] {
    require(model, "detnn_model_check_schedule", "model");
    DETNN_CHECK(steps_per_epoch >= 1 && total_steps >= 1, invalid_argument,
                "detnn_model_check_schedule: steps_per_epoch and total_steps must be >= 1, got ", steps_per_epoch,
                " and ", total_steps);
    detnn::optim::check_schedule_for_run(model->spec.optimizer.schedule, model->spec.optimizer.lr, steps_per_epoch,
                                         total_steps);
  });
}

detnn_status detnn_session_create_rank(const detnn_context* context, const detnn_model* model,
                                       detnn_group* group, int rank, detnn_session** out) {
  return guarded([&] {
    require(context, "detnn_session_create_rank", "context");
    require(model, "detnn_session_create_rank", "model");
    require(group, "detnn_session_create_rank", "group");
    require(out, "detnn_session_create_rank", "out");
    detnn::Comm& comm = group->group->comm(rank);  // Error(invalid_argument) for a rank not driven here
    detnn::SessionOptions o = context->options;
    const std::string device = group->group->device_of(rank);
    if (!device.empty()) o.device = device;  // NCCL ranks: each on its own GPU
    const detnn::TrainingSpec& t = model->spec.training;
    CpuComputeScope scope(o.device.value_or(t.device), o.threads.value_or(t.threads));
    auto s = std::make_unique<detnn_session>();
    s->group = group->group;
    s->session = std::make_unique<detnn::Session>(model->spec, o, &comm);
    *out = s.release();
  });
}

detnn_status detnn_session_check_ranks_agree(detnn_session* session) {
  return guarded([&] {
    require(session, "detnn_session_check_ranks_agree", "session");
    CpuComputeScope scope(*session->session);
    session->session->check_ranks_agree();
  });
}

detnn_status detnn_group_abort(detnn_group* group, int rank, const char* message) {
  return guarded([&] {
    require(group, "detnn_group_abort", "group");
    require(message, "detnn_group_abort", "message");
    group->group->abort(rank, message);
  });
}

detnn_status detnn_group_failure(const detnn_group* group, const char** message) {
  return guarded([&] {
    require(group, "detnn_group_failure", "group");
    require(message, "detnn_group_failure", "message");
    thread_local std::string text;
    text = group->group->failure();
    *message = text.c_str();
  });
}

}  // extern "C"
