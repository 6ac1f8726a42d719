// Elementwise activations on whole tensors, by device (also used by the residual block).
#pragma once

#include "kernels/activation.h"
#include "layers/layer.h"

namespace detnn::layers {

// y = f(x); y may be x.
void activation_forward(const ExecContext& ctx, kernels::Activation a, const Tensor& x, Tensor& y);
// dx = dy * f'(x).
void activation_backward(const ExecContext& ctx, kernels::Activation a, const Tensor& x, const Tensor& dy,
                         Tensor& dx);

}  // namespace detnn::layers
