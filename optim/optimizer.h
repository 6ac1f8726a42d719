// The optimizer of a training run (DESIGN §7): SGD (momentum, dampening, Nesterov, weight
// decay), Adam and AdamW with PyTorch's semantics, global-norm gradient clipping and a
// learning-rate schedule, over the flat parameter and gradient buffers (DESIGN §5), so one
// step is: the canonical gradient norm, its clip factor, the scheduled lr, one fused update
// kernel (kernels/optimizer.h). The same bits on the CPU and on strict CUDA.
//
// Resume: everything a step needs besides the state tensors is a function of `updates_done`
// (the SGD momentum buffer's first-step initialization, Adam's bias corrections, the lr), so a
// run restored from a checkpoint (state_tensors() + updates_done) continues with the same bits.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/optimizer.h"
#include "optim/schedule.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

namespace detnn::optim {

struct OptimizerSpec {
  std::string type = "sgd";  // sgd | adam | adamw
  double lr = 1e-3;          // PyTorch's default for SGD, Adam and AdamW; the schedule's base lr
  double momentum = 0.0, dampening = 0.0;  // sgd
  bool nesterov = false;                   // sgd: needs momentum > 0 and dampening 0
  double weight_decay = 0.0;               // parsed default: 0.01 for adamw (PyTorch's), else 0
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
  double clip_grad_norm = 0.0;                    // max global L2 norm of the gradients; 0: off
  ScheduleSpec schedule;                          // default: constant
};

// Reads the model file's "optimizer" object (docs/optimizers.md). Errors are Error(format)
// naming the JSON path: unknown keys (including another type's keys, e.g. "momentum" for adam),
// wrong types, out-of-range values, nesterov without momentum.
OptimizerSpec parse_optimizer_spec(const nlohmann::json& j, const std::string& path);
// Every field of the type; parse_optimizer_spec(to_json(s)) == s.
nlohmann::json to_json(const OptimizerSpec& spec);

class Optimizer {
 public:
  // State tensors zeroed on `device`; param_count >= 1. Validates the hyper-parameters
  // (Error(invalid_argument)).
  Optimizer(const OptimizerSpec& spec, int64_t param_count, const Device& device);

  // One update of params[0, n) from grads[0, n), n = param_count (device pointers on CUDA;
  // there the step is asynchronous on `cuda_stream`, a cudaStream_t, nullptr = the default
  // stream). updates_done: updates before this one (0 for the first). steps_per_epoch and
  // total_steps (updates in the whole run) feed the schedule (scheduled_lr). The gradient norm
  // is computed here unless norm_ready (always one per update); with clip_grad_norm > 0 its clip
  // factor scales the gradients inside the update kernel (the gradient buffer is not rewritten).
  // norm_ready: compute_norm() has already queued (or, replayed from a CUDA Graph, run) the norm
  // and clip factor of these `grads`, after their last change; the update then uses them.
  void step(float* params, const float* grads, int64_t updates_done, int64_t steps_per_epoch,
            int64_t total_steps, void* cuda_stream = nullptr, bool norm_ready = false);

  // The global gradient norm of grads[0, n) and its clip factor, computed for the next step()
  // (norm_ready), and the norm also written to *norm_out (a float on the optimizer's device). A
  // session queues it at the end of its gradient pass, so that one read-back brings the loss,
  // the count and the norm, and a CUDA Graph of the pass holds it: the update needs no other
  // host round trip. CUDA: asynchronous on `cuda_stream`.
  void compute_norm(const float* grads, float* norm_out, void* cuda_stream = nullptr);

  // The lr of the last step (NaN before the first).
  float last_lr() const { return last_lr_; }
  // The last step's global gradient norm, before clipping (NaN before the first). On CUDA this
  // copies it from the device and waits for the last step's stream.
  float last_grad_norm();

  // Named state for checkpoints: "optimizer.momentum_buffer" (sgd with momentum > 0),
  // "optimizer.exp_avg" and "optimizer.exp_avg_sq" (adam, adamw); empty for plain sgd. Each is
  // [param_count] f32 on the optimizer's device; restore by copying into them.
  std::vector<std::pair<std::string, Tensor*>> state_tensors();

  const OptimizerSpec& spec() const { return spec_; }
  int64_t param_count() const { return n_; }
  const Device& device() const { return device_; }

 private:
  // The host scalars of one update (exactly one of the two is used).
  struct UpdateScalars {
    kernels::SgdStep sgd;
    kernels::AdamStep adam;
  };
  void step_cpu(float* params, const float* grads, const UpdateScalars& s, bool norm_ready);
  // optimizer_cuda.cpp; throw Error(unsupported) in a CPU-only build.
  void finish_init_cuda();
  void norm_cuda(const float* grads, void* stream);  // into norm_and_factor_
  void copy_norm_cuda(float* norm_out, void* stream);
  void step_cuda(float* params, const float* grads, const UpdateScalars& s, void* stream, bool norm_ready);
  float read_norm_cuda();

  OptimizerSpec spec_;
  int64_t n_;
  Device device_;
  bool is_sgd_;
  kernels::SgdParams sgd_;    // lr filled in per step from the schedule
  kernels::AdamParams adam_;
  Tensor state1_, state2_;  // momentum buffer, or exp_avg and exp_avg_sq
  Tensor norm_and_factor_;  // CUDA: [2] on the device, the norm and the clip factor
  void* last_stream_ = nullptr;
  float last_lr_;
  float last_norm_;  // host value; on CUDA filled by last_grad_norm()
  bool norm_pending_ = false;  // CUDA: the last norm is still on the device
};

}  // namespace detnn::optim
