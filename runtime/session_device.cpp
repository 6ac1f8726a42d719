#include "runtime/session_device.h"

#include <cstring>

#include "kernels/reduce.h"
#include "layers/cuda_stream.h"
#include "runtime/device.h"
#ifdef DETNN_HAVE_CUDA
#include "runtime/cuda_check.h"
#include "runtime/scratch.h"
#endif

namespace detnn::session_device {

#ifdef DETNN_HAVE_CUDA
using layers::cuda_stream;
#endif

void select(Device device) {
  if (!device.is_cuda()) return;
  const int count = cuda_device_count();
  DETNN_CHECK(device.index < count, invalid_argument, "device ", device.to_string(), " does not exist: ",
              count == 0 ? std::string("this machine or build has no CUDA device")
                         : std::to_string(count) + " CUDA device(s) visible");
#ifdef DETNN_HAVE_CUDA
  DETNN_CUDA_CHECK(cudaSetDevice(device.index));
#endif
}

Tensor upload(const float* host, const Shape& shape, Device device, uintptr_t stream) {
  Tensor h = Tensor::from_host(shape, DType::f32, host, static_cast<size_t>(shape.numel()) * sizeof(float));
  if (!device.is_cuda()) return h;
  Tensor d = Tensor::empty(shape, DType::f32, device, stream);
  d.copy_from(h);
  return d;
}

Tensor upload_labels(const int32_t* host, int64_t n, Device device, uintptr_t stream) {
  Tensor h = Tensor::from_host(Shape{n}, DType::i32, host, static_cast<size_t>(n) * sizeof(int32_t));
  if (!device.is_cuda()) return h;
  Tensor d = Tensor::empty(Shape{n}, DType::i32, device, stream);
  d.copy_from(h);
  return d;
}

std::vector<float> download(const Tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  if (out.empty()) return out;
  if (t.device().is_cuda()) {
    const Tensor h = t.to(Device::cpu());
    std::memcpy(out.data(), h.data<float>(), out.size() * sizeof(float));
  } else {
    std::memcpy(out.data(), t.data<float>(), out.size() * sizeof(float));
  }
  return out;
}

namespace {
Tensor losses_of(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                 const layers::ExecContext& ctx) {
  Tensor losses = layers::new_tensor(ctx, Shape{p.samples});
  DETNN_DISPATCH(ctx,
                 kernels::cross_entropy_forward_cpu(logits.data<float>(), labels.data<int32_t>(),
                                                    losses.data<float>(), p),
                 kernels::cross_entropy_forward_cuda(logits.data<float>(), labels.data<int32_t>(),
                                                     losses.data<float>(), p, cuda_stream(ctx)));
  return losses;
}
}  // namespace

std::vector<float> sample_losses(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                                 const layers::ExecContext& ctx) {
  return download(losses_of(logits, labels, p, ctx));
}

std::vector<float> chunk_loss_sums(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                                   int64_t chunks, int64_t chunk_size, const layers::ExecContext& ctx) {
  const Tensor losses = losses_of(logits, labels, p, ctx);
  Tensor sums = layers::new_tensor(ctx, Shape{chunks});
  const kernels::SumLayout layout = kernels::SumLayout::rows(chunks, chunk_size);
  DETNN_DISPATCH(ctx, kernels::canonical_sum_cpu(losses.data<float>(), sums.data<float>(), layout),
                 {
                   CudaScratch ws(kernels::canonical_sum_cuda_workspace_bytes(layout), cuda_stream(ctx));
                   kernels::canonical_sum_cuda(losses.data<float>(), sums.data<float>(), layout, ws.get(),
                                               cuda_stream(ctx));
                 });
  return download(sums);
}

Tensor cross_entropy_grad(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                          const layers::ExecContext& ctx) {
  Tensor d = layers::new_tensor(ctx, logits.shape());
  DETNN_DISPATCH(ctx,
                 kernels::cross_entropy_backward_cpu(logits.data<float>(), labels.data<int32_t>(), d.data<float>(), p),
                 kernels::cross_entropy_backward_cuda(logits.data<float>(), labels.data<int32_t>(),
                                                      d.data<float>(), p, cuda_stream(ctx)));
  return d;
}

void combine(const float* partials, int64_t chunks, int64_t size, float* out, const layers::ExecContext& ctx) {
  DETNN_DISPATCH(ctx, kernels::combine_chunk_partials_cpu(partials, chunks, size, out),
                 kernels::combine_chunk_partials_cuda(partials, chunks, size, out, cuda_stream(ctx)));
}

}  // namespace detnn::session_device
