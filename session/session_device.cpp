#include "session/session_device.h"

#include <cstring>

#include "kernels/canonical_sum.h"
#include "kernels/count_correct.h"
#include "kernels/weights_digest.h"
#include "layers/device_dispatch.h"
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

uint64_t weights_digest(const Tensor& t, uintptr_t stream) {
  if (!t.device().is_cuda()) return kernels::weights_digest_cpu(t.data<float>(), t.numel());
#ifdef DETNN_HAVE_CUDA
  const auto s = reinterpret_cast<cudaStream_t>(stream);
  CudaScratch scratch(sizeof(uint64_t), s);
  kernels::weights_digest_cuda(t.data<float>(), t.numel(), scratch.as<uint64_t>(), s);
  uint64_t digest = 0;
  DETNN_CUDA_CHECK(cudaMemcpyAsync(&digest, scratch.get(), sizeof digest, cudaMemcpyDeviceToHost, s));
  DETNN_CUDA_CHECK(cudaStreamSynchronize(s));
  return digest;
#else
  DETNN_THROW(unsupported, "weights_digest: a CUDA tensor in a build without CUDA");
#endif
}

void fill_zero(Tensor& t, uintptr_t stream) {
  if (t.nbytes() == 0) return;
  if (t.device().is_cuda()) {
    detail::cuda_fill_zero(t.raw_data(), t.device().index, t.nbytes(), stream);
  } else {
    std::memset(t.raw_data(), 0, t.nbytes());
  }
}

StepStaging::StepStaging(Device device, int64_t image_floats, int64_t labels)
    : device_(device), image_floats_(image_floats), label_count_(labels) {
  sample_floats_ = labels > 0 ? image_floats / labels : 0;
  if (!device.is_cuda()) return;
#ifdef DETNN_HAVE_CUDA
  // Images, labels, then the step (8-aligned: up to 4 bytes of padding before it).
  const size_t bytes = static_cast<size_t>(image_floats) * sizeof(float) + static_cast<size_t>(labels) * sizeof(int32_t) +
                       2 * sizeof(int64_t);
  DETNN_CUDA_CHECK(cudaHostAlloc(&pinned_, bytes, cudaHostAllocDefault));
  auto* base = static_cast<unsigned char*>(pinned_);
  const size_t label_offset = static_cast<size_t>(image_floats) * sizeof(float);
  const size_t end_of_labels = label_offset + static_cast<size_t>(labels) * sizeof(int32_t);
  const size_t step_offset = (end_of_labels + sizeof(int64_t) - 1) / sizeof(int64_t) * sizeof(int64_t);
  pinned_images_ = reinterpret_cast<float*>(base);
  pinned_labels_ = reinterpret_cast<int32_t*>(base + label_offset);
  pinned_step_ = reinterpret_cast<int64_t*>(base + step_offset);
  images_ = pinned_images_;
  labels_ = pinned_labels_;
#endif
}

StepStaging::~StepStaging() {
#ifdef DETNN_HAVE_CUDA
  if (pinned_ != nullptr) cudaFreeHost(pinned_);  // waits for the device: no copy still reads it
#endif
}

void StepStaging::fill(const float* images, const int32_t* labels, int64_t step) {
  if (!device_.is_cuda()) {
    images_ = images;
    labels_ = labels;
    return;
  }
  std::memcpy(pinned_images_, images, static_cast<size_t>(image_floats_) * sizeof(float));
  std::memcpy(pinned_labels_, labels, static_cast<size_t>(label_count_) * sizeof(int32_t));
  *pinned_step_ = step;
}

void StepStaging::upload_step(Tensor& counter, uintptr_t stream) const {
#ifdef DETNN_HAVE_CUDA
  DETNN_CUDA_CHECK(cudaMemcpyAsync(counter.raw_data(), pinned_step_, sizeof(int64_t), cudaMemcpyHostToDevice,
                                   reinterpret_cast<cudaStream_t>(stream)));
#else
  (void)counter, (void)stream;
#endif
}

namespace {
// An asynchronous upload of `bytes` from pinned `host` into a new tensor (CUDA), or a copy.
Tensor upload_staged(const void* host, const Shape& shape, DType dtype, Device device, uintptr_t stream) {
  const size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  if (!device.is_cuda()) return Tensor::from_host(shape, dtype, host, bytes);
  Tensor d = Tensor::empty(shape, dtype, device, stream);
#ifdef DETNN_HAVE_CUDA
  if (bytes > 0)
    DETNN_CUDA_CHECK(cudaMemcpyAsync(d.raw_data(), host, bytes, cudaMemcpyHostToDevice,
                                     reinterpret_cast<cudaStream_t>(stream)));
#endif
  return d;
}
}  // namespace

Tensor StepStaging::images_on_device(int64_t first, const Shape& shape, uintptr_t stream) const {
  return upload_staged(images_ + first * sample_floats_, shape, DType::f32, device_, stream);
}

Tensor StepStaging::labels_on_device(int64_t first, int64_t n, uintptr_t stream) const {
  return upload_staged(labels_ + first, Shape{n}, DType::i32, device_, stream);
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

void chunk_loss_sums(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p, int64_t chunks,
                     int64_t chunk_size, float* out, const layers::ExecContext& ctx) {
  const Tensor losses = losses_of(logits, labels, p, ctx);
  const kernels::SumLayout layout = kernels::SumLayout::rows(chunks, chunk_size);
  DETNN_DISPATCH(ctx, kernels::canonical_sum_cpu(losses.data<float>(), out, layout),
                 {
                   CudaScratch ws(kernels::canonical_sum_cuda_workspace_bytes(layout), cuda_stream(ctx));
                   kernels::canonical_sum_cuda(losses.data<float>(), out, layout, ws.get(), cuda_stream(ctx));
                 });
}

void count_correct(const Tensor& logits, const Tensor& labels, int64_t classes, int64_t* count,
                   const layers::ExecContext& ctx) {
  const int64_t n = logits.numel() / classes;
  DETNN_DISPATCH(ctx, kernels::count_correct_cpu(logits.data<float>(), labels.data<int32_t>(), n, classes, count),
                 kernels::count_correct_cuda(logits.data<float>(), labels.data<int32_t>(), n, classes, count,
                                             cuda_stream(ctx)));
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
