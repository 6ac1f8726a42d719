// Strict CUDA activations and residual helpers: the per-element functions of
// kernels/activation.h through the shared elementwise launcher (16-byte vector loads where
// the operands allow, scalar head and tail), so the bits equal the CPU's for every launch.
#include "kernels/activation.h"
#include "kernels/cuda/elementwise.cuh"
#include "runtime/error.h"

namespace detnn::kernels {

namespace {

template <Activation A>
struct ForwardOp {
  __device__ void operator()(const float (&x)[1], float (&y)[1], float) const {
    if constexpr (A == Activation::relu) y[0] = act::relu(x[0]);
    else if constexpr (A == Activation::gelu_erf) y[0] = act::gelu_erf(x[0]);
    else y[0] = act::gelu_tanh(x[0]);
  }
};

template <Activation A>
struct BackwardOp {  // in: x, dy
  __device__ void operator()(const float (&in)[2], float (&dx)[1], float) const {
    if constexpr (A == Activation::relu) dx[0] = act::relu_backward(in[0], in[1]);
    else if constexpr (A == Activation::gelu_erf) dx[0] = act::gelu_erf_backward(in[0], in[1]);
    else dx[0] = act::gelu_tanh_backward(in[0], in[1]);
  }
};

struct AddOp {
  __device__ void operator()(const float (&in)[2], float (&y)[1], float) const { y[0] = in[0] + in[1]; }
};

struct ScaleOp {
  float alpha;
  __device__ void operator()(const float (&in)[1], float (&y)[1], float) const { y[0] = alpha * in[0]; }
};

}  // namespace

void activation_forward_cuda(Activation a, const float* x, float* y, int64_t n, cudaStream_t stream,
                             const ReduceLaunch& launch) {
  const elementwise::Operands<1, 1> o{{x}, {y}};
  const char* name = activation_name(a);
  switch (a) {
    case Activation::relu: return elementwise::launch(name, o, n, ForwardOp<Activation::relu>{}, nullptr, stream, launch);
    case Activation::gelu_erf: return elementwise::launch(name, o, n, ForwardOp<Activation::gelu_erf>{}, nullptr, stream, launch);
    case Activation::gelu_tanh: return elementwise::launch(name, o, n, ForwardOp<Activation::gelu_tanh>{}, nullptr, stream, launch);
  }
  DETNN_THROW(invalid_argument, "activation_forward: unknown activation ", static_cast<int>(a));
}

void activation_backward_cuda(Activation a, const float* x, const float* dy, float* dx, int64_t n,
                              cudaStream_t stream, const ReduceLaunch& launch) {
  const elementwise::Operands<2, 1> o{{x, dy}, {dx}};
  const char* name = activation_name(a);
  switch (a) {
    case Activation::relu: return elementwise::launch(name, o, n, BackwardOp<Activation::relu>{}, nullptr, stream, launch);
    case Activation::gelu_erf: return elementwise::launch(name, o, n, BackwardOp<Activation::gelu_erf>{}, nullptr, stream, launch);
    case Activation::gelu_tanh: return elementwise::launch(name, o, n, BackwardOp<Activation::gelu_tanh>{}, nullptr, stream, launch);
  }
  DETNN_THROW(invalid_argument, "activation_backward: unknown activation ", static_cast<int>(a));
}

void add_cuda(const float* a, const float* b, float* y, int64_t n, cudaStream_t stream, const ReduceLaunch& launch) {
  elementwise::launch("add", elementwise::Operands<2, 1>{{a, b}, {y}}, n, AddOp{}, nullptr, stream, launch);
}

void scale_cuda(const float* x, float alpha, float* y, int64_t n, cudaStream_t stream, const ReduceLaunch& launch) {
  elementwise::launch("scale", elementwise::Operands<1, 1>{{x}, {y}}, n, ScaleOp{alpha}, nullptr, stream, launch);
}

}  // namespace detnn::kernels
