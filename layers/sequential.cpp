#include "layers/sequential.h"

#include <cmath>

#include "runtime/step_profiler.h"

namespace detnn::layers {

namespace {
// "layers.3 conv2d forward": a profiled part (only when a profiler is set: no string otherwise).
std::string part_name(const ExecContext& ctx, const Layer& layer, const char* phase) {
  return ctx.profiler != nullptr ? layer.name() + " " + layer.type() + " " + phase : std::string();
}
}  // namespace

Sequential::Sequential(std::string name, FeatureShape input, std::vector<std::unique_ptr<Layer>> layers)
    : Layer("sequential", std::move(name), input), layers_(std::move(layers)) {
  if (!layers_.empty()) output_ = layers_.back()->output_shape();
}

void Sequential::collect_params(std::vector<ParamSlot*>& out) {
  for (auto& l : layers_) l->collect_params(out);
}

void Sequential::collect_buffers(std::vector<BufferSlot*>& out) {
  for (auto& l : layers_) l->collect_buffers(out);
}

Tensor Sequential::forward(const ExecContext& ctx, const Tensor& x) {
  Tensor h = x;
  for (auto& l : layers_) {
    const ProfiledPart part(ctx.profiler, part_name(ctx, *l, "forward"));
    h = l->forward(ctx, h);
    if (ctx.forward_observer != nullptr) (*ctx.forward_observer)(ctx, *l, h);
  }
  return h;
}

Tensor Sequential::backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) {
  return backward(ctx, dy, need_dx, nullptr);
}

Tensor Sequential::backward(const ExecContext& ctx, const Tensor& dy, bool need_dx,
                            const std::function<void(size_t layer)>& after_layer) {
  Tensor g = dy;
  for (size_t i = layers_.size(); i-- > 0;) {
    {
      const ProfiledPart part(ctx.profiler, part_name(ctx, *layers_[i], "backward"));
      g = layers_[i]->backward(ctx, g, need_dx || i > 0);
    }
    if (after_layer) after_layer(i);
  }
  return g;
}

void Sequential::begin_step(const ExecContext& ctx, int64_t local_chunks) {
  for (auto& l : layers_) l->begin_step(ctx, local_chunks);
}

void Sequential::finish_step(const ExecContext& ctx, int64_t total_chunks) {
  for (auto& l : layers_) l->finish_step(ctx, total_chunks);
}

void Sequential::prepare(const ExecContext& ctx) {
  for (auto& l : layers_) l->prepare(ctx);
}

void Sequential::collect_kernel_choices(std::vector<KernelChoice>& out) const {
  for (const auto& l : layers_) l->collect_kernel_choices(out);
}

void Sequential::release() {
  for (auto& l : layers_) l->release();
}

bool all_finite(const Tensor& t) {
  const Tensor host = t.device().is_cuda() ? t.to(Device::cpu()) : t;
  const float* p = host.data<float>();
  for (int64_t i = 0; i < host.numel(); ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

std::string Sequential::first_non_finite_layer(const ExecContext& ctx, const Tensor& x) {
  Tensor h = x;
  for (auto& l : layers_) {
    if (auto* seq = dynamic_cast<Sequential*>(l.get())) {
      const std::string inner = seq->first_non_finite_layer(ctx, h);
      if (!inner.empty()) return inner;
    }
    h = l->forward(ctx, h);
    if (!all_finite(h)) return l->name() + " (" + l->type() + ")";
  }
  return "";
}

}  // namespace detnn::layers
