// The CUDA engines of conv2d and linear (layers/engines.h): detnn's strict kernels, and the
// vendor plans of fast and off (kernels/vendor/chunked_calls.h).
#include "kernels/canonical_sum.h"
#include "kernels/gemm.h"
#include "kernels/vendor/chunked_calls.h"
#include "layers/device_dispatch.h"
#include "layers/engines.h"
#include "runtime/error.h"

namespace detnn::layers {

namespace {

using kernels::Trans;

kernels::VendorCallContext vendor_context(const ExecContext& ctx) {
  return {ctx.device, ctx.stream, ctx.mode, ctx.training, ctx.samples, ctx.chunk_size, ctx.vendor_call};
}

// db_partials[k] = the canonical sum of chunk k's dy [c, out] over its samples, for every chunk.
void linear_bias_partials(const ExecContext& ctx, int64_t out, const float* dy, float* db_partials) {
  const int64_t c = ctx.chunk_size;
  const kernels::SumLayout layout{out, c, 1, out, 1};
  for (int64_t k = 0; k < ctx.chunks(); ++k)
    kernels::canonical_sum_cuda(dy + k * c * out, db_partials + k * out, layout, cuda_stream(ctx));
}

class StrictCudaConv2d : public Conv2dEngine {
 public:
  void forward(const ExecContext& ctx, const kernels::Conv2dParams& p, const float* x, const float* w, const float* b,
               float* y) override {
    kernels::conv2d_forward_cuda(p, x, w, b, y, cuda_stream(ctx));
  }
  void backward(const ExecContext& ctx, const kernels::Conv2dParams& p, const float* x, const float* dy,
                const float* w, float* dw_partials, float* db_partials, float* dx) override {
    kernels::conv2d_backward_filter_partials_cuda(p, ctx.chunk_size, x, dy, dw_partials, db_partials,
                                                  cuda_stream(ctx));
    if (dx != nullptr) kernels::conv2d_backward_data_cuda(p, dy, w, dx, cuda_stream(ctx));
  }
};

class VendorConv2d : public Conv2dEngine {
 public:
  VendorConv2d(const std::string& layer, const kernels::Conv2dParams& p) : plans_(layer, p) {}
  void forward(const ExecContext& ctx, const kernels::Conv2dParams&, const float* x, const float* w, const float* b,
               float* y) override {
    plans_.forward(vendor_context(ctx), x, w, b, y);
  }
  void backward(const ExecContext& ctx, const kernels::Conv2dParams&, const float* x, const float* dy, const float* w,
                float* dw_partials, float* db_partials, float* dx) override {
    plans_.backward(vendor_context(ctx), x, dy, w, dw_partials, db_partials, dx);
  }
  void prepare(const ExecContext& ctx) override { plans_.prepare(vendor_context(ctx)); }
  void collect_choices(std::vector<KernelChoice>& out) const override { plans_.collect_choices(out); }

 private:
  kernels::Conv2dVendor plans_;
};

class StrictCudaLinear : public LinearEngine {
 public:
  StrictCudaLinear(int64_t in, int64_t out) : in_(in), out_(out) {}
  void forward(const ExecContext& ctx, const float* x, const float* w, const float* b, float* y) override {
    kernels::gemm_cuda(Trans::N, Trans::T, ctx.samples, out_, in_, x, in_, w, in_, y, out_, b, cuda_stream(ctx));
  }
  void backward(const ExecContext& ctx, const float* x, const float* dy, const float* w, float* dw_partials,
                float* db_partials, float* dx) override {
    const int64_t c = ctx.chunk_size;
    kernels::gemm_batched_cuda(Trans::T, Trans::N, out_, in_, c, dy, out_, c * out_, x, in_, c * in_, dw_partials,
                               in_, out_ * in_, ctx.chunks(), nullptr, cuda_stream(ctx));
    if (dx != nullptr)
      kernels::gemm_cuda(Trans::N, Trans::N, ctx.samples, in_, out_, dy, out_, w, in_, dx, in_, nullptr,
                         cuda_stream(ctx));
    if (db_partials != nullptr) linear_bias_partials(ctx, out_, dy, db_partials);
  }

 private:
  int64_t in_, out_;
};

class VendorLinear : public LinearEngine {
 public:
  VendorLinear(const std::string& layer, int64_t in, int64_t out, bool bias) : out_(out), plans_(layer, in, out, bias) {}
  void forward(const ExecContext& ctx, const float* x, const float* w, const float* b, float* y) override {
    plans_.forward(vendor_context(ctx), x, w, b, y);
  }
  // The bias partials are detnn's canonical sums in every mode, as in strict.
  void backward(const ExecContext& ctx, const float* x, const float* dy, const float* w, float* dw_partials,
                float* db_partials, float* dx) override {
    plans_.backward(vendor_context(ctx), x, dy, w, dw_partials, dx);
    if (db_partials != nullptr) linear_bias_partials(ctx, out_, dy, db_partials);
  }
  void prepare(const ExecContext& ctx, const float* w, const float* b) override {
    plans_.prepare(vendor_context(ctx), w, b);
  }
  void collect_choices(std::vector<KernelChoice>& out) const override { plans_.collect_choices(out); }

 private:
  int64_t out_;
  kernels::LinearVendor plans_;
};

}  // namespace

std::unique_ptr<Conv2dEngine> make_conv2d_cuda_engine(Engine engine, const std::string& layer,
                                                      const kernels::Conv2dParams& p) {
  if (engine == Engine::vendor) return std::make_unique<VendorConv2d>(layer, p);
  return std::make_unique<StrictCudaConv2d>();
}

std::unique_ptr<LinearEngine> make_linear_cuda_engine(Engine engine, const std::string& layer, int64_t in,
                                                      int64_t out, bool bias) {
  if (engine == Engine::vendor) return std::make_unique<VendorLinear>(layer, in, out, bias);
  return std::make_unique<StrictCudaLinear>(in, out);
}

}  // namespace detnn::layers
