// The Layer interface (DESIGN §7): a layer owns its forward and backward (there is no autograd
// tape), declares its parameters and buffers, and dispatches to the CPU or strict CUDA kernels
// by the device of the call.
//
// Tensors between layers are [n, C, H, W] (a flattened feature vector is [n, F, 1, 1]).
// Parameter gradients are written as one partial per reduction chunk (DESIGN §3): a parameter of
// `size` floats gets a [chunks, size] region; the session combines the chunks pairwise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/vendor/algorithm_choice.h"
#include "layers/init.h"
#include "runtime/determinism.h"
#include "runtime/tensor.h"

namespace detnn {
class StepProfiler;  // runtime/step_profiler.h
}  // namespace detnn

namespace detnn::layers {

// Per-sample feature shape C x H x W.
struct FeatureShape {
  int64_t c = 0, h = 1, w = 1;
  int64_t size() const { return c * h * w; }
  bool operator==(const FeatureShape&) const = default;
  std::string to_string() const;  // "64x16x16"
};

// Everything a forward or backward call needs besides the tensors.
class Layer;

struct ExecContext {
  Device device;
  uintptr_t stream = 0;        // cudaStream_t on CUDA
  bool training = false;
  int64_t samples = 0;         // samples in this call
  int64_t chunk_size = 1;      // samples per reduction chunk (training: samples % chunk_size == 0)
  uint64_t seed = 0;           // the run's seed (dropout)
  int64_t step = 0;            // optimizer updates done before this step (dropout)
  int64_t first_sample = 0;    // position of the call's first sample in the global batch
  // Index of the call's first chunk among the chunks of the global batch (batch-norm statistics;
  // with several ranks, rank r's calls start at r * k).
  int64_t first_chunk = 0;
  // Data-parallel steps only (null with one rank): combines a layer's per-step statistic sums
  // (on ctx.device) over the ranks, in place, by the pairwise rule in rank order (DESIGN §6).
  const std::function<void(float* sums, int64_t count)>* all_reduce_stats = nullptr;
  // strict: detnn's kernels. fast / off (CUDA only): convolutions and GEMMs through cuDNN and
  // cuBLASLt (kernels/vendor/), everything else as in strict.
  ComputeMode mode{};
  // fast: samples per vendor call (the training chunk size, in evaluation too), so that every
  // call of a layer runs the same pinned algorithm on the same shape. 0: the whole call (off).
  int64_t vendor_call = 0;
  // CUDA: `step` in device memory, read by the kernels when set (dropout), so that a training
  // step captured in a CUDA Graph draws each replayed step's masks (session/step_graph.h).
  const int64_t* step_on_device = nullptr;
  // Set while a benchmark profiles the step (runtime/step_profiler.h): the trunk's layers time
  // their forward and backward as parts. Null otherwise.
  StepProfiler* profiler = nullptr;
  // Set while a training pass is observed (Session::set_observers, trace_step): called with each
  // layer's output right after its forward, the nested layers of a block included. Null otherwise.
  const std::function<void(const ExecContext&, const Layer&, Tensor&)>* forward_observer = nullptr;

  bool cuda() const { return device.is_cuda(); }
  int64_t chunks() const { return samples / chunk_size; }
};

// A trainable parameter as a layer declares it. The model lays all parameters out in one flat
// buffer (in declaration order) and binds `data` into it; during a training call `grad_partials`
// points at the layer's [chunks, size] partial region.
struct ParamSlot {
  std::string name;            // stable name, e.g. "layers.3.weight" (also the Philox key)
  std::vector<int64_t> shape;  // PyTorch's shape for the parameter
  InitKind init = InitKind::zeros;
  FanInOut fan{1, 1};
  float* data = nullptr;
  float* grad_partials = nullptr;
  int64_t size() const;
};

// A non-trainable tensor saved in checkpoints (batch-norm running statistics).
struct BufferSlot {
  std::string name;
  std::vector<int64_t> shape;
  float fill = 0.0f;           // initial value
  float* data = nullptr;       // bound by the model
  int64_t size() const;
};

class Layer {
 public:
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  const std::string& type() const { return type_; }
  FeatureShape input_shape() const { return input_; }
  FeatureShape output_shape() const { return output_; }

  // Every parameter/buffer slot of this layer and its children, in a fixed order.
  virtual void collect_params(std::vector<ParamSlot*>& out) { (void)out; }
  virtual void collect_buffers(std::vector<BufferSlot*>& out) { (void)out; }

  // y for x [samples, input]; keeps what backward needs when ctx.training.
  virtual Tensor forward(const ExecContext& ctx, const Tensor& x) = 0;
  // dx for dy [samples, output] (an undefined Tensor when !need_dx); writes the parameter
  // gradient partials of the call's chunks. Only after a training forward with the same ctx.
  virtual Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) = 0;
  // End of a training step whose global batch has `total_chunks` chunks (all ranks together):
  // running-statistics updates, combined over the ranks through ctx.all_reduce_stats.
  virtual void finish_step(const ExecContext& ctx, int64_t total_chunks) { (void)ctx, (void)total_chunks; }
  // Prepares per-step state for this rank's `local_chunks` chunks, the first of which is
  // ctx.first_chunk of the global batch (batch-norm statistics).
  virtual void begin_step(const ExecContext& ctx, int64_t local_chunks) { (void)ctx, (void)local_chunks; }
  // Drops what forward kept for backward.
  virtual void release() {}
  // fast / off on CUDA: picks the vendor algorithms of the training calls now (ctx.samples =
  // samples per training pass), so that they can be recorded before the first step.
  virtual void prepare(const ExecContext& ctx) { (void)ctx; }
  // The vendor algorithms this layer and its children have pinned so far (none in strict).
  virtual void collect_kernel_choices(std::vector<KernelChoice>& out) const { (void)out; }

 protected:
  Layer(std::string type, std::string name, FeatureShape input)
      : type_(std::move(type)), name_(std::move(name)), input_(input), output_(input) {}
  std::string type_;
  std::string name_;
  FeatureShape input_;
  FeatureShape output_;
};

// A weight and its bias as conv2d and linear declare them: "<layer>.weight" with `weight_shape`
// and "<layer>.bias" [weight_shape[0]], the bias initialized with the weight's fans.
void declare_weight_and_bias(const std::string& layer, std::vector<int64_t> weight_shape, InitKind weight_init,
                             InitKind bias_init, ParamSlot& weight, ParamSlot& bias);

// A new activation tensor [n, shape] on the call's device and stream.
Tensor new_activation(const ExecContext& ctx, int64_t n, const FeatureShape& shape);
Tensor new_tensor(const ExecContext& ctx, const Shape& shape, DType dtype = DType::f32);
// Checks that x is [ctx.samples, shape] f32 on ctx.device; the message names the layer.
void check_input(const Layer& layer, const ExecContext& ctx, const Tensor& x, const FeatureShape& shape);

}  // namespace detnn::layers
