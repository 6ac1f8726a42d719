#include <algorithm>

#include "kernels/canonical_sum.h"
#include "kernels/vendor/bias_cudnn.h"
#include "kernels/vendor/chunked_calls.h"
#include "runtime/cuda_check.h"

namespace detnn::kernels {

namespace {

int pointer_alignment(const void* p) {
  return alignment_of_offset(static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 16));
}

// dst = src (`count` floats, device to device, on the call's stream).
void copy_floats(float* dst, const float* src, int64_t count, const VendorCallContext& ctx) {
  DETNN_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(count) * sizeof(float), cudaMemcpyDeviceToDevice,
                                   ctx.cuda_stream()));
}

Tensor& scratch(Tensor& t, int64_t floats, const VendorCallContext& ctx) {
  if (!t.defined()) t = Tensor::empty(Shape{floats}, DType::f32, ctx.device, ctx.stream);
  return t;
}

// A forward of ctx.samples samples (`in` / `out` floats each) in vendor calls of `call` samples:
// run_call(x, y) runs one full call. fast runs a shorter tail (an evaluation whose size is not a
// multiple of the chunk size) through a zero-padded call-sized buffer, so that every sample goes
// through the same pinned plan whatever the evaluation batch size; off runs it as its own shape
// (run_tail(m, x, y)).
template <typename RunCall, typename RunTail>
void forward_in_calls(const VendorCallContext& ctx, int64_t call, const float* x, int64_t in, float* y, int64_t out,
                      RunCall&& run_call, RunTail&& run_tail) {
  for (int64_t first = 0; first < ctx.samples; first += call) {
    const int64_t m = std::min(call, ctx.samples - first);
    if (m == call) {
      run_call(x + first * in, y + first * out);
    } else if (ctx.mode.determinism == Determinism::fast) {
      Tensor xs = Tensor::zeros(Shape{call * in}, DType::f32, ctx.device, ctx.stream);
      Tensor ys = Tensor::empty(Shape{call * out}, DType::f32, ctx.device, ctx.stream);
      copy_floats(xs.data<float>(), x + first * in, m * in, ctx);
      run_call(xs.data<float>(), ys.data<float>());
      copy_floats(y + first * out, ys.data<float>(), m * out, ctx);
    } else {
      run_tail(m, x + first * in, y + first * out);
    }
  }
}

}  // namespace

int64_t vendor_call_size(const VendorCallContext& ctx) {
  DETNN_CHECK(ctx.mode.vendor() && ctx.device.is_cuda(), internal, "a vendor call outside fast/off on CUDA");
  int64_t call = ctx.samples;
  if (ctx.mode.determinism == Determinism::fast) {
    DETNN_CHECK(ctx.vendor_call >= 1, internal, "fast mode without a vendor call size");
    call = ctx.vendor_call;  // shorter evaluation tails are padded to it (forward_in_calls)
  }
  // Training: one plan call per reduction chunk (off: the session gives a rank one chunk).
  if (ctx.training)
    DETNN_CHECK(call == ctx.chunk_size && ctx.samples % ctx.chunk_size == 0, internal, "vendor calls of ", call,
                " samples for reduction chunks of ", ctx.chunk_size, " (", ctx.samples, " samples, mode ",
                determinism_name(ctx.mode.determinism), ")");
  return call;
}

// ---- conv2d ----

CudnnConv2d& Conv2dVendor::plan(const VendorCallContext& ctx, int64_t samples) {
  std::unique_ptr<CudnnConv2d>& p = plans_[samples];
  if (!p) {
    Conv2dParams q = p_;
    q.batch = samples;
    p = std::make_unique<CudnnConv2d>(q, ctx.mode, layer_, ctx.cuda_stream());
  }
  return *p;
}

void Conv2dVendor::forward(const VendorCallContext& ctx, const float* x, const float* w, const float* bias, float* y) {
  const int64_t call = vendor_call_size(ctx);
  const int64_t in = p_.in_channels * p_.in_h * p_.in_w, out = p_.out_channels * p_.out_h() * p_.out_w();
  if (ctx.samples == 0) return;
  CudnnConv2d& full = plan(ctx, call);  // looked up once per layer call
  forward_in_calls(
      ctx, call, x, in, y, out, [&](const float* xc, float* yc) { full.forward(xc, w, bias, yc, ctx.cuda_stream()); },
      [&](int64_t m, const float* xc, float* yc) { plan(ctx, m).forward(xc, w, bias, yc, ctx.cuda_stream()); });
}

void Conv2dVendor::backward(const VendorCallContext& ctx, const float* x, const float* dy, const float* w,
                            float* dw_partials, float* db_partials, float* dx) {
  const int64_t call = vendor_call_size(ctx);
  const int64_t in = p_.in_channels * p_.in_h * p_.in_w, hw = p_.out_h() * p_.out_w();
  const int64_t out = p_.out_channels * hw, weights = p_.weight_size();
  const bool fast = ctx.mode.determinism == Determinism::fast;
  // Training: every call is one whole chunk (vendor_call_size checked it).
  CudnnConv2d& pl = plan(ctx, call);
  float* dw = scratch(dw_scratch_, weights, ctx).data<float>();
  for (int64_t k = 0; k < ctx.chunks(); ++k) {
    const float* x_k = x + k * call * in;
    const float* dy_k = dy + k * call * out;
    pl.backward_filter(x_k, dy_k, dw, ctx.cuda_stream());
    copy_floats(dw_partials + k * weights, dw, weights, ctx);
    if (db_partials == nullptr) continue;
    if (fast)
      canonical_sum_cuda(dy_k, db_partials + k * p_.out_channels,
                              SumLayout::channels(call, p_.out_channels, hw), ctx.cuda_stream());
    else
      pl.backward_bias(dy_k, db_partials + k * p_.out_channels, ctx.cuda_stream());
  }
  if (dx == nullptr) return;
  for (int64_t first = 0; first < ctx.samples; first += call)
    pl.backward_data(dy + first * out, w, dx + first * in, ctx.cuda_stream());
}

void Conv2dVendor::collect_choices(std::vector<KernelChoice>& out) const {
  for (const auto& [samples, p] : plans_) p->collect_choices(layer_, out);
}

// ---- linear ----

// cuBLASLt's bias epilogue wants a 16-byte-aligned bias (fails with less on some GPUs); a bias
// elsewhere in the parameter buffer is added after the product (kernels/vendor/bias_cudnn.h).
// The same place on every rank and run, so the same choice.
bool LinearVendor::bias_in_epilogue(const float* bias) { return bias != nullptr && pointer_alignment(bias) == 16; }

GemmShape LinearVendor::forward_shape(int64_t rows, const float* w, const float* bias) const {
  // y [rows, out] = x [rows, in] W^T (+ bias): calls start at multiples of `rows` rows.
  const int align = std::min({alignment_of_offset(rows * in_ * 4),
                              alignment_of_offset(rows * out_ * 4), pointer_alignment(w)});
  return {Trans::N, Trans::T, rows, out_, in_, bias_in_epilogue(bias), std::max(align, 4)};
}

GemmShape LinearVendor::backward_data_shape(int64_t rows, const float* w) const {
  // dx [rows, in] = dy [rows, out] W.
  const int align = std::min({alignment_of_offset(rows * in_ * 4),
                              alignment_of_offset(rows * out_ * 4), pointer_alignment(w)});
  return {Trans::N, Trans::N, rows, in_, out_, false, std::max(align, 4)};
}

GemmShape LinearVendor::backward_filter_shape(int64_t rows) const {
  // dW_k [out, in] = dy_k^T x_k over the chunk's `rows` samples, into the scratch.
  const int align =
      std::min(alignment_of_offset(rows * in_ * 4), alignment_of_offset(rows * out_ * 4));
  return {Trans::T, Trans::N, out_, in_, rows, false, std::max(align, 4)};
}

CublasLtGemm& LinearVendor::plan(const VendorCallContext& ctx, const std::string& op,
                                          const GemmShape& s) {
  Plan& p = plans_[op + " " + gemm_shape_text(s)];
  if (!p.gemm) {
    p.op = op;
    p.gemm = std::make_unique<CublasLtGemm>(s, ctx.mode, layer_ + " " + op, ctx.cuda_stream());
  }
  return *p.gemm;
}

void LinearVendor::prepare(const VendorCallContext& ctx, const float* w, const float* bias) {
  const int64_t call = vendor_call_size(ctx);
  plan(ctx, "linear forward", forward_shape(call, w, bias));
  plan(ctx, "linear backward-data", backward_data_shape(call, w));
  plan(ctx, "linear backward-filter", backward_filter_shape(call));
}

void LinearVendor::forward(const VendorCallContext& ctx, const float* x, const float* w, const float* bias, float* y) {
  const int64_t call = vendor_call_size(ctx);
  if (ctx.samples == 0) return;
  // The plan is looked up once per layer call, not once per chunk.
  CublasLtGemm& full = plan(ctx, "linear forward", forward_shape(call, w, bias));
  const float* epilogue = bias_in_epilogue(bias) ? bias : nullptr;
  forward_in_calls(
      ctx, call, x, in_, y, out_,
      [&](const float* xc, float* yc) { full.run(xc, w, yc, epilogue, ctx.cuda_stream()); },
      [&](int64_t m, const float* xc, float* yc) {
        plan(ctx, "linear forward", forward_shape(m, w, bias)).run(xc, w, yc, epilogue, ctx.cuda_stream());
      });
  if (bias != nullptr && epilogue == nullptr) add_row_bias_cudnn(y, bias, ctx.samples, out_, ctx.cuda_stream());
}

void LinearVendor::backward(const VendorCallContext& ctx, const float* x, const float* dy, const float* w,
                            float* dw_partials, float* dx) {
  const int64_t call = vendor_call_size(ctx);
  CublasLtGemm& filter = plan(ctx, "linear backward-filter", backward_filter_shape(call));
  float* dw = scratch(dw_scratch_, out_ * in_, ctx).data<float>();
  for (int64_t k = 0; k < ctx.chunks(); ++k) {
    filter.run(dy + k * call * out_, x + k * call * in_, dw, nullptr, ctx.cuda_stream());
    copy_floats(dw_partials + k * out_ * in_, dw, out_ * in_, ctx);
  }
  if (dx == nullptr) return;
  // Training: every call is a whole chunk (vendor_call_size checked it).
  CublasLtGemm& data = plan(ctx, "linear backward-data", backward_data_shape(call, w));
  for (int64_t first = 0; first < ctx.samples; first += call)
    data.run(dy + first * out_, w, dx + first * in_, nullptr, ctx.cuda_stream());
}

void LinearVendor::collect_choices(std::vector<KernelChoice>& out) const {
  for (const auto& [key, p] : plans_) p.gemm->collect_choice(layer_, p.op, out);
}

}  // namespace detnn::kernels
