// How the conv2d and linear layers compute (DESIGN §1, Caffe's layer factory): each such layer
// gets one engine object when the model is built for a device and a determinism mode, and calls
// it from then on; nothing in layers/ decides strict vs vendor per call.
//  - cpu:         the CPU reference kernels (kernels/cpu/);
//  - strict_cuda: detnn's own CUDA kernels (kernels/cuda/), the same bits as the CPU;
//  - vendor:      cuDNN / cuBLASLt through the chunked plans of kernels/vendor/ (fast and off).
// Every engine writes one weight (and bias) gradient partial per reduction chunk; the session
// combines them pairwise whatever the engine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/vendor/algorithm_choice.h"
#include "layers/layer.h"

namespace detnn::layers {

enum class Engine : unsigned char { cpu, strict_cuda, vendor };

// The engine of a model built for `device` in `mode`: the CPU runs strict only (the session
// refuses fast and off there before building anything).
Engine engine_for(Device device, ComputeMode mode);
const char* engine_name(Engine engine);

class Conv2dEngine {
 public:
  virtual ~Conv2dEngine() = default;
  // p.batch is the call's samples. y = conv(x, w) (+ b when b is not null).
  virtual void forward(const ExecContext& ctx, const kernels::Conv2dParams& p, const float* x, const float* w,
                       const float* b, float* y) = 0;
  // dw_partials [chunks, weight], db_partials [chunks, Co] (null: no bias), dx (null: not needed).
  virtual void backward(const ExecContext& ctx, const kernels::Conv2dParams& p, const float* x, const float* dy,
                        const float* w, float* dw_partials, float* db_partials, float* dx) = 0;
  // Vendor engines pin their algorithms for the training calls of ctx now.
  virtual void prepare(const ExecContext& ctx) { (void)ctx; }
  virtual void collect_choices(std::vector<KernelChoice>& out) const { (void)out; }
};

class LinearEngine {
 public:
  virtual ~LinearEngine() = default;
  // y [n, out] = x [n, in] W^T (+ b when b is not null).
  virtual void forward(const ExecContext& ctx, const float* x, const float* w, const float* b, float* y) = 0;
  // dw_partials [chunks, out*in], db_partials [chunks, out] (null: no bias), dx (null: not needed).
  virtual void backward(const ExecContext& ctx, const float* x, const float* dy, const float* w, float* dw_partials,
                        float* db_partials, float* dx) = 0;
  virtual void prepare(const ExecContext& ctx, const float* w, const float* b) { (void)ctx, (void)w, (void)b; }
  virtual void collect_choices(std::vector<KernelChoice>& out) const { (void)out; }
};

// `layer` names the layer in vendor errors and recorded choices; `p` with any batch.
std::unique_ptr<Conv2dEngine> make_conv2d_engine(Engine engine, const std::string& layer,
                                                 const kernels::Conv2dParams& p);
std::unique_ptr<LinearEngine> make_linear_engine(Engine engine, const std::string& layer, int64_t in, int64_t out,
                                                 bool bias);

// The CUDA engines (layers/engines_cuda.cpp; CUDA builds only).
std::unique_ptr<Conv2dEngine> make_conv2d_cuda_engine(Engine engine, const std::string& layer,
                                                      const kernels::Conv2dParams& p);
std::unique_ptr<LinearEngine> make_linear_cuda_engine(Engine engine, const std::string& layer, int64_t in,
                                                      int64_t out, bool bias);

}  // namespace detnn::layers
