// The fast and off paths of the conv2d and linear layers (DESIGN §1): cuDNN / cuBLASLt plans
// (kernels/vendor/) kept per call size, and the loops that run a layer's call through them.
//  - fast: every plan call covers ctx.vendor_call samples (the training chunk size), one weight
//    gradient partial per reduction chunk, bias partials by detnn's canonical sums: the session
//    combines the chunk partials pairwise as in strict. A sample's outputs and a chunk's
//    gradient never depend on the rest of the batch or on the rank count.
//  - off: one plan call for the whole call (the session gives an off rank one chunk: its whole
//    batch), cuDNN's own bias gradient.
// CUDA builds only; the vendor engines of the conv2d and linear layers (layers/engines_cuda.cpp)
// drive them.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/vendor/conv2d_cudnn.h"
#include "kernels/vendor/gemm_cublaslt.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

namespace detnn::kernels {

// What one layer call tells its vendor plans: the part of the layer's ExecContext they read.
struct VendorCallContext {
  Device device;
  uintptr_t stream = 0;       // a cudaStream_t
  ComputeMode mode{};         // fast or off
  bool training = false;
  int64_t samples = 0;        // samples in this call
  int64_t chunk_size = 1;     // samples per reduction chunk
  int64_t vendor_call = 0;    // fast: samples per vendor call (the chunk size); off: 0
  cudaStream_t cuda_stream() const { return reinterpret_cast<cudaStream_t>(stream); }
  int64_t chunks() const { return samples / chunk_size; }
};

// Samples per vendor call for a call of ctx.samples (throws Error(internal) on a bad context).
int64_t vendor_call_size(const VendorCallContext& ctx);

class Conv2dVendor {
 public:
  Conv2dVendor(std::string layer, const Conv2dParams& p) : layer_(std::move(layer)), p_(p) {}

  void forward(const VendorCallContext& ctx, const float* x, const float* w, const float* bias, float* y);
  // dw_partials [chunks, weight], db_partials [chunks, Co] (nullptr: no bias), dx (nullptr: not
  // needed), as the strict kernels write them.
  void backward(const VendorCallContext& ctx, const float* x, const float* dy, const float* w, float* dw_partials,
                float* db_partials, float* dx);
  void prepare(const VendorCallContext& ctx) { plan(ctx, vendor_call_size(ctx)); }
  void collect_choices(std::vector<KernelChoice>& out) const;

 private:
  CudnnConv2d& plan(const VendorCallContext& ctx, int64_t samples);
  std::string layer_;
  Conv2dParams p_;
  std::map<int64_t, std::unique_ptr<CudnnConv2d>> plans_;  // by samples per call
  // The weight gradient of one chunk lands here first, then is copied to its partial: a
  // partial's address depends on the number of chunks per pass (so on the rank count), and the
  // vendor call must not see a different alignment with a different rank count.
  Tensor dw_scratch_;
};

class LinearVendor {
 public:
  LinearVendor(std::string layer, int64_t in, int64_t out, bool bias)
      : layer_(std::move(layer)), in_(in), out_(out), bias_(bias) {}

  void forward(const VendorCallContext& ctx, const float* x, const float* w, const float* bias, float* y);
  // dw_partials [chunks, out*in]; dx (nullptr: not needed). The bias partials stay with the
  // layer (canonical sums, as in strict).
  void backward(const VendorCallContext& ctx, const float* x, const float* dy, const float* w, float* dw_partials,
                float* dx);
  // The plans of a training call (w, bias: the layer's parameters).
  void prepare(const VendorCallContext& ctx, const float* w, const float* bias);
  void collect_choices(std::vector<KernelChoice>& out) const;

 private:
  struct Plan {
    std::string op;
    std::unique_ptr<CublasLtGemm> gemm;
  };
  CublasLtGemm& plan(const VendorCallContext& ctx, const std::string& op, const GemmShape& shape);
  // Each shape's alignment: what the call offsets (multiples of `rows` samples) and the weight
  // and bias addresses (fixed places in the parameter buffer, the same on every rank and run)
  // keep.
  GemmShape forward_shape(int64_t rows, const float* w, const float* bias) const;
  // Whether the bias can be cuBLASLt's epilogue (16-byte aligned) or is added after the product.
  static bool bias_in_epilogue(const float* bias);
  GemmShape backward_data_shape(int64_t rows, const float* w) const;
  GemmShape backward_filter_shape(int64_t rows) const;
  std::string layer_;
  int64_t in_, out_;
  bool bias_;
  std::map<std::string, Plan> plans_;  // by op and shape
  Tensor dw_scratch_;                  // as in Conv2dVendor
};

}  // namespace detnn::kernels
#endif
