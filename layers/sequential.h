// A chain of layers run in order (the model's trunk and a residual block's body).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "layers/layer.h"

namespace detnn::layers {

class Sequential : public Layer {
 public:
  Sequential(std::string name, FeatureShape input, std::vector<std::unique_ptr<Layer>> layers);

  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

  void collect_params(std::vector<ParamSlot*>& out) override;
  void collect_buffers(std::vector<BufferSlot*>& out) override;
  Tensor forward(const ExecContext& ctx, const Tensor& x) override;
  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override;
  // The same, calling after_layer(i) as soon as layer i's backward has been enqueued (its
  // gradient partials are then final): the session starts a gradient bucket's all-reduce there.
  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx,
                  const std::function<void(size_t layer)>& after_layer);
  void begin_step(const ExecContext& ctx, int64_t local_chunks) override;
  void finish_step(const ExecContext& ctx, int64_t total_chunks) override;
  void release() override;
  void prepare(const ExecContext& ctx) override;
  void collect_kernel_choices(std::vector<KernelChoice>& out) const override;

  // The forward again, checking every layer's output for NaN or infinity: the name of the
  // first layer (depth first) whose output is not finite, or "" when none is.
  std::string first_non_finite_layer(const ExecContext& ctx, const Tensor& x);

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

// True when every element of the f32 tensor is finite (copies to the host when on CUDA).
bool all_finite(const Tensor& t);

}  // namespace detnn::layers
