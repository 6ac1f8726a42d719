// The training session (DESIGN §3, §8): a model replica on one device with its optimizer. A
// training step takes one global batch (host memory), cuts it into reduction chunks, runs
// forward and backward over them in passes of `chunks_per_pass` chunks (gradient accumulation,
// same bits for any pass size), combines the per-chunk gradient partials by the pairwise rule,
// updates the batch-norm running statistics and applies the optimizer.
//
// Data-parallel (DESIGN §3, §6): a session given a communicator is rank r of P. train_step still
// takes the whole global batch, and rank r computes only its chunks [r·k, (r+1)·k), k = B/(C·P)
// (a power of two when P > 1), with the global chunk and sample positions (dropout masks and
// batch-norm chunks are those of the global batch). Its gradient, loss, correct count and
// batch-norm statistic sums are nodes of the pairwise tree over its chunks; the communicator
// combines them over the ranks in rank order, so every rank ends the step with the 1-rank bits.
// A rank whose step throws aborts the group: the other ranks' steps then throw Error(comm)
// naming it. Evaluation and prediction are not shared out: each rank computes them whole.
//
// Threads: CPU sessions share one thread pool. Sessions used from several threads at once must
// each hold the CPU compute lock (runtime/cpu_compute_lock.h) around their calls, as the C API
// does; without it the pool deadlocks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/vendor/algorithm_choice.h"
#include "layers/model.h"
#include "optim/optimizer.h"
#include "runtime/comm/comm.h"
#include "runtime/determinism.h"
#include "session/batch_split.h"
#include "session/model_file.h"
#include "session/step_graph.h"
#include "session/training_settings.h"

namespace detnn {

// Overrides of the model file's training section (session/training_settings.h; unset: keep the
// file's value), and the session's own knobs.
struct SessionOptions : TrainingOverrides {
  // Data-parallel steps: the gradient bucket size in floats (<= 0: session/gradient_buckets.h's
  // default). Never changes a bit; tests make it small to get many buckets.
  int64_t gradient_bucket_floats = 0;
};

struct StepStats {
  float loss = 0.0f;        // mean loss of the global batch (canonical sum / B)
  int64_t correct = 0;      // samples whose top score (first maximum) is the label
  int64_t samples = 0;
  float lr = 0.0f;          // learning rate of this update
  float grad_norm = 0.0f;   // global gradient norm before clipping
};

struct EvalStats {
  double loss = 0.0;        // mean loss (canonical sum over samples / n)
  int64_t correct = 0;
  int64_t samples = 0;
};

// A tensor of the session's state for checkpoints: name, shape and the values (host copy).
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// One observed gradient pass (Session::trace_step): host copies, in forward order.
struct StepTrace {
  struct Output {
    std::string layer, type;    // the layer's name ("layers.3", "layers.6.body.1") and type
    std::vector<float> values;  // its forward output over the whole batch, in sample order
  };
  std::vector<Output> forward;
  std::vector<NamedTensor> gradients;  // every parameter's gradient, in parameter order
};

class Session {
 public:
  // `comm` (optional, not owned, must outlive the session): this session is rank comm->rank()
  // of comm->size(). Throws Error(invalid_argument) naming B, C and P when the global batch
  // cannot be shared (session/batch_split.h).
  Session(const ModelSpec& spec, const SessionOptions& options = {}, Comm* comm = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const ModelSpec& spec() const { return spec_; }  // with the overrides applied
  Device device() const { return device_; }
  int64_t batch_size() const { return spec_.training.batch_size; }
  int64_t sample_size() const { return spec_.input.size(); }
  int64_t classes() const { return model_->classes(); }
  int64_t param_count() const { return model_->param_count(); }
  int64_t steps_done() const { return steps_; }
  int rank() const { return comm_ != nullptr ? comm_->rank() : 0; }
  int ranks() const { return comm_ != nullptr ? comm_->size() : 1; }

  // What the learning-rate schedule counts in (the trainer sets it from the dataset):
  // updates per epoch and in the whole run. Defaults: 1 and the file's epochs.
  void set_schedule_horizon(int64_t steps_per_epoch, int64_t total_steps);

  // One optimizer update on a global batch: images [B, C, H, W] and labels [B] in host memory.
  // Throws Error(invalid_argument) for a label out of range or a non-finite loss (naming the step
  // and the first layer whose output was not finite); the weights are then unchanged.
  StepStats train_step(const float* images, const int32_t* labels, int64_t batch);

  // The loss and gradient of a global batch without changing any state (no update, no running
  // statistics): for gradient checks. gradient() then holds the combined gradient.
  StepStats forward_backward(const float* images, const int32_t* labels, int64_t batch);
  // The last combined gradient [param_count] (host copy; parameters in declaration order).
  std::vector<float> gradient();

  // Loss and accuracy over n samples (any n; no weights change). labels may be null (no loss).
  EvalStats evaluate(const float* images, const int32_t* labels, int64_t n);
  // logits [n, classes] (host).
  void predict(const float* images, int64_t n, float* logits);

  // SHA-256 (hex) of the parameters' bytes (the flat buffer, little-endian floats).
  std::string weights_sha256();
  // Observers of the training passes, for tools and tests (empty functions: none): `forward` sees
  // every layer's output right after its forward (with the call's context: first_sample,
  // samples) and may read or alter it; `gradient` sees the step's combined gradient before the
  // optimizer reads it. They run only when the pass runs eagerly (not replayed from a graph).
  using ForwardObserver = std::function<void(const layers::ExecContext&, const layers::Layer&, Tensor&)>;
  using GradientObserver = std::function<void(Tensor& gradient)>;
  void set_observers(ForwardObserver forward, GradientObserver gradient);
  // One gradient pass of a global batch, observed (no update, like forward_backward): every
  // layer's forward output and every parameter's gradient. One rank, eager only.
  StepTrace trace_step(const float* images, const int32_t* labels, int64_t batch);

  // The 64-bit digest of the parameters (kernels/weights_digest.h), computed where they live: the
  // per-step fingerprint of metrics.jsonl, cheap enough for every step.
  uint64_t weights_digest();
  // SHA-256 (hex) of the whole training state, what a resume must restore for the next step to
  // give the same bits: every tensor of state_tensors() (parameters, buffers such as batch-norm
  // running statistics, optimizer state) with its name and shape, and the step counter. Every
  // bit-equality check compares this, not only the weights.
  std::string state_sha256();
  // A collective (every rank calls it): throws Error(comm) on every rank unless every rank holds
  // rank 0's weights, buffers and step — e.g. when the ranks of a resumed run did not all load
  // the same checkpoint. Nothing to check with one rank.
  void check_ranks_agree();

  // Checkpoint state: parameters and buffers by name, optimizer state, and the step counter.
  std::vector<NamedTensor> state_tensors();
  // Replaces the state; every tensor of state_tensors() must be present with its shape (errors
  // name the missing, extra or mis-shaped tensor). `source` prefixes messages.
  void load_state_tensors(const std::vector<NamedTensor>& tensors, const std::string& source);
  // Only the parameters (init_weights files); the same checks.
  void load_parameters(const std::vector<NamedTensor>& tensors, const std::string& source);
  void set_steps_done(int64_t steps) { steps_ = steps; }

  // fast / off: the cuDNN and cuBLASLt algorithms pinned so far, per layer and call shape (those
  // of the training calls from construction on); empty in strict.
  std::vector<KernelChoice> kernel_choices() const;
  ComputeMode compute_mode() const { return mode_; }
  // What training.cuda_graph came to: "off (training.cuda_graph)", "off: <why not here>",
  // "waiting: …" (before the capture), "replaying (N kernels per step)", or "eager: the capture
  // failed: <CUDA's reason>".
  std::string cuda_graph_status() const;
  // Times the parts of the following training steps into `profiler` (made for this session's
  // device() and stream(); null stops): the trunk's layers forward and backward, the upload, the
  // loss, the combine, the batch-norm statistics, the optimizer (runtime/step_profiler.h).
  // Eager steps only: Error(invalid_argument) when training.cuda_graph is "auto".
  void set_profiler(StepProfiler* profiler);
  // The stream the session enqueues on (a cudaStream_t; 0: the legacy default stream).
  uintptr_t stream() const;

  // A parameter by name: copy out / in (host floats, `count` must equal its size).
  const std::vector<layers::TensorEntry>& parameters() const { return model_->params(); }
  void read_parameter(const std::string& name, float* out, int64_t count);
  void write_parameter(const std::string& name, const float* values, int64_t count);

 private:
  StepStats compute_gradient(const float* images, const int32_t* labels, int64_t batch);
  // The gradient pass of a step whose input is staged: eagerly or as a graph replay.
  void run_gradient_pass(int64_t batch);
  // Queues the pass: forward, chunk loss sums, correct count, backward, combined gradient (and
  // its all-reduce over the ranks). No host synchronization: it may be captured.
  void enqueue_gradient_pass(int64_t batch);
  // Its steps: the step's set-up; one pass's upload, forward and loss gradient; backward with
  // the gradient buckets' all-reduce; one pass's chunk partials into the gradient (or onto the
  // accumulator); the accumulator's result, the all-reduce and the norm.
  void begin_gradient_pass(const layers::ExecContext& ctx, int64_t local_chunks);
  Tensor forward_and_loss_gradient(const layers::ExecContext& ctx, int64_t local_first, int64_t chunks,
                                   int64_t batch);
  void backward_in_buckets(const layers::ExecContext& ctx, const Tensor& dlogits, const float* partials,
                           int64_t chunks);
  void combine_pass_partials(const layers::ExecContext& ctx, const float* partials, int64_t chunks, int64_t passes,
                             int64_t per_pass);
  void finish_gradient_pass(int64_t passes, bool reduced_in_buckets);
  StepStats finish_gradient(const float* images, int64_t batch);
  [[noreturn]] void throw_non_finite_loss(const float* images, int64_t local_chunk, float loss);
  void start_cuda_graph(CudaGraphSetting setting);
  StepStats train_step_on_this_rank(const float* images, const int32_t* labels, int64_t batch);
  // Evaluation-mode forward of ctx.samples samples (host images) starting at sample `first`.
  layers::ExecContext eval_context(int64_t first, int64_t samples) const;
  // A context with this session's mode: training (chunks of chunk_) or evaluation.
  layers::ExecContext context(bool training, int64_t samples, int64_t first_sample, int64_t first_chunk) const;
  int64_t per_pass_chunks() const;
  void check_memory_for_passes() const;
  Tensor eval_forward(const layers::ExecContext& ctx, const float* images);
  struct Impl;
  ModelSpec spec_;
  Device device_;
  std::unique_ptr<layers::Model> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<Impl> impl_;
  Comm* comm_ = nullptr;
  ChunkSplit split_{};
  ComputeMode mode_{};
  // Samples per reduction chunk: training.chunk_size, except in off (a rank's whole batch).
  int64_t chunk_ = 1;
  int64_t steps_ = 0;
  int64_t steps_per_epoch_ = 1, total_steps_ = 1;
};

}  // namespace detnn
