#include "session/session.h"

#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "kernels/canonical_sum.h"
#include "kernels/count_correct.h"
#include "kernels/cross_entropy.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/sha256.h"
#include "runtime/reduction_rules.h"
#include "runtime/step_profiler.h"
#include "runtime/thread_pool.h"
#include "session/batch_split.h"
#include "session/grad_accumulator.h"
#include "session/gradient_buckets.h"
#include "session/session_comm.h"
#include "session/session_device.h"
#include "session/step_graph.h"

namespace detnn {

struct Session::Impl {
  // First, so destroyed last: it owns the stream the other members' memory was allocated on.
  std::unique_ptr<StepGraph> graph;  // training.cuda_graph "auto" where possible
  // The legacy default stream (uploads and kernels stay in order), or the graph's stream,
  // which synchronizes with it the same way.
  uintptr_t stream = 0;
  Tensor grads;          // [P], the combined gradient of the last step
  std::unique_ptr<GradAccumulator> accumulator;
  std::unique_ptr<SessionComm> comm;
  std::vector<GradientBucket> buckets;  // several ranks: the gradient's all-reduce buckets
  int64_t largest_bucket = 0;
  // The step's results on its device until the pass is over (no host round trip per pass).
  std::unique_ptr<session_device::StepStaging> staging;  // this rank's images and labels
  // f32 [k', 2]: this rank's k chunk loss sums (k' = k rounded up to even), then the top-1
  // correct count as an int64 in the last two floats (8-aligned): one copy reads both back.
  Tensor step_results;
  int64_t chunk_count = 0;  // k
  int64_t correct_offset() const { return (chunk_count + 1) / 2 * 2; }  // k', in floats
  float* chunk_losses() const { return step_results.data<float>(); }
  int64_t* correct() const { return reinterpret_cast<int64_t*>(step_results.data<float>() + correct_offset()); }
  // The gradient's global norm, after the count (Optimizer::compute_norm writes it).
  int64_t grad_norm_offset() const { return correct_offset() + 2; }
  float* grad_norm() const { return step_results.data<float>() + grad_norm_offset(); }
  Tensor step_counter;  // CUDA, i64 [1]: steps_ for the kernels (dropout), refilled each step
  bool graph_warmed_up = false;  // one eager pass ran (lazy module loading, library set-up)
  bool graph_failed = false;     // CUDA refused the capture: eager from then on
  std::string graph_status;
  StepProfiler* profiler = nullptr;  // set_profiler: the steps' parts are timed
  Session::ForwardObserver forward_observer;    // set_observers
  Session::GradientObserver gradient_observer;
};

namespace {

ModelSpec with_overrides(ModelSpec spec, const SessionOptions& o) {
  o.apply_to(spec.training);
  return spec;
}

bool is_power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }
int log2_exact(int64_t v) {
  int l = 0;
  while ((int64_t{1} << l) < v) ++l;
  return l;
}

}  // namespace

Session::Session(const ModelSpec& spec, const SessionOptions& options, Comm* comm)
    : spec_(with_overrides(spec, options)), impl_(std::make_unique<Impl>()), comm_(comm) {
  const TrainingSpec& t = spec_.training;
  device_ = t.parsed_device();
  mode_ = t.compute_mode();
  // Before any work: a global batch the ranks cannot share is refused here, naming B, C and P.
  split_ = plan_chunk_split(t.batch_size, t.chunk_size, ranks());
  chunk_ = t.chunk_size;
  if (mode_.determinism == Determinism::off) {
    // off promises nothing: each rank's whole batch is one chunk (batch norm over the rank's
    // batch, as PyTorch does; one vendor call per layer), combined by ncclAllReduce.
    chunk_ = t.batch_size / ranks();
    split_ = plan_chunk_split(t.batch_size, chunk_, ranks());
  }
  if (t.threads > 0) set_num_threads(static_cast<int>(t.threads));
  session_device::select(device_);
  start_cuda_graph(t.cuda_graph);
  model_ = std::make_unique<layers::Model>(spec_.input, spec_.layers, t.seed, device_, mode_, impl_->stream);
  check_memory_for_passes();  // after the model's own size checks, before any activation exists
  if (mode_.vendor()) {
    // Pin the vendor algorithms of the training calls now, so that they can be recorded
    // (kernel_choices) before the first step.
    layers::ExecContext ctx = context(true, chunk_ * per_pass_chunks(), 0, 0);
    model_->net().prepare(ctx);
  }
  if (!spec_.init_weights.empty()) {
    const SafetensorsFile file = read_safetensors(spec_.init_weights.string());
    std::vector<NamedTensor> tensors;
    for (const SafetensorsTensor& st : file.tensors) {
      DETNN_CHECK(st.dtype == DType::f32, format, spec_.init_weights.string(), ": tensor ", st.name,
                  " is ", dtype_name(st.dtype), ", expected F32");
      NamedTensor nt{st.name, st.shape, std::vector<float>(st.element_count())};
      std::memcpy(nt.values.data(), st.bytes.data(), st.bytes.size());
      tensors.push_back(std::move(nt));
    }
    load_parameters(tensors, spec_.init_weights.string());
  }
  optimizer_ = std::make_unique<optim::Optimizer>(spec_.optimizer, model_->param_count(), device_);
  impl_->grads = Tensor::zeros(Shape{model_->param_count()}, DType::f32, device_, impl_->stream);
  impl_->accumulator = std::make_unique<GradAccumulator>(model_->param_count(), device_, impl_->stream);
  impl_->comm = std::make_unique<SessionComm>(comm_, device_, impl_->stream,
                                              /*unordered=*/mode_.determinism == Determinism::off);
  if (impl_->comm->several() && mode_.determinism != Determinism::off) {
    impl_->buckets = plan_gradient_buckets(
        model_->net(), model_->params(),
        options.gradient_bucket_floats > 0 ? options.gradient_bucket_floats : kGradientBucketFloats);
    for (const GradientBucket& b : impl_->buckets) impl_->largest_bucket = std::max(impl_->largest_bucket, b.count);
  }
  const int64_t local_samples = split_.chunks_per_rank * chunk_;
  impl_->staging = std::make_unique<session_device::StepStaging>(device_, local_samples * sample_size(), local_samples);
  impl_->chunk_count = split_.chunks_per_rank;
  impl_->step_results = Tensor::zeros(Shape{impl_->grad_norm_offset() + 1}, DType::f32, device_, impl_->stream);
  if (device_.is_cuda()) impl_->step_counter = Tensor::zeros(Shape{1}, DType::i64, device_, impl_->stream);
  total_steps_ = std::max<int64_t>(1, t.epochs);
}

// The memory of the model, the optimizer and the step lives on the graph's stream: it goes
// before the graph (and its stream) does.
Session::~Session() {
  optimizer_.reset();
  model_.reset();
  impl_.reset();
}

void Session::start_cuda_graph(CudaGraphSetting setting) {
  if (setting == CudaGraphSetting::off) {
    impl_->graph_status = "off (training.cuda_graph)";
  } else if (!device_.is_cuda()) {
    impl_->graph_status = "off: CUDA Graphs need a CUDA device";
  } else if (ranks() > 1) {
    impl_->graph_status = "off: several ranks (the gradient all-reduce is not captured)";
  } else {
    impl_->graph = std::make_unique<StepGraph>(device_.index);
    impl_->stream = impl_->graph->stream();
    impl_->graph_status = "waiting: the first step runs eagerly, the second is captured";
  }
}

std::string Session::cuda_graph_status() const { return impl_->graph_status; }

void Session::set_profiler(StepProfiler* profiler) {
  DETNN_CHECK(profiler == nullptr || impl_->graph == nullptr, invalid_argument,
              "a step profiler times eager steps; this session replays its steps from a CUDA Graph "
              "(set training.cuda_graph to \"off\")");
  impl_->profiler = profiler;
}

uintptr_t Session::stream() const { return impl_->stream; }

void Session::set_schedule_horizon(int64_t steps_per_epoch, int64_t total_steps) {
  DETNN_CHECK(steps_per_epoch >= 1 && total_steps >= 1, invalid_argument,
              "schedule horizon: steps_per_epoch and total_steps must be >= 1, got ", steps_per_epoch, " and ",
              total_steps);
  optim::check_schedule_for_run(spec_.optimizer.schedule, spec_.optimizer.lr, steps_per_epoch, total_steps);
  steps_per_epoch_ = steps_per_epoch;
  total_steps_ = total_steps;
}

StepStats Session::train_step(const float* images, const int32_t* labels, int64_t batch) {
  try {
    return train_step_on_this_rank(images, labels, batch);
  } catch (const std::exception& e) {
    // The other ranks would wait for this one in the next collective: stop them with its error.
    impl_->comm->abort(e.what());
    throw;
  }
}

StepStats Session::train_step_on_this_rank(const float* images, const int32_t* labels, int64_t batch) {
  StepStats stats = compute_gradient(images, labels, batch);
  const std::function<void(float*, int64_t)> all_reduce_stats = [&](float* sums, int64_t count) {
    impl_->comm->all_reduce_pairwise(sums, count);
  };
  layers::ExecContext ctx = context(true, batch, 0, 0);
  if (impl_->comm->several()) ctx.all_reduce_stats = &all_reduce_stats;
  {
    const ProfiledPart part(impl_->profiler, "batch-norm running statistics");
    model_->net().finish_step(ctx, split_.chunks_per_batch);
  }
  const ProfiledPart part(impl_->profiler, "optimizer update");
  optimizer_->step(model_->flat_params().data<float>(), impl_->grads.data<float>(), steps_, steps_per_epoch_,
                   total_steps_, reinterpret_cast<void*>(impl_->stream), /*norm_ready=*/true);
  stats.lr = optimizer_->last_lr();  // stats.grad_norm came with the loss (finish_gradient)
  ++steps_;
  return stats;
}

StepStats Session::forward_backward(const float* images, const int32_t* labels, int64_t batch) {
  try {
    return compute_gradient(images, labels, batch);
  } catch (const std::exception& e) {
    impl_->comm->abort(e.what());
    throw;
  }
}

std::vector<float> Session::gradient() {
  session_device::select(device_);
  return session_device::download(impl_->grads);
}

StepStats Session::compute_gradient(const float* images, const int32_t* labels, int64_t batch) {
  const TrainingSpec& t = spec_.training;
  DETNN_CHECK(batch == t.batch_size, invalid_argument, "train_step: the batch has ", batch,
              " samples but training.batch_size is ", t.batch_size);
  DETNN_CHECK(images != nullptr && labels != nullptr, invalid_argument, "train_step: null images or labels");
  kernels::cross_entropy_validate_labels(labels, batch, model_->classes());
  DETNN_CHECK(steps_ <= int64_t{0xffffffff}, invalid_argument, "step ", steps_,
              ": dropout's Philox counter holds the step in 32 bits");
  session_device::select(device_);
  const int64_t rank_first_sample = rank() * split_.chunks_per_rank * chunk_;
  impl_->staging->fill(images + rank_first_sample * sample_size(), labels + rank_first_sample, steps_);
  run_gradient_pass(batch);
  StepStats stats = finish_gradient(images, batch);
  if (impl_->gradient_observer) impl_->gradient_observer(impl_->grads);
  return stats;
}

void Session::set_observers(ForwardObserver forward, GradientObserver gradient) {
  impl_->forward_observer = std::move(forward);
  impl_->gradient_observer = std::move(gradient);
}

StepTrace Session::trace_step(const float* images, const int32_t* labels, int64_t batch) {
  DETNN_CHECK(ranks() == 1, unsupported, "trace_step: traces one rank's whole batch; this session is rank ", rank(),
              " of ", ranks());
  DETNN_CHECK(impl_->graph == nullptr, unsupported,
              "trace_step: the session replays its steps from a CUDA Graph; trace with training.cuda_graph off");
  StepTrace trace;
  std::map<std::string, size_t> seen;
  const ForwardObserver previous = impl_->forward_observer;
  impl_->forward_observer = [&](const layers::ExecContext& ctx, const layers::Layer& layer, Tensor& y) {
    if (previous) previous(ctx, layer, y);  // a caller's observer (a test's perturbation) first
    const std::vector<float> values = session_device::download(y);
    const size_t per_sample = ctx.samples > 0 ? values.size() / static_cast<size_t>(ctx.samples) : 0;
    auto [it, added] = seen.emplace(layer.name(), trace.forward.size());
    if (added) trace.forward.push_back({layer.name(), layer.type(), std::vector<float>(static_cast<size_t>(batch) * per_sample)});
    std::copy(values.begin(), values.end(),
              trace.forward[it->second].values.begin() + static_cast<std::ptrdiff_t>(ctx.first_sample * per_sample));
  };
  try {
    forward_backward(images, labels, batch);
  } catch (...) {
    impl_->forward_observer = previous;
    throw;
  }
  impl_->forward_observer = previous;
  const std::vector<float> grads = gradient();
  for (const layers::TensorEntry& e : model_->params())
    trace.gradients.push_back({e.name, e.shape, std::vector<float>(grads.begin() + e.offset, grads.begin() + e.offset + e.size)});
  return trace;
}

// Eagerly, or as a replay of the captured pass (session/step_graph.h): the first step eagerly
// (modules load, libraries set up), the second captured, then replays. A capture CUDA refuses
// leaves the session eager for good, saying why in cuda_graph_status().
void Session::run_gradient_pass(int64_t batch) {
  StepGraph* graph = impl_->graph.get();
  const auto enqueue = [&] { enqueue_gradient_pass(batch); };
  if (graph == nullptr || !impl_->graph_warmed_up || impl_->graph_failed) {
    enqueue();
    impl_->graph_warmed_up = true;
    return;
  }
  if (!graph->captured()) {
    if (!graph->capture(enqueue)) {
      // The session stays on the graph's stream (its memory was allocated there), eagerly.
      impl_->graph_failed = true;
      impl_->graph_status = "eager: the capture failed: " + graph->failure();
      enqueue();
      return;
    }
    impl_->graph_status = "replaying (" + std::to_string(graph->kernel_nodes()) + " kernels per step)";
  }
  graph->replay();
}

void Session::enqueue_gradient_pass(int64_t batch) {
  // This rank's chunks of the global batch: [rank_first, rank_first + local_chunks).
  const int64_t local_chunks = split_.chunks_per_rank, rank_first = rank() * local_chunks;
  const int64_t per_pass = per_pass_chunks();
  const int64_t passes = (local_chunks + per_pass - 1) / per_pass;
  layers::ExecContext ctx = context(true, 0, rank_first * chunk_, rank_first);
  begin_gradient_pass(ctx, local_chunks);
  bool reduced_in_buckets = false;
  for (int64_t pass = 0; pass < passes; ++pass) {
    const int64_t local_first = pass * per_pass;
    const int64_t chunks = std::min(per_pass, local_chunks - local_first);
    ctx.first_chunk = rank_first + local_first;
    ctx.first_sample = ctx.first_chunk * chunk_;
    ctx.samples = chunks * chunk_;
    const Tensor dlogits = forward_and_loss_gradient(ctx, local_first, chunks, batch);
    Tensor partials = Tensor::empty(Shape{chunks * model_->param_count()}, DType::f32, device_, impl_->stream);
    model_->bind_grad_partials(partials.data<float>(), chunks);
    if (passes == 1 && !impl_->buckets.empty()) {
      backward_in_buckets(ctx, dlogits, partials.data<float>(), chunks);
      reduced_in_buckets = true;
    } else {
      model_->net().backward(ctx, dlogits, false);
    }
    const ProfiledPart part(impl_->profiler, "combine the chunk partials");
    if (!reduced_in_buckets) combine_pass_partials(ctx, partials.data<float>(), chunks, passes, per_pass);
  }
  finish_gradient_pass(passes, reduced_in_buckets);
}

void Session::begin_gradient_pass(const layers::ExecContext& ctx, int64_t local_chunks) {
  if (device_.is_cuda()) impl_->staging->upload_step(impl_->step_counter, impl_->stream);
  session_device::fill_zero(impl_->step_results, impl_->stream);  // the count starts at 0
  model_->net().begin_step(ctx, local_chunks);
  impl_->accumulator->reset();
}

Tensor Session::forward_and_loss_gradient(const layers::ExecContext& ctx, int64_t local_first, int64_t chunks,
                                          int64_t batch) {
  const int64_t classes = model_->classes();
  const int64_t staged_first = local_first * chunk_;  // within this rank's staged samples
  std::optional<ProfiledPart> part;
  part.emplace(impl_->profiler, "upload the batch");
  const Tensor x = impl_->staging->images_on_device(
      staged_first, Shape{ctx.samples, spec_.input.c, spec_.input.h, spec_.input.w}, impl_->stream);
  const Tensor y = impl_->staging->labels_on_device(staged_first, ctx.samples, impl_->stream);
  part.reset();

  const Tensor logits = model_->net().forward(ctx, x);
  part.emplace(impl_->profiler, "loss, top-1 count, loss gradient");
  const kernels::CrossEntropyParams xp{ctx.samples, classes, static_cast<float>(spec_.loss.label_smoothing), batch};
  session_device::chunk_loss_sums(logits, y, xp, chunks, chunk_, impl_->chunk_losses() + local_first, ctx);
  session_device::count_correct(logits, y, classes, impl_->correct(), ctx);
  return session_device::cross_entropy_grad(logits, y, xp, ctx);
}

// Gradient buckets: as soon as backward has finished a bucket's layers, its parameters' chunk
// partials are combined (this rank's node) and its all-reduce starts, overlapping the backward of
// the layers before it (asynchronous with NCCL).
void Session::backward_in_buckets(const layers::ExecContext& ctx, const Tensor& dlogits, const float* partials,
                                  int64_t chunks) {
  const auto& entries = model_->params();
  float* grads = impl_->grads.data<float>();
  SessionComm& comm = *impl_->comm;
  comm.reserve_buckets(impl_->largest_bucket);
  size_t next = 0;
  model_->net().backward(ctx, dlogits, false, [&](size_t layer) {
    for (; next < impl_->buckets.size() && impl_->buckets[next].first_layer == layer; ++next) {
      const GradientBucket& b = impl_->buckets[next];
      for (size_t i = b.entry_begin; i < b.entry_end; ++i)
        session_device::combine(partials + chunks * entries[i].offset, chunks, entries[i].size,
                                grads + entries[i].offset, ctx);
      comm.all_reduce_bucket(grads + b.offset, b.count);
    }
  });
  DETNN_CHECK(next == impl_->buckets.size(), internal, "gradient buckets: ", next, " of ", impl_->buckets.size(),
              " all-reduced after backward");
  comm.finish_buckets();
}

// One pass's chunk partials: with one pass, combined straight into the gradient; with several
// (gradient accumulation), pushed as nodes of the pairwise tree onto the accumulator's stack —
// a whole aligned power-of-two group as one node of its level, anything else chunk by chunk.
void Session::combine_pass_partials(const layers::ExecContext& ctx, const float* partials, int64_t chunks,
                                    int64_t passes, int64_t per_pass) {
  const auto& entries = model_->params();
  const int64_t P = model_->param_count();
  if (passes == 1) {
    float* grads = impl_->grads.data<float>();
    for (const auto& e : entries)
      session_device::combine(partials + chunks * e.offset, chunks, e.size, grads + e.offset, ctx);
  } else if (chunks == per_pass && is_power_of_two(chunks)) {
    Tensor node = Tensor::empty(Shape{P}, DType::f32, device_, impl_->stream);
    for (const auto& e : entries)
      session_device::combine(partials + chunks * e.offset, chunks, e.size, node.data<float>() + e.offset, ctx);
    impl_->accumulator->push(std::move(node), log2_exact(chunks));
  } else {
    for (int64_t c = 0; c < chunks; ++c) {
      Tensor node = Tensor::empty(Shape{P}, DType::f32, device_, impl_->stream);
      for (const auto& e : entries)
        session_device::combine(partials + chunks * e.offset + c * e.size, 1, e.size, node.data<float>() + e.offset,
                                ctx);
      impl_->accumulator->push(std::move(node), 0);
    }
  }
}

void Session::finish_gradient_pass(int64_t passes, bool reduced_in_buckets) {
  float* grads = impl_->grads.data<float>();
  if (passes > 1) {
    const ProfiledPart part(impl_->profiler, "combine the chunk partials");
    impl_->accumulator->result(grads);
  }
  // This rank's nodes (level log2 k of the pairwise trees) combined over the ranks in rank order
  // (already done bucket by bucket when the rank had one pass).
  if (!reduced_in_buckets) {
    const ProfiledPart part(impl_->profiler, "gradient all-reduce");
    impl_->comm->all_reduce_pairwise(grads, model_->param_count());
  }
  // The norm (and clip factor) for the update, here so that the pass's one read-back brings it
  // and a CUDA Graph of the pass holds it.
  const ProfiledPart part(impl_->profiler, "gradient norm");
  optimizer_->compute_norm(grads, impl_->grad_norm(), reinterpret_cast<void*>(impl_->stream));
}

// The pass's loss and correct count, read once the pass has run: a non-finite chunk loss is an
// error (before any update), the loss and count are combined over the ranks.
StepStats Session::finish_gradient(const float* images, int64_t batch) {
  std::optional<ProfiledPart> part;
  part.emplace(impl_->profiler, "read back the loss and count");
  const std::vector<float> results = session_device::download(impl_->step_results);
  part.reset();
  StepStats stats;
  stats.samples = batch;
  std::memcpy(&stats.correct, results.data() + impl_->correct_offset(), sizeof stats.correct);
  stats.grad_norm = results[impl_->grad_norm_offset()];
  PairwiseStack loss_sum;
  for (int64_t c = 0; c < impl_->chunk_count; ++c) {
    if (!std::isfinite(results[c])) throw_non_finite_loss(images, c, results[c]);
    loss_sum.push(results[c]);
  }
  SessionComm& comm = *impl_->comm;
  stats.loss = comm.all_reduce_pairwise(loss_sum.result()) / static_cast<float>(batch);
  stats.correct = comm.all_reduce_sum(stats.correct);
  return stats;
}

// Runs the forward of the pass holding this rank's chunk `local_chunk` again, eagerly, layer by
// layer, to name the first layer whose output is not finite.
void Session::throw_non_finite_loss(const float* images, int64_t local_chunk, float loss) {
  const int64_t per_pass = per_pass_chunks(), local_chunks = split_.chunks_per_rank;
  const int64_t local_first = local_chunk / per_pass * per_pass;
  const int64_t first_chunk = rank() * local_chunks + local_first;
  const int64_t samples = std::min(per_pass, local_chunks - local_first) * chunk_;
  layers::ExecContext ctx = context(true, samples, first_chunk * chunk_, first_chunk);
  const Tensor x = session_device::upload(images + ctx.first_sample * sample_size(),
                                          Shape{samples, spec_.input.c, spec_.input.h, spec_.input.w}, device_,
                                          impl_->stream);
  layers::Sequential& net = model_->net();
  const std::string where = net.first_non_finite_layer(ctx, x);
  net.release();
  // The eager forward changed what the layers hold: a captured pass no longer matches them.
  if (impl_->graph != nullptr && impl_->graph->captured()) {
    impl_->graph->discard();
    impl_->graph_status = "waiting: captured again on the next step (an eager forward ran)";
  }
  DETNN_THROW(invalid_argument, "step ", steps_, ": the loss is not finite (", loss, " in reduction chunk ",
              first_chunk + (local_chunk - local_first), "); ",
              where.empty() ? std::string("every layer's output is finite, so the loss itself overflowed")
                            : "the first layer whose output is not finite is " + where,
              "; the weights were not updated");
}

layers::ExecContext Session::context(bool training, int64_t samples, int64_t first_sample, int64_t first_chunk) const {
  layers::ExecContext ctx{device_,           impl_->stream, training, samples, training ? chunk_ : 1,
                          spec_.training.seed, steps_,      first_sample, first_chunk};
  ctx.mode = mode_;
  ctx.profiler = training ? impl_->profiler : nullptr;  // evaluations between steps are not parts
  if (mode_.determinism == Determinism::fast) ctx.vendor_call = spec_.training.chunk_size;
  if (impl_->step_counter.defined()) ctx.step_on_device = impl_->step_counter.data<int64_t>();
  if (training && impl_->forward_observer) ctx.forward_observer = &impl_->forward_observer;
  return ctx;
}

// A pass keeps every layer's output for the backward pass and makes a gradient of each: a model
// whose pass cannot fit is refused here, before anything is allocated, with what it needs.
void Session::check_memory_for_passes() const {
  const double pass_samples = static_cast<double>(chunk_ * per_pass_chunks());
  const double values = 2.0 * pass_samples * static_cast<double>(spec_.activation_values_per_sample) +
                        static_cast<double>(spec_.training.batch_size) * static_cast<double>(spec_.input.size()) +
                        4.0 * static_cast<double>(spec_.parameter_count);
  check_fits_device_memory(4.0 * values, device_,
                           "training " + spec_.name + " in passes of " + std::to_string(chunk_ * per_pass_chunks()) +
                               " samples (" + std::to_string(spec_.activation_values_per_sample) +
                               " activation values per sample, kept with their gradients; training.chunks_per_pass "
                               "makes passes smaller)");
}

int64_t Session::per_pass_chunks() const {
  const int64_t local = split_.chunks_per_rank, asked = spec_.training.chunks_per_pass;
  return asked == 0 ? local : std::min(asked, local);
}

layers::ExecContext Session::eval_context(int64_t first, int64_t samples) const {
  return context(false, samples, first, 0);
}

std::vector<KernelChoice> Session::kernel_choices() const {
  std::vector<KernelChoice> out;
  model_->net().collect_kernel_choices(out);
  return out;
}

Tensor Session::eval_forward(const layers::ExecContext& ctx, const float* images) {
  const Tensor x = session_device::upload(images, Shape{ctx.samples, spec_.input.c, spec_.input.h, spec_.input.w},
                                          device_, impl_->stream);
  return model_->net().forward(ctx, x);
}

EvalStats Session::evaluate(const float* images, const int32_t* labels, int64_t n) {
  DETNN_CHECK(n >= 0 && (images != nullptr || n == 0), invalid_argument, "evaluate: ", n, " samples, images ",
              images == nullptr ? "null" : "given");
  const int64_t classes = model_->classes();
  if (labels != nullptr) kernels::cross_entropy_validate_labels(labels, n, classes);
  session_device::select(device_);
  const int64_t batch = spec_.training.eval_batch_size, sample = model_->input_shape().size();
  std::vector<float> losses;
  losses.reserve(static_cast<size_t>(n));
  EvalStats stats;
  stats.samples = n;
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t m = std::min(batch, n - first);
    const layers::ExecContext ctx = eval_context(first, m);
    const Tensor logits = eval_forward(ctx, images + first * sample);
    if (labels == nullptr) continue;
    const Tensor y = session_device::upload_labels(labels + first, m, device_, impl_->stream);
    const kernels::CrossEntropyParams xp{m, classes, static_cast<float>(spec_.loss.label_smoothing), 1};
    const std::vector<float> l = session_device::sample_losses(logits, y, xp, ctx);
    losses.insert(losses.end(), l.begin(), l.end());
    const std::vector<float> host_logits = session_device::download(logits);
    kernels::count_correct_cpu(host_logits.data(), labels + first, m, classes, &stats.correct);
  }
  if (labels != nullptr && n > 0)
    stats.loss = kernels::canonical_sum_cpu(losses.data(), n) / static_cast<float>(n);
  return stats;
}

void Session::predict(const float* images, int64_t n, float* logits) {
  DETNN_CHECK(n >= 0 && (n == 0 || (images != nullptr && logits != nullptr)), invalid_argument,
              "predict: null images or logits");
  session_device::select(device_);
  const int64_t batch = spec_.training.eval_batch_size, sample = model_->input_shape().size();
  const int64_t classes = model_->classes();
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t m = std::min(batch, n - first);
    const std::vector<float> out = session_device::download(eval_forward(eval_context(first, m), images + first * sample));
    std::memcpy(logits + first * classes, out.data(), out.size() * sizeof(float));
  }
}

std::string Session::weights_sha256() {
  session_device::select(device_);
  const std::vector<float> p = session_device::download(model_->flat_params());
  return sha256_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size() * sizeof(float)));
}

uint64_t Session::weights_digest() {
  session_device::select(device_);
  return session_device::weights_digest(model_->flat_params(), impl_->stream);
}

void Session::check_ranks_agree() {
  SessionComm& comm = *impl_->comm;
  if (!comm.several()) return;
  const std::string mine = state_sha256() + " at step " + std::to_string(steps_);
  // Fixed size: the broadcast must be the same size on every rank.
  char root[128] = {};
  mine.copy(root, sizeof root - 1);
  comm.broadcast(root, sizeof root);
  const bool differs = mine != root;
  const int64_t differing = comm.all_reduce_sum(differs ? 1 : 0);
  if (differing == 0) return;
  const std::string message = std::to_string(differing) + " rank(s) do not start from rank 0's state (rank 0: state " +
                              root + "; rank " + std::to_string(rank()) + ": state " + mine +
                              "): every rank must start from the same weights — did every rank load the same checkpoint?";
  throw Error(ErrorCode::comm, message);
}

}  // namespace detnn
